//! Independent float64 references, written from the definitions (SPEC §1), sharing no code
//! with `muse_core`: a dense complex Gauss–Jordan inverse, the dense gradient formulas, a
//! plain float64 ratio recurrence, and central finite differences.

use super::C64;

/// The dense matrix `A = T − zI` (row-major `n × n`).
pub fn dense_matrix(a: &[f64], b: &[f64], c: &[f64], z: C64) -> Vec<C64> {
    let n = a.len();
    let mut m = vec![C64::new(0.0, 0.0); n * n];
    for i in 0..n {
        m[i * n + i] = C64::new(a[i], 0.0) - z;
        if i + 1 < n {
            m[i * n + i + 1] = C64::new(b[i], 0.0);
            m[(i + 1) * n + i] = C64::new(c[i], 0.0);
        }
    }
    m
}

/// The inverse of a dense complex `n × n` matrix by Gauss–Jordan elimination with partial
/// pivoting (row-major). Panics if the matrix is numerically singular.
pub fn dense_inverse(m: &[C64], n: usize) -> Vec<C64> {
    assert_eq!(m.len(), n * n);
    let w = 2 * n;
    let mut aug = vec![C64::new(0.0, 0.0); n * w];
    for i in 0..n {
        for j in 0..n {
            aug[i * w + j] = m[i * n + j];
        }
        aug[i * w + n + i] = C64::new(1.0, 0.0);
    }
    for col in 0..n {
        let p = (col..n)
            .max_by(|&x, &y| {
                aug[x * w + col]
                    .norm()
                    .partial_cmp(&aug[y * w + col].norm())
                    .unwrap()
            })
            .unwrap();
        assert!(aug[p * w + col].norm() > 0.0, "singular matrix");
        if p != col {
            for j in 0..w {
                aug.swap(p * w + j, col * w + j);
            }
        }
        let inv = C64::new(1.0, 0.0) / aug[col * w + col];
        for j in 0..w {
            aug[col * w + j] *= inv;
        }
        for i in 0..n {
            if i != col {
                let f = aug[i * w + col];
                if f != C64::new(0.0, 0.0) {
                    for j in 0..w {
                        let v = aug[col * w + j];
                        aug[i * w + j] -= f * v;
                    }
                }
            }
        }
    }
    let mut out = vec![C64::new(0.0, 0.0); n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = aug[i * w + n + j];
        }
    }
    out
}

/// `G = (T − zI)⁻¹`, dense.
pub fn dense_resolvent(a: &[f64], b: &[f64], c: &[f64], z: C64) -> Vec<C64> {
    dense_inverse(&dense_matrix(a, b, c, z), a.len())
}

/// `diag (T − zI)⁻¹` by the dense inverse.
pub fn dense_diag(a: &[f64], b: &[f64], c: &[f64], z: C64) -> Vec<C64> {
    let n = a.len();
    let g = dense_resolvent(a, b, c, z);
    (0..n).map(|i| g[i * n + i]).collect()
}

/// The causal feature `y_i = [(T_{0..=i} − zI)⁻¹]_ii`: the last diagonal entry of the dense
/// inverse of every leading block.
pub fn dense_causal(a: &[f64], b: &[f64], c: &[f64], z: C64) -> Vec<C64> {
    (0..a.len())
        .map(|i| {
            let g = dense_resolvent(&a[..=i], &b[..i], &c[..i], z);
            g[i * (i + 1) + i]
        })
        .collect()
}

/// Gradients `(∂L/∂a, ∂L/∂b, ∂L/∂c, z̄)` of `L = Re Σ conj(w_i) g_i`.
pub type Grads = (Vec<f64>, Vec<f64>, Vec<f64>, C64);

/// The dense gradient formula of SPEC §1.5: `M = G·diag(conj w)·G`,
/// `∂L/∂a_j = −Re M_jj`, `∂L/∂b_j = −Re M_{j+1,j}`, `∂L/∂c_j = −Re M_{j,j+1}`, `z̄ = conj(tr M)`.
pub fn dense_vjp(a: &[f64], b: &[f64], c: &[f64], z: C64, w: &[C64]) -> Grads {
    let n = a.len();
    let g = dense_resolvent(a, b, c, z);
    dense_vjp_from(&g, n, w)
}

fn dense_vjp_from(g: &[C64], n: usize, w: &[C64]) -> Grads {
    // M = G diag(conj w) G.
    let mut m = vec![C64::new(0.0, 0.0); n * n];
    for i in 0..n {
        for k in 0..n {
            let f = g[i * n + k] * w[k].conj();
            if f != C64::new(0.0, 0.0) {
                for j in 0..n {
                    m[i * n + j] += f * g[k * n + j];
                }
            }
        }
    }
    let ga = (0..n).map(|j| -m[j * n + j].re).collect();
    let gb = (0..n.saturating_sub(1))
        .map(|j| -m[(j + 1) * n + j].re)
        .collect();
    let gc = (0..n.saturating_sub(1))
        .map(|j| -m[j * n + j + 1].re)
        .collect();
    let tr: C64 = (0..n).map(|j| m[j * n + j]).sum();
    (ga, gb, gc, tr.conj())
}

/// The dense gradient of the causal loss `L = Re Σ_i conj(w_i) y_i`: the sum over leading
/// blocks `i` of the dense formula with cotangent `w_i` on the last diagonal entry only.
pub fn dense_causal_vjp(a: &[f64], b: &[f64], c: &[f64], z: C64, w: &[C64]) -> Grads {
    let n = a.len();
    let m = n.saturating_sub(1);
    let (mut ga, mut gb, mut gc, mut gz) =
        (vec![0.0; n], vec![0.0; m], vec![0.0; m], C64::new(0.0, 0.0));
    for i in 0..n {
        let g = dense_resolvent(&a[..=i], &b[..i], &c[..i], z);
        let mut wi = vec![C64::new(0.0, 0.0); i + 1];
        wi[i] = w[i];
        let (pa, pb, pc, pz) = dense_vjp_from(&g, i + 1, &wi);
        for j in 0..=i {
            ga[j] += pa[j];
        }
        for j in 0..i {
            gb[j] += pb[j];
            gc[j] += pc[j];
        }
        gz += pz;
    }
    (ga, gb, gc, gz)
}

/// A plain float64 ratio recurrence (SPEC §1.3), written with `num_complex`'s division:
/// `r_i = α_i − k_{i−1}/r_{i−1}`, `s_i = α_i − k_i/s_{i+1}`, `g_i = 1/(r_i + s_i − α_i)`.
pub fn ratio_diag(a: &[f64], b: &[f64], c: &[f64], z: C64) -> Vec<C64> {
    let n = a.len();
    let al: Vec<C64> = a.iter().map(|&x| C64::new(x, 0.0) - z).collect();
    let mut r = vec![C64::new(0.0, 0.0); n];
    let mut s = vec![C64::new(0.0, 0.0); n];
    for i in 0..n {
        r[i] = if i == 0 {
            al[0]
        } else {
            al[i] - b[i - 1] * c[i - 1] / r[i - 1]
        };
    }
    for i in (0..n).rev() {
        s[i] = if i + 1 == n {
            al[i]
        } else {
            al[i] - b[i] * c[i] / s[i + 1]
        };
    }
    (0..n).map(|i| 1.0 / (r[i] + s[i] - al[i])).collect()
}

/// The causal feature by the plain float64 leading recurrence: `y_i = 1/r_i`.
pub fn ratio_causal(a: &[f64], b: &[f64], c: &[f64], z: C64) -> Vec<C64> {
    let n = a.len();
    let mut out = Vec::with_capacity(n);
    let mut r = C64::new(0.0, 0.0);
    for i in 0..n {
        let al = C64::new(a[i], 0.0) - z;
        r = if i == 0 {
            al
        } else {
            al - b[i - 1] * c[i - 1] / r
        };
        out.push(1.0 / r);
    }
    out
}

/// Fourth-order central finite differences of `L(a, b, c, z) = Re Σ conj(w_i) f(a, b, c, z)_i`
/// with respect to every `a_j`, `b_j`, `c_j`, `Re z` and `Im z` (step `h`), returned as
/// `(∂L/∂a, ∂L/∂b, ∂L/∂c, ∂L/∂Re z + i ∂L/∂Im z)`.
pub fn finite_diff<F>(f: F, a: &[f64], b: &[f64], c: &[f64], z: C64, w: &[C64], h: f64) -> Grads
where
    F: Fn(&[f64], &[f64], &[f64], C64) -> Vec<C64>,
{
    let loss = |a: &[f64], b: &[f64], c: &[f64], z: C64| -> f64 {
        f(a, b, c, z)
            .iter()
            .zip(w)
            .map(|(g, w)| (w.conj() * g).re)
            .sum()
    };
    // (8 (L(+h) − L(−h)) − (L(+2h) − L(−2h))) / (12 h)
    let d =
        |l: &dyn Fn(f64) -> f64| (8.0 * (l(h) - l(-h)) - (l(2.0 * h) - l(-2.0 * h))) / (12.0 * h);
    let ga = (0..a.len())
        .map(|j| {
            d(&|t| {
                let mut x = a.to_vec();
                x[j] += t;
                loss(&x, b, c, z)
            })
        })
        .collect();
    let gb = (0..b.len())
        .map(|j| {
            d(&|t| {
                let mut x = b.to_vec();
                x[j] += t;
                loss(a, &x, c, z)
            })
        })
        .collect();
    let gc = (0..c.len())
        .map(|j| {
            d(&|t| {
                let mut x = c.to_vec();
                x[j] += t;
                loss(a, b, &x, z)
            })
        })
        .collect();
    let gre = d(&|t| loss(a, b, c, z + C64::new(t, 0.0)));
    let gim = d(&|t| loss(a, b, c, z + C64::new(0.0, t)));
    (ga, gb, gc, C64::new(gre, gim))
}

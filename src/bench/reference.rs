//! Independent float64 references for the KPIs: the dense inverse of `T − zI` by
//! Gauss–Jordan elimination with partial pivoting, and error norms.
//!
//! Deliberately naive (O(N³)) and sharing no code with muse-core, so that it can catch a
//! wrong recurrence.

use num_complex::Complex;

/// `diag (T − zI)⁻¹` by dense Gauss–Jordan elimination with partial pivoting, in float64.
/// `None` if the matrix is numerically singular (a zero pivot column).
pub fn dense_resolvent_diag(
    a: &[f64],
    b: &[f64],
    c: &[f64],
    z: Complex<f64>,
) -> Option<Vec<Complex<f64>>> {
    let n = a.len();
    assert!(
        b.len() + 1 == n.max(1) && c.len() == b.len(),
        "tridiagonal lengths"
    );
    let zero = Complex::new(0.0, 0.0);
    // [A | I], row-major, 2n columns.
    let w = 2 * n;
    let mut m = vec![zero; n * w];
    for i in 0..n {
        m[i * w + i] = Complex::new(a[i], 0.0) - z;
        if i + 1 < n {
            m[i * w + i + 1] = Complex::new(b[i], 0.0);
            m[(i + 1) * w + i] = Complex::new(c[i], 0.0);
        }
        m[i * w + n + i] = Complex::new(1.0, 0.0);
    }
    for col in 0..n {
        let piv =
            (col..n).max_by(|&p, &q| m[p * w + col].norm().total_cmp(&m[q * w + col].norm()))?;
        if m[piv * w + col].norm() == 0.0 {
            return None;
        }
        if piv != col {
            for j in 0..w {
                m.swap(piv * w + j, col * w + j);
            }
        }
        let inv = Complex::new(1.0, 0.0) / m[col * w + col];
        for j in 0..w {
            m[col * w + j] *= inv;
        }
        for r in 0..n {
            if r != col {
                let f = m[r * w + col];
                if f != zero {
                    for j in 0..w {
                        let v = m[col * w + j];
                        m[r * w + j] -= f * v;
                    }
                }
            }
        }
    }
    Some((0..n).map(|i| m[i * w + n + i]).collect())
}

/// `‖x − y‖₂ / ‖y‖₂` over complex vectors (`∞` if `x` holds a non-finite value, `‖x − y‖₂`
/// if `y = 0`).
pub fn rel_l2(x: &[Complex<f64>], y: &[Complex<f64>]) -> f64 {
    let mut num = 0.0;
    let mut den = 0.0;
    for (p, q) in x.iter().zip(y) {
        if !(p.re.is_finite() && p.im.is_finite()) {
            return f64::INFINITY;
        }
        num += (p - q).norm_sqr();
        den += q.norm_sqr();
    }
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

/// `‖x − y‖₂ / ‖y‖₂` over real vectors, as [`rel_l2`].
pub fn rel_l2_real(x: &[f64], y: &[f64]) -> f64 {
    let mut num = 0.0;
    let mut den = 0.0;
    for (p, q) in x.iter().zip(y) {
        if !p.is_finite() {
            return f64::INFINITY;
        }
        num += (p - q) * (p - q);
        den += q * q;
    }
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_inverse_of_2x2_matches_closed_form() {
        // [[a0 − z, b], [c, a1 − z]]⁻¹ diagonal = (a1 − z, a0 − z)/det.
        let z = Complex::new(0.3, -0.7);
        let (a, b, c) = ([1.5, -0.25], [2.0], [-0.5]);
        let g = dense_resolvent_diag(&a, &b, &c, z).unwrap();
        let (p, q) = (Complex::new(a[0], 0.0) - z, Complex::new(a[1], 0.0) - z);
        let det = p * q - b[0] * c[0];
        assert!((g[0] - q / det).norm() < 1e-15);
        assert!((g[1] - p / det).norm() < 1e-15);
    }

    #[test]
    fn rel_l2_flags_non_finite() {
        let y = [Complex::new(1.0, 0.0)];
        assert_eq!(rel_l2(&[Complex::new(f64::NAN, 0.0)], &y), f64::INFINITY);
        assert_eq!(rel_l2(&y, &y), 0.0);
    }
}

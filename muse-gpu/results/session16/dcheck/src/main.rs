use muse_core::resolvent::{resolvent_diag, resolvent_diag_scratch, tile};
use num_complex::Complex;
struct N(u64);
impl N {
    fn u(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545F4914F6CDD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn n(&mut self) -> f64 {
        let (u1, u2) = (self.u(), self.u());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}
fn main() {
    let (rows, n) = (256usize, 4096usize);
    let mut g = N(0x9e3779b97f4a7c15);
    let mut errs_t = vec![];
    let mut errs_s = vec![];
    for zc in [Complex::new(0.1f64, 0.1), Complex::new(0.0, 1.0)] {
        for _ in 0..rows {
            let a: Vec<f32> = (0..n).map(|_| g.n() as f32).collect();
            let b: Vec<f32> = (0..n - 1).map(|_| g.n() as f32).collect();
            let c: Vec<f32> = (0..n - 1).map(|_| g.n() as f32).collect();
            let w = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
            let mut r = vec![Complex::new(0.0, 0.0); n];
            let mut s64 = vec![Complex::new(0.0, 0.0); resolvent_diag_scratch(n)];
            resolvent_diag(&w(&a), &w(&b), &w(&c), zc, &mut r, &mut s64).unwrap();
            let z = Complex::new(zc.re as f32, zc.im as f32);
            let mut s32 = vec![Complex::new(0.0f32, 0.0); resolvent_diag_scratch(n)];
            let mut t = vec![Complex::new(0.0f32, 0.0); n];
            tile::resolvent_diag_tiled::<f32, 16>(&a, &b, &c, z, &mut t, &mut s32).unwrap();
            let mut q = vec![Complex::new(0.0f32, 0.0); n];
            resolvent_diag(&a, &b, &c, z, &mut q, &mut s32).unwrap();
            let e = |x: &[Complex<f32>]| {
                let (mut num, mut den) = (0.0, 0.0);
                for (p, y) in x.iter().zip(&r) {
                    num += (Complex::new(p.re as f64, p.im as f64) - y).norm_sqr();
                    den += y.norm_sqr();
                }
                (num / den).sqrt()
            };
            errs_t.push(e(&t));
            errs_s.push(e(&q));
        }
    }
    for (name, mut v) in [("tiles16", errs_t), ("cpu f32", errs_s)] {
        v.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{name}: median {:.3e} worst {:.3e} (rows {})",
            v[v.len() / 2],
            v[v.len() - 1],
            v.len()
        );
    }
}

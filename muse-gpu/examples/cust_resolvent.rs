//! Runs the resolvent kernel through the cust backend (feature `cust`) on random
//! non-symmetric systems and compares with muse-core f64. Build: see muse-gpu/NOTES.md, "cust".

use muse_core::resolvent::{resolvent_diag, resolvent_diag_scratch};
use muse_gpu::cust_backend::resolvent_diag_rows;
use num_complex::Complex;

fn main() {
    let (rows, n) = (1000usize, 257usize);
    let mut s = 0x1234_5678_u64;
    let mut rnd = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32
    };
    let a: Vec<f32> = (0..rows * n).map(|_| rnd()).collect();
    let b: Vec<f32> = (0..rows * (n - 1)).map(|_| rnd()).collect();
    let c: Vec<f32> = (0..rows * (n - 1)).map(|_| rnd()).collect();
    let z = Complex::new(0.1f32, 0.1);
    let (g, flag) = match resolvent_diag_rows(n, &a, &b, &c, z) {
        Ok(x) => x,
        Err(e) => {
            println!("cust: ERROR {e:?}");
            std::process::exit(1);
        }
    };
    let w = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let (a64, b64, c64) = (w(&a), w(&b), w(&c));
    let mut worst = 0.0f64;
    let mut sc = vec![Complex::new(0.0, 0.0); resolvent_diag_scratch(n)];
    let mut r = vec![Complex::new(0.0f64, 0.0); n];
    let mut errs = Vec::new();
    for i in 0..rows {
        let m = n - 1;
        resolvent_diag(
            &a64[i * n..(i + 1) * n],
            &b64[i * m..(i + 1) * m],
            &c64[i * m..(i + 1) * m],
            Complex::new(0.1, 0.1),
            &mut r,
            &mut sc,
        )
        .expect("reference");
        let (mut num, mut den) = (0.0, 0.0);
        for (x, y) in g[i * n..(i + 1) * n].iter().zip(&r) {
            num += (Complex::new(x.re as f64, x.im as f64) - y).norm_sqr();
            den += y.norm_sqr();
        }
        let e = (num / den).sqrt();
        worst = worst.max(e);
        errs.push(e);
    }
    errs.sort_by(f64::total_cmp);
    let ok = flag == muse_gpu::flag::NO_ERROR && errs[rows / 2] < 1e-5 && worst < 1e-3;
    println!(
        "cust 0.3.2 resolvent_diag_rows_f32 ({rows} systems of {n}): flag {}, rel err median {:.2e} worst {:.2e} -> {}",
        if flag == muse_gpu::flag::NO_ERROR { "clear".to_string() } else { format!("{:?}", muse_gpu::flag::decode(flag)) },
        errs[rows / 2],
        worst,
        if ok { "PASS" } else { "FAIL" }
    );
    if !ok {
        std::process::exit(1);
    }
}

//! Embedding `muse-core` the way another crate would: the density of states of a random
//! tridiagonal Hamiltonian (the 1-D Anderson model) from the resolvent diagonal.
//!
//! muse-core computes `G = (T − zI)⁻¹`, the negative of the physicists' `(z − T)⁻¹`, so for a
//! symmetric `T` with eigenvalues `λ_k`, `+Im G_ii(E + iη)/π` (the usual `−Im/π` of
//! `(z − T)⁻¹`) is the local density of states at site `i`, broadened by a Lorentzian of
//! width `η`; averaged over sites it is
//! `ρ(E) = (1/N) Σ_k (η/π)/((E − λ_k)² + η²)`, which integrates to 1 over ℝ. Each energy is
//! one O(N) call, with no matrix ever formed.
//!
//! ```sh
//! cargo run --release --example resolvent_spectrum
//! ```

use muse_core::resolvent::{resolvent_diag, resolvent_diag_scratch};
use muse_core::Complex;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Anderson model: random on-site energies a_i ~ N(0, W²), unit hopping b = c = 1.
    let (n, disorder, eta) = (4096usize, 1.0f64, 0.05f64);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let normal = Normal::new(0.0, disorder)?;
    let a: Vec<f64> = (0..n).map(|_| normal.sample(&mut rng)).collect();
    let hop = vec![1.0f64; n - 1];

    // Buffers are the caller's: muse-core never allocates.
    let mut g = vec![Complex::new(0.0, 0.0); n];
    let mut scratch = vec![Complex::new(0.0, 0.0); resolvent_diag_scratch(n)];
    // The same system stored in f32 (compute f32), to show the generic storage type.
    let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
    let hop32 = vec![1.0f32; n - 1];
    let mut g32 = vec![Complex::new(0.0f32, 0.0); n];
    let mut scratch32 = vec![Complex::new(0.0f32, 0.0); resolvent_diag_scratch(n)];

    let (e_min, e_max, points) = (-5.0f64, 5.0f64, 201usize);
    let de = (e_max - e_min) / (points - 1) as f64;
    let mut rho = Vec::with_capacity(points);
    let mut worst_f32 = 0.0f64;
    for k in 0..points {
        let e = e_min + k as f64 * de;
        resolvent_diag(&a, &hop, &hop, Complex::new(e, eta), &mut g, &mut scratch)?;
        let dos = g.iter().map(|x| x.im).sum::<f64>() / (std::f64::consts::PI * n as f64);
        rho.push((e, dos));
        let z32 = Complex::new(e as f32, eta as f32);
        resolvent_diag(&a32, &hop32, &hop32, z32, &mut g32, &mut scratch32)?;
        let dos32 =
            g32.iter().map(|x| f64::from(x.im)).sum::<f64>() / (std::f64::consts::PI * n as f64);
        worst_f32 = worst_f32.max((dos32 - dos).abs() / dos.abs().max(1e-12));
    }

    // Trapezoidal integral of ρ over the window: 1 up to the Lorentzian tails outside it.
    let integral: f64 = rho.windows(2).map(|w| 0.5 * (w[0].1 + w[1].1) * de).sum();
    let peak = rho.iter().map(|p| p.1).fold(0.0, f64::max);
    println!("Density of states of the 1-D Anderson model (N = {n}, W = {disorder}, eta = {eta})");
    for &(e, d) in rho.iter().step_by(10) {
        let bar = "#".repeat((60.0 * d / peak).round() as usize);
        println!("E = {e:+5.2}  rho = {d:.4}  {bar}");
    }
    println!(
        "integral of rho over [{e_min}, {e_max}] = {integral:.4} (1 minus the Lorentzian tails)"
    );
    println!("worst relative difference of rho, f32 vs f64 storage: {worst_f32:.2e}");
    Ok(())
}

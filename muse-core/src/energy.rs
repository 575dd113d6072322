//! Energy-conservation metrics of Leapfrog trajectories (SPEC §3, §8.4).
//!
//! Input: the trace of [`crate::integrator::Trace`], `H[k·M + i]` for steps
//! `k = 0..=K` (the final state **included**) and particles `i < M`, and optionally the
//! potential part `V[k·M + i]`. Per particle (trajectory) $i$:
//! - $E_i = \max_k |H_{k,i} - H_{0,i}|$, absolute, relative to $|H_{0,i}|$, and relative to
//!   the spread of $V$ along the trajectory, $\mathrm{std}_k V_{k,i}$ (a constant offset in
//!   $V$, which changes $H$ but not the dynamics, cannot hide drift);
//! - the least-squares slope of $H_{k,i}$ against $k$ (secular drift, energy per step) and
//!   the RMS of the residuals about that line (the bounded oscillation).
//!
//! Batch: the original's **metric B** over $e_k = \tfrac1M\sum_i H_{k,i}$:
//! `max_drift = (max e − min e)/|mean e|` (absolute if `|mean e| ≤ 1e-10`) and
//! `mean_drift = mean |e_{k+1} − e_k|` (absolute), here including the final state.
//!
//! ```
//! use muse_core::energy::energy_metrics;
//! // two particles, three steps: H drifts by 0.1 per step in particle 1.
//! let h = [1.0f64, 2.0, 1.0, 2.1, 1.0, 2.2];
//! let m = energy_metrics(&h, None, 2).unwrap();
//! assert!((m.max_abs_error - 0.2).abs() < 1e-12);
//! assert!((m.max_abs_slope - 0.1).abs() < 1e-12);
//! ```

use crate::hamiltonian::{check_finite, check_len, OdeArg, OdeError};
use crate::Real;

/// Energy metrics of a batch of trajectories (see the module docs). All in `f64`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EnergyMetrics {
    /// Number of particles `M`.
    pub particles: usize,
    /// Number of steps `K` (the trace has `K + 1` states).
    pub steps: usize,
    /// $\max_i E_i$.
    pub max_abs_error: f64,
    /// $\mathrm{mean}_i E_i$.
    pub mean_abs_error: f64,
    /// $\max_i E_i / |H_{0,i}|$.
    pub max_rel_error: f64,
    /// $\max_i E_i / \mathrm{std}_k V_{k,i}$ (`None` without a `V` trace).
    pub max_rel_v_spread: Option<f64>,
    /// $\max_i |\text{slope}_i|$ (energy per step).
    pub max_abs_slope: f64,
    /// $\mathrm{mean}_i\,\text{slope}_i$ (signed).
    pub mean_slope: f64,
    /// $\max_i$ RMS residual about the fitted line.
    pub max_oscillation: f64,
    /// Slope of the batch mean $e_k$ against $k$.
    pub batch_slope: f64,
    /// Metric B `max_drift` over $e_0..e_K$.
    pub metric_b_max_drift: f64,
    /// Metric B `mean_drift` over $e_0..e_K$.
    pub metric_b_mean_drift: f64,
    /// $\mathrm{mean}|V| / \mathrm{mean}(\tfrac12|p|^2 + |V|)$ over the trace: the share of
    /// the potential in the energy (`None` without a `V` trace).
    pub potential_share: Option<f64>,
}

/// Least-squares slope and RMS residual of `y_k` (k = 0..n) against `k`.
fn fit(n: usize, y: impl Fn(usize) -> f64) -> (f64, f64) {
    if n < 2 {
        return (0.0, 0.0);
    }
    let nf = n as f64;
    let kbar = (nf - 1.0) / 2.0;
    let ybar = (0..n).map(&y).sum::<f64>() / nf;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for k in 0..n {
        let dx = k as f64 - kbar;
        sxy += dx * (y(k) - ybar);
        sxx += dx * dx;
    }
    let slope = sxy / sxx;
    let mut ss = 0.0;
    for k in 0..n {
        let r = y(k) - ybar - slope * (k as f64 - kbar);
        ss += r * r;
    }
    (slope, libm::sqrt(ss / nf))
}

/// Computes [`EnergyMetrics`] from an energy trace of `m` particles.
///
/// # Errors
/// [`OdeError::LengthMismatch`] if `h.len()` is not a non-zero multiple of `m` or `v` has a
/// different length; [`OdeError::NonFiniteInput`] for NaN/∞ energies.
pub fn energy_metrics<R: Real>(
    h: &[R],
    v: Option<&[R]>,
    m: usize,
) -> Result<EnergyMetrics, OdeError> {
    if m == 0 || h.is_empty() || h.len() % m != 0 {
        return Err(OdeError::LengthMismatch {
            arg: OdeArg::Energy,
            expected: m.max(1) * (h.len() / m.max(1)).max(1),
            found: h.len(),
        });
    }
    check_finite(OdeArg::Energy, h)?;
    if let Some(v) = v {
        check_len(OdeArg::Energy, v.len(), h.len())?;
        check_finite(OdeArg::Energy, v)?;
    }
    let n = h.len() / m;
    let at = |k: usize, i: usize| h[k * m + i].to_f64();
    let mut out = EnergyMetrics {
        particles: m,
        steps: n - 1,
        ..EnergyMetrics::default()
    };
    let mut rel_v = v.map(|_| 0.0f64);
    for i in 0..m {
        let h0 = at(0, i);
        let e = (0..n).fold(0.0f64, |a, k| a.max((at(k, i) - h0).abs()));
        out.max_abs_error = out.max_abs_error.max(e);
        out.mean_abs_error += e / m as f64;
        out.max_rel_error = out.max_rel_error.max(e / h0.abs());
        let (slope, osc) = fit(n, |k| at(k, i));
        out.max_abs_slope = out.max_abs_slope.max(slope.abs());
        out.mean_slope += slope / m as f64;
        out.max_oscillation = out.max_oscillation.max(osc);
        if let (Some(v), Some(r)) = (v, rel_v.as_mut()) {
            let vm = (0..n).map(|k| v[k * m + i].to_f64()).sum::<f64>() / n as f64;
            let var = (0..n)
                .map(|k| {
                    let x = v[k * m + i].to_f64() - vm;
                    x * x
                })
                .sum::<f64>()
                / n as f64;
            *r = r.max(e / libm::sqrt(var));
        }
    }
    out.max_rel_v_spread = rel_v;
    let e = |k: usize| (0..m).map(|i| at(k, i)).sum::<f64>() / m as f64;
    let (bs, _) = fit(n, e);
    out.batch_slope = bs;
    let (mut emax, mut emin, mut esum, mut dsum) = (f64::MIN, f64::MAX, 0.0, 0.0);
    let mut prev = 0.0;
    for k in 0..n {
        let ek = e(k);
        emax = emax.max(ek);
        emin = emin.min(ek);
        esum += ek;
        if k > 0 {
            dsum += (ek - prev).abs();
        }
        prev = ek;
    }
    let emean = esum / n as f64;
    out.metric_b_max_drift = if emean.abs() > 1e-10 {
        (emax - emin) / emean.abs()
    } else {
        emax - emin
    };
    out.metric_b_mean_drift = if n > 1 { dsum / (n - 1) as f64 } else { 0.0 };
    if let Some(v) = v {
        let (mut sv, mut st) = (0.0, 0.0);
        for (hk, vk) in h.iter().zip(v) {
            let (hk, vk) = (hk.to_f64(), vk.to_f64());
            sv += vk.abs();
            st += (hk - vk).abs() + vk.abs();
        }
        out.potential_share = Some(sv / st);
    }
    Ok(out)
}

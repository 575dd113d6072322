//! The seed's VRAM KPI and the Leapfrog step time on the GPU (see `muse_gpu::ode_kpi`).
//!
//! `cargo run --release -p muse-gpu --example gpu_ode_bench -- [OUT.json] [--quick]`
//! (needs an NVIDIA driver and libcublas). Prints a table and writes the rows as JSON.

use muse_gpu::leapfrog::Storage;
use muse_gpu::ode_kpi::{adjoint_kpi, leapfrog_step_time, KpiRow};
use muse_gpu::Gpu;

fn json_row(r: &KpiRow) -> String {
    let f = |x: f64| {
        if x.is_finite() {
            format!("{x:e}")
        } else {
            "null".into()
        }
    };
    format!(
        "{{\"strategy\":\"{}\",\"tile\":{},\"steps\":{},\"particles\":{},\"peak_bytes\":{},\"stored_bytes\":{},\
         \"forward_ms\":{},\"backward_ms\":{},\"recon_error\":{},\"fallbacks\":{},\"rel_gq0_cpu\":{},\
         \"rel_gp0_cpu\":{},\"rel_gtheta_cpu\":{},\"rel_gtheta_vs_store_all\":{}}}",
        r.strategy,
        r.tile.map_or("null".to_string(), |t| t.to_string()),
        r.steps,
        r.particles,
        r.peak_bytes,
        r.stored_bytes,
        f(r.forward_ms),
        f(r.backward_ms),
        f(r.recon_error),
        r.fallbacks,
        f(r.rel_gq0),
        f(r.rel_gp0),
        f(r.rel_gtheta),
        f(r.rel_gtheta_vs_store_all)
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let out = args.iter().find(|a| !a.starts_with("--")).cloned();
    let gpu = Gpu::new(0)?;
    let dev = gpu.device_name().to_string();
    println!("device: {dev}");
    // One Leapfrog step, d = 512, B = 4, N = 512 (the earlier system: 1.46 ms on an H100).
    let st = leapfrog_step_time(
        &gpu,
        4 * 512,
        512,
        0.1,
        20,
        if quick { 50 } else { 300 },
        16,
        Storage::F32,
    )?;
    let st16 = leapfrog_step_time(
        &gpu,
        4 * 512,
        512,
        0.1,
        20,
        if quick { 50 } else { 300 },
        16,
        Storage::F16,
    )?;
    println!(
        "leapfrog step f16 storage (f32 accumulation): median {:.1} us [p10 {:.1}, p90 {:.1}], rel err vs f64 {:.2e}, speed-up vs 1.46 ms: {:.1}x",
        st16.median_us,
        st16.p10_us,
        st16.p90_us,
        st16.rel_err,
        1460.0 / st16.median_us
    );
    println!(
        "leapfrog step d=512 B=4 N=512: median {:.1} us [p10 {:.1}, p90 {:.1}], rel err vs f64 {:.2e}, speed-up vs 1.46 ms: {:.1}x",
        st.median_us,
        st.p10_us,
        st.p90_us,
        st.rel_err,
        1460.0 / st.median_us
    );
    let steps: &[usize] = if quick { &[10] } else { &[10, 20, 40, 80] };
    let log = |r: &KpiRow| {
        println!(
            "{:<10} tile {:<5} T={:<3} peak {:>8.1} MB stored {:>8.1} MB fwd {:>7.1} ms bwd {:>7.1} ms recon {:.1e} fb {} | rel vs CPU f64: gq0 {:.1e} gp0 {:.1e} gθ {:.1e} | gθ vs StoreAll {:.1e}",
            r.strategy,
            r.tile.map_or("auto".to_string(), |t| t.to_string()),
            r.steps,
            r.peak_bytes as f64 / 1e6,
            r.stored_bytes as f64 / 1e6,
            r.forward_ms,
            r.backward_ms,
            r.recon_error,
            r.fallbacks,
            r.rel_gq0,
            r.rel_gp0,
            r.rel_gtheta,
            r.rel_gtheta_vs_store_all
        )
    };
    let mut rows = adjoint_kpi(&gpu, 2 * 2048, 512, 0.1, steps, 16, 20, None, log)?;
    // The hidden tile is the Reversible strategy's largest scratch: the integrator's default
    // (8 MiB per buffer, 1024 particles) at T = 10 for comparison with the adjoint's 2 MiB.
    rows.extend(adjoint_kpi(
        &gpu,
        2 * 2048,
        512,
        0.1,
        &[10],
        0,
        0,
        Some(1024),
        log,
    )?);
    println!("\nsummary (device: {dev})");
    for pair in rows.chunks(2) {
        let (sa, rv) = (&pair[0], &pair[1]);
        println!(
            "T={:<3} tile {:<5} Reversible {:.1} MB vs StoreAll {:.1} MB: {:.1}% below",
            rv.steps,
            rv.tile.map_or("auto".to_string(), |t| t.to_string()),
            rv.peak_bytes as f64 / 1e6,
            sa.peak_bytes as f64 / 1e6,
            100.0 * (1.0 - rv.peak_bytes as f64 / sa.peak_bytes as f64)
        );
    }
    if let Some(path) = out {
        let body: Vec<String> = rows.iter().map(json_row).collect();
        let j = format!(
            "{{\"device\":\"{dev}\",\"particles\":4096,\"d\":512,\"h\":2048,\"dt\":0.1,\"cpu_subset\":16,\
             \"leapfrog_step\":{{\"particles\":2048,\"d\":512,\"median_us\":{},\"p10_us\":{},\"p90_us\":{},\"rel_err_vs_f64\":{:e}}},\
             \"leapfrog_step_f16_storage\":{{\"median_us\":{},\"p10_us\":{},\"p90_us\":{},\"rel_err_vs_f64\":{:e}}},\
             \"adjoint\":[\n{}\n]}}\n",
            st.median_us,
            st.p10_us,
            st.p90_us,
            st.rel_err,
            st16.median_us,
            st16.p10_us,
            st16.p90_us,
            st16.rel_err,
            body.join(",\n")
        );
        std::fs::write(path, j)?;
    }
    Ok(())
}

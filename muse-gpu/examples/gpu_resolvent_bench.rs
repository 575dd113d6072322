//! GPU resolvent benchmark: `cargo run --release -p muse-gpu --example gpu_resolvent_bench
//! -- [--json FILE] [--runs N] [--warmup N] [--quick] [--sweep] [--small] [--stream] [--match PATTERNS] [--warm] [--ptx FILE]`.
//! Prints one line per case and, with `--json`, writes the whole report (hand-formatted JSON;
//! the library's structs are serde-free). `--sweep`: thread counts around the target shapes
//! instead of the standard set; `--small`: only the B ≤ 16 cases; `--warm`: a diagnostic,
//! the same launch timed after a cache-flushing memset and back to back.

use muse_gpu::bench::{self, BenchConfig, CaseResult};
use muse_gpu::resolvent::Schedule;
use std::fmt::Write as _;

fn opt(v: Option<f64>) -> String {
    v.map_or("null".into(), |x| format!("{x:e}"))
}

fn line(r: &CaseResult) -> String {
    let sched = match (r.spec.schedule, r.threads) {
        (Schedule::Tile { len }, Some(t)) => format!("tile{len}/{t}"),
        (Schedule::Split { segs }, Some(t)) => format!("split{segs}/{t}"),
        (Schedule::Cluster { ctas, len }, Some(t)) => format!("cluster{ctas}x{len}/{t}"),
        (Schedule::Stream, Some(t)) => format!("stream16/{t}"),
        (Schedule::Auto, Some(t)) => format!("auto:{}/{t}", r.kernel),
        (_, Some(t)) => format!("block/{t}"),
        (Schedule::Rows, None) | (_, None) => "rows".to_string(),
    };
    format!(
        "{:<10} {:<4} B={:<6} N={:<5} {:<11} median {:>10.2} us  IQR [{:.2}, {:.2}]  min {:.2} max {:.2}  {:>7.1} GB/s ({:>5.1}% of copy)  err med {} max {} (CPU {} {})",
        r.spec.op.name(),
        r.spec.dtype,
        r.spec.rows,
        r.spec.n,
        sched,
        r.timing.median_us,
        r.timing.p25_us,
        r.timing.p75_us,
        r.timing.min_us,
        r.timing.max_us,
        r.effective_gbps,
        100.0 * r.copy_fraction,
        opt(r.rel_err_median),
        opt(r.rel_err_max),
        opt(r.cpu_rel_err_median),
        opt(r.cpu_rel_err_max),
    )
}

fn json(rep: &bench::BenchReport) -> String {
    let mut s = String::new();
    let t = |t: &bench::Timing| {
        format!(
            "{{\"runs\": {}, \"median_us\": {}, \"p25_us\": {}, \"p75_us\": {}, \"min_us\": {}, \"max_us\": {}}}",
            t.runs, t.median_us, t.p25_us, t.p75_us, t.min_us, t.max_us
        )
    };
    let _ = write!(
        s,
        "{{\n  \"device\": \"{}\",\n  \"copy_gbps\": {},\n  \"copy_timing\": {},\n  \"warmup\": {},\n  \"peak_bytes_allocated\": {},\n  \"device_total_bytes\": {},\n  \"cases\": [\n",
        rep.device,
        rep.copy_gbps,
        t(&rep.copy_timing),
        rep.warmup,
        rep.memory.peak_bytes,
        rep.memory.device_total_bytes
    );
    for (i, r) in rep.cases.iter().enumerate() {
        let _ = writeln!(
            s,
            "    {{\"op\": \"{}\", \"dtype\": \"{}\", \"rows\": {}, \"n\": {}, \"kernel\": \"{}\", \"threads\": {}, \"timing\": {}, \"min_bytes\": {}, \"effective_gbps\": {}, \"copy_fraction\": {}, \"rel_err_median\": {}, \"rel_err_max\": {}, \"cpu_rel_err_median\": {}, \"cpu_rel_err_max\": {}}}{}",
            r.spec.op.name(),
            r.spec.dtype,
            r.spec.rows,
            r.spec.n,
            r.kernel,
            r.threads.map_or("null".into(), |t| t.to_string()),
            t(&r.timing),
            r.min_bytes,
            r.effective_gbps,
            r.copy_fraction,
            opt(r.rel_err_median),
            opt(r.rel_err_max),
            opt(r.cpu_rel_err_median),
            opt(r.cpu_rel_err_max),
            if i + 1 < rep.cases.len() { "," } else { "" }
        );
    }
    s.push_str("  ]\n}\n");
    s
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let ptx = get("--ptx").map(|p| std::fs::read_to_string(&p).expect("read --ptx file"));
    let opened = match &ptx {
        Some(p) => muse_gpu::Gpu::with_module(0, p),
        None => muse_gpu::Gpu::new(0),
    };
    let gpu = match opened {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gpu_resolvent_bench: skipped: {e}");
            return;
        }
    };
    if args.iter().any(|a| a == "--warm") {
        warm_vs_cold(&gpu).expect("--warm diagnostic");
        return;
    }
    let mut cfg = BenchConfig::standard();
    if let Some(r) = get("--runs") {
        cfg.runs = r.parse().expect("--runs N");
    }
    if args.iter().any(|a| a == "--quick") {
        // The shapes of the targets only.
        cfg.cases.retain(|c| {
            c.n == 4096
                && matches!(
                    (c.rows, c.schedule),
                    (
                        16 | 16384,
                        Schedule::Block { threads: None } | Schedule::Tile { .. } | Schedule::Auto
                    ) | (16384, Schedule::Rows)
                )
        });
    }
    if args.iter().any(|a| a == "--sweep") {
        // Thread counts and kernels around the target shapes (tuning runs).
        use muse_gpu::bench::{BenchOp, CaseSpec};
        let case = |op, dtype, rows, n, schedule| CaseSpec {
            op,
            dtype,
            rows,
            n,
            schedule,
        };
        let bl = |t| Schedule::Block { threads: t };
        let mut cases = Vec::new();
        for t in [None, Some(256), Some(512)] {
            cases.push(case(BenchOp::Diag, "f32", 16, 4096, bl(t)));
        }
        for t in [None, Some(64), Some(128)] {
            cases.push(case(BenchOp::Diag, "f32", 16, 256, bl(t)));
        }
        for t in [None, Some(256)] {
            cases.push(case(BenchOp::Diag, "f32", 16, 1024, bl(t)));
        }
        cases.push(case(BenchOp::Causal, "f32", 16, 4096, bl(None)));
        for t in [None, Some(256)] {
            cases.push(case(BenchOp::Vjp, "f32", 16, 4096, bl(t)));
        }
        cases.push(case(BenchOp::CausalVjp, "f32", 16, 4096, bl(None)));
        cases.push(case(BenchOp::Diag, "f32", 16384, 4096, Schedule::Rows));
        for t in [256, 512] {
            cases.push(case(BenchOp::Diag, "f32", 16384, 4096, bl(Some(t))));
        }
        cases.push(case(BenchOp::Causal, "f32", 16384, 4096, Schedule::Rows));
        cases.push(case(BenchOp::Causal, "f32", 16384, 4096, bl(Some(256))));
        cfg.cases = cases;
    }
    if args.iter().any(|a| a == "--stream") {
        // The streaming kernel against tiles of 16 and `Auto` over the orders it takes.
        use muse_gpu::bench::{BenchOp, CaseSpec};
        let mut cases = Vec::new();
        for (rows, n) in [
            (16384, 512),
            (16384, 1024),
            (16384, 2048),
            (16384, 4096),
            (600, 4096),
            (8192, 8192),
        ] {
            for schedule in [Schedule::Tile { len: 16 }, Schedule::Stream, Schedule::Auto] {
                cases.push(CaseSpec {
                    op: BenchOp::Diag,
                    dtype: "f32",
                    rows,
                    n,
                    schedule,
                });
            }
        }
        cfg.cases = cases;
    }
    if args.iter().any(|a| a == "--small") {
        cfg.cases.retain(|c| c.rows <= 16);
    }
    if let Some(m) = get("--match") {
        // `;`-separated substrings of the case's `Debug` form, all required
        // (e.g. `--match "rows: 16384,;Tile { len: 8 }"`).
        cfg.cases
            .retain(|c| m.split(';').all(|p| format!("{c:?}").contains(p)));
    }
    if let Some(w) = get("--warmup") {
        cfg.warmup = w.parse().expect("--warmup N");
    }
    println!("device: {} ({} SMs)", gpu.device_name(), gpu.sm_count());
    let rep = match bench::run(&gpu, &cfg, |r| println!("{}", line(r))) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gpu_resolvent_bench: error: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "device-to-device copy: {:.1} GB/s (read + write, 1 GiB, median of {})",
        rep.copy_gbps, rep.copy_timing.runs
    );
    println!(
        "peak device memory allocated by muse-gpu: {:.1} MiB",
        rep.memory.peak_bytes as f64 / (1 << 20) as f64
    );
    if let Some(p) = get("--json") {
        std::fs::write(&p, json(&rep)).expect("write --json file");
        println!("wrote {p}");
    }
}

/// Diagnostic: the same launch timed right after a cache-flushing memset (cold: L2 and the
/// instruction caches hold none of it) and repeated back to back (warm), 20 samples each.
fn warm_vs_cold(gpu: &muse_gpu::Gpu) -> Result<(), muse_gpu::GpuError> {
    use cudarc::driver::sys::CUevent_flags;
    use muse_gpu::resolvent::{self as gr, Op, System, VjpBuffers, Workspace};
    use num_complex::Complex;
    let mut filler = gpu.alloc::<u8>(256 << 20)?;
    for (vjp, rows, n) in [
        (false, 16, 4096),
        (false, 16, 256),
        (true, 16, 4096),
        (false, 132, 4096),
    ] {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = |k: usize| -> Vec<f32> {
            (0..k)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
                })
                .collect()
        };
        let (a, b, c) = (rnd(rows * n), rnd(rows * (n - 1)), rnd(rows * (n - 1)));
        let w = rnd(2 * rows * n);
        let (da, db, dc, dw) = (
            gpu.upload(&a)?,
            gpu.upload(&b)?,
            gpu.upload(&c)?,
            gpu.upload(&w)?,
        );
        let sys = System {
            n,
            a: &da,
            b: &db,
            c: &dc,
            z: Complex::new(0.1, 0.1),
        };
        let mut out = gpu.alloc::<f32>(2 * rows * n)?;
        let mut grad = VjpBuffers::new(gpu, rows, n)?;
        let mut ws = Workspace::new(gpu)?;
        let sched = Schedule::Auto;
        let mut launch = || -> Result<(), muse_gpu::GpuError> {
            if vjp {
                gr::launch_vjp(gpu, Op::Diag, &sys, &dw, &mut grad, &mut ws, sched)
            } else {
                gr::launch_forward(gpu, Op::Diag, &sys, &mut out, &mut ws, sched)
            }
        };
        let (ctx, s) = (gpu.context(), gpu.stream());
        let mut evs = Vec::new();
        for _ in 0..25 {
            let e: Vec<_> = (0..3)
                .map(|_| ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT)))
                .collect::<Result<_, _>>()?;
            s.memset_zeros(&mut *filler)?;
            e[0].record(s)?;
            launch()?;
            e[1].record(s)?;
            for _ in 0..8 {
                launch()?;
            }
            e[2].record(s)?;
            evs.push(e);
        }
        s.synchronize()?;
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for e in evs.iter().skip(5) {
            cold.push(e[0].elapsed_ms(&e[1])? as f64 * 1e3);
            warm.push(e[1].elapsed_ms(&e[2])? as f64 * 1e3 / 8.0);
        }
        cold.sort_by(f64::total_cmp);
        warm.sort_by(f64::total_cmp);
        let (k, t) = if vjp {
            gr::resolve_vjp_schedule::<f32>(gpu, Op::Diag, rows, n, sched)?
        } else {
            gr::resolve_schedule::<f32>(gpu, Op::Diag, rows, n, sched)?
        };
        println!(
            "warm-vs-cold {} B={rows} N={n} {k} threads {t:?}: cold median {:.2} us, warm (8 back to back) median {:.2} us",
            if vjp { "vjp" } else { "diag" },
            cold[cold.len() / 2],
            warm[warm.len() / 2]
        );
    }
    Ok(())
}

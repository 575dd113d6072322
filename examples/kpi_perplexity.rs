//! The `perplexity` KPI: perplexity of Stage 2 against Stage 1 (runner: muse::lm::bench, on the
//! CPU). Data: WikiText-2 `valid.txt` (train) and `test.txt` from `$MUSE_DATA_DIR`,
//! `data/wikitext-2` or `../shared/data/wikitext-2`; `unavailable` when none is found.
//!
//! ```sh
//! cargo run --release --example kpi_perplexity             # the seed's conditions
//! cargo run --release --example kpi_perplexity -- --quick  # seconds
//! ```
//!
//! Prints the result and writes `results/perplexity.json` (the same file as `muse bench perplexity`).

use muse::bench::{
    perplexity::{PerplexityConfig, PerplexityKpi},
    run_to_dir, Ctx, Device, KpiStatus,
};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let config = if quick {
        PerplexityConfig::quick()
    } else {
        PerplexityConfig::default()
    };
    let kpi = PerplexityKpi::new(config)?;
    let ctx = Ctx::new(Device::Cpu);
    let (report, path) = run_to_dir(&kpi, &ctx, Path::new("results"))?;
    print!("{}", report.describe());
    println!("JSON written to {}", path.display());
    if report.kpi_status == KpiStatus::Unavailable {
        println!("(no number was produced: see the reason above)");
    }
    Ok(())
}

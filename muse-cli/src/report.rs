//! `muse report [--in DIR] [--out DIR]`: aggregates `<kpi>.json` files into `report.json`,
//! `report.md` and SVG plots.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// `muse report` arguments.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Directory holding the KPI JSON files.
    #[arg(long = "in", value_name = "DIR", default_value = "results")]
    input: PathBuf,
    /// Directory for report.json, report.md and the plots (default: the input directory).
    #[arg(long = "out", value_name = "DIR")]
    output: Option<PathBuf>,
}

/// Runs `muse report`.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let out = args.output.unwrap_or_else(|| args.input.clone());
    let w = muse::report::write_report(&args.input, &out).map_err(crate::bench::bench_err)?;
    println!("{}", w.json.display());
    println!("{}", w.markdown.display());
    for p in &w.plots {
        println!("{}", p.display());
    }
    if !w.report.all_pass {
        eprintln!("muse report: some KPIs missed their targets (see report.md)");
    }
    Ok(ExitCode::SUCCESS)
}

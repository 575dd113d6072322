//! Reports: exporters of a benchmark [`Summary`] (one file per format, as hyperfine's
//! `export/`), and `muse report`, which aggregates the `<kpi>.json` files of a results
//! directory into `report.json`, `report.md` and SVG plots.
//!
//! Plots are drawn only from data that is present: `energy_trajectory.svg` (energy KPI),
//! `resolvent_time.svg` and `resolvent_bandwidth.svg` (the resolvent sweep),
//! `adjoint_memory.svg` (`memory_vs_steps`), `perplexity.svg` (`curves`).
//!
//! A resolvent report measured on the GPU also gets a GPU block in `report.md`: its headline
//! figures, every peer of `--peers` (times, speedups and errors side by side) and the fastest
//! kernel of each measured case.

mod gpu;
mod json;
mod markdown;
pub mod plot;

pub use json::JsonExporter;
pub use markdown::{cell, provenance_line, table, MarkdownExporter};

use crate::bench::{fmt_num, BenchError, KpiReport, KpiStatus, Summary};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A format a [`Summary`] can be written in.
pub trait Exporter {
    /// The file content.
    ///
    /// # Errors
    /// Serialisation failures.
    fn serialize(&self, summary: &Summary) -> Result<Vec<u8>, BenchError>;
}

/// One row of the report's summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KpiSummary {
    /// KPI name.
    pub kpi: String,
    /// Its status.
    pub kpi_status: KpiStatus,
    /// Checks or reason, in one line.
    pub result: String,
    /// Target in words.
    pub target: String,
}

/// `report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// When and from what the report was made.
    pub metadata: Value,
    /// True when no KPI failed.
    pub all_pass: bool,
    /// One row per KPI.
    pub kpi_summary: Vec<KpiSummary>,
    /// The KPI files read.
    pub benchmark_files: Vec<String>,
    /// JSON files in the directory that are not KPI reports.
    pub skipped_files: Vec<String>,
    /// The SVG plots written.
    pub plots: Vec<String>,
    /// The KPI reports themselves.
    pub results: Vec<KpiReport>,
}

/// Paths written by [`write_report`].
#[derive(Clone, Debug)]
pub struct Written {
    /// `report.json`.
    pub json: PathBuf,
    /// `report.md`.
    pub markdown: PathBuf,
    /// The SVG files.
    pub plots: Vec<PathBuf>,
    /// The report itself.
    pub report: Report,
}

/// KPI reports found in a directory (with their paths) and the JSON files skipped.
pub type Loaded = (Vec<(PathBuf, KpiReport)>, Vec<PathBuf>);

/// Reads every KPI report (`*.json` except `report.json`) of `dir`, sorted by KPI order.
///
/// # Errors
/// [`BenchError::MissingInput`] when `dir` cannot be read or holds no KPI report.
pub fn load_dir(dir: &Path) -> Result<Loaded, BenchError> {
    let missing = |reason: String| BenchError::MissingInput {
        path: dir.to_path_buf(),
        reason,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| missing(e.to_string()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name().is_some_and(|n| n != "report.json")
        })
        .collect();
    paths.sort();
    let (mut found, mut skipped) = (Vec::new(), Vec::new());
    for p in paths {
        let parsed = std::fs::read(&p)
            .ok()
            .and_then(|b| serde_json::from_slice::<KpiReport>(&b).ok());
        match parsed {
            Some(r) => found.push((p, r)),
            None => skipped.push(p),
        }
    }
    if found.is_empty() {
        return Err(missing(
            "no KPI result files (<kpi>.json); run `muse bench` first".into(),
        ));
    }
    let order = |r: &KpiReport| {
        crate::bench::KPI_NAMES
            .iter()
            .position(|n| *n == r.kpi)
            .unwrap_or(usize::MAX)
    };
    found.sort_by_key(|(_, r)| order(r));
    Ok((found, skipped))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
}

/// Reads `in_dir`, writes `report.json`, `report.md` and the plots into `out_dir`.
///
/// # Errors
/// [`BenchError::MissingInput`] (nothing to report), [`BenchError::Unwritable`] /
/// [`BenchError::Write`] for the outputs.
pub fn write_report(in_dir: &Path, out_dir: &Path) -> Result<Written, BenchError> {
    let (found, skipped) = load_dir(in_dir)?;
    std::fs::create_dir_all(out_dir).map_err(|e| BenchError::Unwritable {
        path: out_dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let results: Vec<KpiReport> = found.iter().map(|(_, r)| r.clone()).collect();
    let find = |name: &str| results.iter().find(|r| r.kpi == name);

    // Plots.
    let mut svgs: Vec<(String, String, String)> = Vec::new(); // (file, title, svg)
    let mut add = |file: &str, title: &str, x: &str, y: &str, series: Vec<plot::Series>| {
        if series.is_empty() {
            return Ok::<(), BenchError>(());
        }
        let svg = plot::line_chart(title, x, y, &series)?;
        svgs.push((file.to_owned(), title.to_owned(), svg));
        Ok(())
    };
    if let Some(r) = find("energy") {
        add(
            "energy_trajectory.svg",
            "Energy trajectory (batch mean of H)",
            "step k",
            "H",
            plot::energy_trajectory(r).into_iter().collect(),
        )?;
    }
    if let Some(r) = find("resolvent") {
        let time: Vec<_> = [
            plot::sweep_series(r, "muse_median_ms", "MUSE f32"),
            plot::sweep_series(r, "baseline_median_ms", "f64 baseline"),
        ]
        .into_iter()
        .flatten()
        .collect();
        add(
            "resolvent_time.svg",
            "Resolvent forward time vs N (median)",
            "N",
            "ms per batch",
            time,
        )?;
        add(
            "resolvent_bandwidth.svg",
            "Resolvent effective bandwidth vs N",
            "N",
            "GB/s",
            plot::sweep_series(r, "bandwidth_gbps", "MUSE f32")
                .into_iter()
                .collect(),
        )?;
    }
    if let Some(r) = find("adjoint") {
        add(
            "adjoint_memory.svg",
            "Adjoint memory vs steps T",
            "T",
            "GB",
            plot::adjoint_memory(r),
        )?;
    }
    if let Some(r) = find("perplexity") {
        add(
            "perplexity.svg",
            "Perplexity",
            "step",
            "perplexity",
            plot::perplexity_curves(r),
        )?;
    }
    let mut plot_paths = Vec::new();
    for (file, _, svg) in &svgs {
        let p = out_dir.join(file);
        crate::bench::write_file_pub(&p, svg.as_bytes())?;
        plot_paths.push(p);
    }

    let kpi_summary: Vec<KpiSummary> = results
        .iter()
        .map(|r| KpiSummary {
            kpi: r.kpi.clone(),
            kpi_status: r.kpi_status,
            result: r.headline(),
            target: r.target.clone(),
        })
        .collect();
    let all_pass = results.iter().all(|r| r.kpi_status != KpiStatus::Fail);
    let report = Report {
        metadata: serde_json::json!({
            "generated": crate::bench::provenance::now_rfc3339(),
            "muse_version": env!("CARGO_PKG_VERSION"),
            "source_dir": in_dir.display().to_string(),
        }),
        all_pass,
        kpi_summary,
        benchmark_files: found.iter().map(|(p, _)| file_name(p)).collect(),
        skipped_files: skipped.iter().map(|p| file_name(p)).collect(),
        plots: svgs.iter().map(|(f, _, _)| f.clone()).collect(),
        results,
    };

    let json_path = out_dir.join("report.json");
    let mut bytes = serde_json::to_vec_pretty(&report)?;
    bytes.push(b'\n');
    crate::bench::write_file_pub(&json_path, &bytes)?;

    let md_path = out_dir.join("report.md");
    let md = markdown_report(&report, &svgs);
    crate::bench::write_file_pub(&md_path, md.as_bytes())?;
    Ok(Written {
        json: json_path,
        markdown: md_path,
        plots: plot_paths,
        report,
    })
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n.as_f64().map(fmt_num),
        Value::Bool(b) => Some(b.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Null => Some("null".into()),
        _ => None,
    }
}

fn markdown_report(report: &Report, svgs: &[(String, String, String)]) -> String {
    let mut s = String::from("# MUSE KPI report\n\n");
    s.push_str(&format!(
        "All targets met: **{}** (unavailable KPIs do not count).\n\n",
        if report.all_pass { "yes" } else { "no" }
    ));
    s.push_str(&table(&report.results));
    if !svgs.is_empty() {
        s.push_str("\n## Plots\n\n");
        for (file, title, _) in svgs {
            s.push_str(&format!("![{title}]({file})\n\n"));
        }
    }
    s.push_str("\n## Details\n");
    for r in &report.results {
        s.push_str(&format!("\n### {} ({})\n\n", r.kpi, r.kpi_status.as_str()));
        if let Some(reason) = &r.reason {
            s.push_str(&format!("{reason}\n\n"));
        }
        s.push_str(&format!("Target: {}\n\n", r.target));
        let mut rows = String::new();
        for (k, v) in &r.fields {
            if let Some(text) = scalar(v) {
                rows.push_str(&format!("| `{}` | {} |\n", cell(k), cell(&text)));
            } else if let Some(o) = v.as_object() {
                for key in ["median_ms", "iqr_ms", "median_rel_l2", "max_rel_l2", "mse"] {
                    if let Some(t) = o.get(key).and_then(scalar) {
                        rows.push_str(&format!("| `{}.{key}` | {} |\n", cell(k), cell(&t)));
                    }
                }
            }
        }
        if !rows.is_empty() {
            s.push_str("| field | value |\n|---|---|\n");
            s.push_str(&rows);
            s.push('\n');
        }
        if let Some(g) = gpu::section(&r.fields) {
            s.push_str(&g);
        }
        if let Some(cfg) = r.config.as_object() {
            let c: Vec<String> = cfg
                .iter()
                .filter_map(|(k, v)| scalar(v).map(|t| format!("{k} = {t}")))
                .collect();
            s.push_str(&format!("Config: {}\n\n", c.join(", ")));
        }
        s.push_str(&provenance_line(&r.provenance));
    }
    s
}

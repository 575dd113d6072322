//! Markdown export: the summary table (one row per KPI) and the provenance line.

use super::Exporter;
use crate::bench::BenchError;
use crate::bench::{KpiReport, Provenance, Summary};

/// Writes a Markdown table of the KPIs.
#[derive(Clone, Copy, Debug, Default)]
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn serialize(&self, summary: &Summary) -> Result<Vec<u8>, BenchError> {
        let mut s = String::from("# MUSE KPIs\n\n");
        s.push_str(&table(&summary.results));
        s.push('\n');
        s.push_str(&provenance_line(&summary.provenance));
        s.push('\n');
        Ok(s.into_bytes())
    }
}

/// Escapes a table cell.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `| KPI | status | result | target |` with one row per report.
pub fn table(results: &[KpiReport]) -> String {
    let mut s = String::from("| KPI | status | result | target |\n|---|---|---|---|\n");
    for r in results {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            cell(&r.kpi),
            r.kpi_status.as_str(),
            cell(&r.headline()),
            cell(&r.target)
        ));
    }
    s
}

/// One line: version, commit, build, device, threads, time.
pub fn provenance_line(p: &Provenance) -> String {
    let dirty = if p.git_dirty == Some(true) {
        " (dirty)"
    } else {
        ""
    };
    format!(
        "muse {} · commit `{}`{dirty} · {} build · device {} ({}, driver {}) · {} threads · {} · {}\n",
        p.muse_version,
        p.git_commit,
        p.build_profile,
        p.device,
        p.device_name,
        p.driver,
        p.threads,
        p.os,
        p.timestamp
    )
}

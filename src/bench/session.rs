//! A benchmark session: runs KPIs one after the other, writes `<out_dir>/<kpi>.json` after
//! each, and rewrites the `--export-json` / `--export-markdown` files after each so that
//! partial results survive an interruption (as hyperfine does).

use super::{BenchError, Ctx, Kpi, KpiReport, Provenance, Summary};
use crate::report::{Exporter, JsonExporter, MarkdownExporter};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where an export goes: a file, or standard output (`-`, written once at the end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportTarget {
    /// Standard output.
    Stdout,
    /// A file, rewritten after every KPI.
    File(PathBuf),
}

impl ExportTarget {
    /// `-` is standard output, anything else a file path.
    pub fn parse(s: &str) -> Self {
        if s == "-" {
            ExportTarget::Stdout
        } else {
            ExportTarget::File(PathBuf::from(s))
        }
    }
}

/// Runs KPIs and keeps every output file up to date.
#[derive(Debug)]
pub struct Session {
    out_dir: PathBuf,
    export_json: Option<ExportTarget>,
    export_markdown: Option<ExportTarget>,
    summary: Summary,
}

fn unwritable(path: &Path, e: impl std::fmt::Display) -> BenchError {
    BenchError::Unwritable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes `bytes` to `path`.
///
/// # Errors
/// [`BenchError::Write`].
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), BenchError> {
    std::fs::write(path, bytes).map_err(|source| BenchError::Write {
        path: path.to_path_buf(),
        source,
    })
}

impl Session {
    /// A session writing into `out_dir` (created if needed). Every output path is checked
    /// for writing before anything runs.
    ///
    /// # Errors
    /// [`BenchError::Unwritable`] when the directory or an export file cannot be written.
    pub fn new(
        out_dir: impl Into<PathBuf>,
        export_json: Option<ExportTarget>,
        export_markdown: Option<ExportTarget>,
        provenance: Provenance,
    ) -> Result<Self, BenchError> {
        let out_dir = out_dir.into();
        std::fs::create_dir_all(&out_dir).map_err(|e| unwritable(&out_dir, e))?;
        let probe = out_dir.join(".muse-write-probe");
        std::fs::write(&probe, b"").map_err(|e| unwritable(&out_dir, e))?;
        let _ = std::fs::remove_file(&probe);
        for target in [&export_json, &export_markdown].into_iter().flatten() {
            if let ExportTarget::File(path) = target {
                if path.is_dir() {
                    return Err(unwritable(path, "is a directory"));
                }
                std::fs::File::create(path).map_err(|e| unwritable(path, e))?;
            }
        }
        Ok(Session {
            out_dir,
            export_json,
            export_markdown,
            summary: Summary {
                provenance,
                results: Vec::new(),
            },
        })
    }

    /// The directory the `<kpi>.json` files go to.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// Every report so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Runs `kpi`, writes `<kpi>.json`, rewrites the file exports, and returns the report
    /// and the path of its JSON file. A failure that is not the user's fault becomes a
    /// `fail` report and the session goes on.
    ///
    /// # Errors
    /// Bad input ([`BenchError::is_usage`]) or a failed write.
    pub fn run(&mut self, kpi: &dyn Kpi, ctx: &Ctx) -> Result<(KpiReport, PathBuf), BenchError> {
        let mut report = match kpi.run(ctx) {
            Ok(r) => r,
            Err(e) if e.is_usage() => return Err(e),
            Err(e) => KpiReport::errored(
                kpi.name(),
                kpi.target(),
                kpi.config(),
                kpi.seed_fields(),
                &e.to_string(),
                ctx.provenance(&kpi.dtype()),
            ),
        };
        if let Some(cfg) = report.config.as_object_mut() {
            cfg.entry("device")
                .or_insert_with(|| json!(ctx.device.as_str()));
        }
        let path = self.out_dir.join(format!("{}.json", report.kpi));
        let mut bytes = serde_json::to_vec_pretty(&report)?;
        bytes.push(b'\n');
        write_file(&path, &bytes)?;
        self.summary.results.retain(|r| r.kpi != report.kpi);
        self.summary.results.push(report.clone());
        self.write_exports(false)?;
        Ok((report, path))
    }

    /// Writes the exports that go to standard output (files are already up to date).
    ///
    /// # Errors
    /// A failed write.
    pub fn finish(&self) -> Result<(), BenchError> {
        self.write_exports(true)
    }

    fn write_exports(&self, stdout: bool) -> Result<(), BenchError> {
        let exports: [(&Option<ExportTarget>, &dyn Exporter); 2] = [
            (&self.export_json, &JsonExporter),
            (&self.export_markdown, &MarkdownExporter),
        ];
        for (target, exporter) in exports {
            match target {
                Some(ExportTarget::File(path)) if !stdout => {
                    write_file(path, &exporter.serialize(&self.summary)?)?;
                }
                Some(ExportTarget::Stdout) if stdout => {
                    let bytes = exporter.serialize(&self.summary)?;
                    std::io::stdout()
                        .write_all(&bytes)
                        .map_err(|source| BenchError::Write {
                            path: PathBuf::from("-"),
                            source,
                        })?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

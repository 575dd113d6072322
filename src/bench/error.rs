//! Errors of the KPI framework.

use std::path::PathBuf;

/// An error of a KPI run or of an export.
///
/// [`BenchError::InvalidConfig`] and [`BenchError::MissingInput`] are the user's fault (the CLI
/// maps them to exit code 2); the others are failures of the run itself.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A configuration value is out of range (a size ≤ 0, `dt = 0`, …).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// An input file (data set, results directory) does not exist or cannot be read.
    #[error("missing input {path}: {reason}")]
    MissingInput {
        /// The path that was asked for.
        path: PathBuf,
        /// Why it could not be used.
        reason: String,
    },
    /// An output path cannot be created or written (checked before anything runs).
    #[error("cannot write to {path}: {reason}")]
    Unwritable {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Writing an output file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A numerical routine reported an error (never patched: it ends the KPI).
    #[error("numerical error: {0}")]
    Numerical(String),
    /// Anything else (serialisation, plotting).
    #[error("{0}")]
    Other(String),
}

impl BenchError {
    /// Whether the error is caused by the user's input (exit code 2 in the CLI).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            BenchError::InvalidConfig(_)
                | BenchError::MissingInput { .. }
                | BenchError::Unwritable { .. }
        )
    }
}

impl From<muse_core::resolvent::ResolventError> for BenchError {
    fn from(e: muse_core::resolvent::ResolventError) -> Self {
        BenchError::Numerical(e.to_string())
    }
}

impl From<serde_json::Error> for BenchError {
    fn from(e: serde_json::Error) -> Self {
        BenchError::Other(format!("JSON: {e}"))
    }
}

/// `Err(InvalidConfig)` unless `cond`.
pub(crate) fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), BenchError> {
    if cond {
        Ok(())
    } else {
        Err(BenchError::InvalidConfig(msg()))
    }
}

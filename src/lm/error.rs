//! Errors of the language model.

use muse_core::resolvent::ResolventError;

/// Everything that can go wrong in the language model: bad input is reported, never patched.
#[derive(Debug, thiserror::Error)]
pub enum LmError {
    /// The causal resolvent rejected its input (a non-finite diagonal, say).
    #[error("causal resolvent failed: {0}")]
    Resolvent(#[from] ResolventError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Input data (tokens, text) is unusable.
    #[error("invalid input: {0}")]
    Input(String),
    /// A checkpoint is missing, malformed or does not match its configuration.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// Training produced a non-finite loss or gradient.
    #[error("training diverged: non-finite {what} at step {step}")]
    NonFinite {
        /// `loss` or `gradient`.
        what: &'static str,
        /// The optimiser step.
        step: usize,
    },
    /// The Hamiltonian block failed (integration or adjoint).
    #[error("Hamiltonian block: {0}")]
    Hamiltonian(#[from] muse_core::hamiltonian::OdeError),
}

impl LmError {
    /// An [`LmError::Io`] for `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        LmError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

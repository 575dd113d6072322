//! Exit codes: 2 for bad input (files, shapes, values, flags), 1 for everything else.
//!
//! Input errors are a [`UsageError`] (a one-line message built by the subcommand, e.g. naming
//! the file, row and index of a non-finite value), or a [`muse::npy::NpyError`] about an input
//! file (missing, not NumPy, truncated, wrong dtype or shape). A file that cannot be written
//! ([`muse::npy::NpyError::Write`]) and any other failure exit with 1.

use std::fmt;

/// An error caused by the user's input (a bad file, shape, value or flag): exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Shorthand: `Err(usage!("..."))`-style constructor.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// 2 if any error in the chain is a [`UsageError`] or a NumPy input error, else 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let input = err.chain().any(|e| {
        e.is::<UsageError>()
            || e.downcast_ref::<muse::npy::NpyError>()
                .is_some_and(muse::npy::NpyError::is_input_error)
    });
    if input {
        2
    } else {
        1
    }
}

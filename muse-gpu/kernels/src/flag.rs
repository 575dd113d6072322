//! The error flag: how a kernel reports the first in-kernel numeric failure (non-finite input,
//! zero or non-finite pivot, storage overflow) without trapping.
//!
//! Each failure is encoded as one `u64` key and merged into a single device word with an
//! atomic minimum, so the word ends up holding the *first* failure in the order
//! (kind, row, index, argument): input errors win over the pivot failures they cause
//! elsewhere. The host initialises the word to [`NO_ERROR`] and decodes it with [`decode`].
//! This file is compiled into both the kernels and the host (`#[path]`), so the two agree.
//!
//! Layout: bits 60–63 kind, 36–59 row (24 bits), 4–35 index (32 bits), 0–3 argument/pivot.

use muse_core::resolvent::{Arg, Pivot, ResolventError};

/// The value of the flag word when no failure was reported.
pub const NO_ERROR: u64 = u64::MAX;
/// Largest batch row that can be encoded (the host rejects larger batches).
pub const MAX_ROWS: usize = 1 << 24;
/// Largest index that can be encoded (the host rejects longer rows).
pub const MAX_INDEX: usize = 1 << 32;

const fn arg_code(a: Arg) -> u64 {
    match a {
        Arg::A => 0,
        Arg::B => 1,
        Arg::C => 2,
        Arg::Z => 3,
        Arg::W => 4,
        Arg::Out => 5,
        Arg::Grad => 6,
        Arg::Scratch => 7,
    }
}

const fn arg_of(c: u64) -> Arg {
    match c {
        0 => Arg::A,
        1 => Arg::B,
        2 => Arg::C,
        3 => Arg::Z,
        4 => Arg::W,
        5 => Arg::Out,
        6 => Arg::Grad,
        _ => Arg::Scratch,
    }
}

const fn pivot_code(p: Pivot) -> u64 {
    match p {
        Pivot::Leading => 0,
        Pivot::Trailing => 1,
        Pivot::Diagonal => 2,
    }
}

const fn pivot_of(c: u64) -> Pivot {
    match c {
        0 => Pivot::Leading,
        1 => Pivot::Trailing,
        _ => Pivot::Diagonal,
    }
}

#[inline(always)]
const fn key(kind: u64, row: usize, index: usize, sub: u64) -> u64 {
    (kind << 60)
        | (((row as u64) & 0xff_ffff) << 36)
        | (((index as u64) & 0xffff_ffff) << 4)
        | (sub & 0xf)
}

/// Encodes an error (its `row` field must already be the batch row).
#[inline(always)]
pub fn encode(e: ResolventError) -> u64 {
    match e {
        ResolventError::NonFiniteInput { arg, row, index } => key(0, row, index, arg_code(arg)),
        ResolventError::ZeroPivot { pivot, row, index } => key(1, row, index, pivot_code(pivot)),
        ResolventError::NonFinitePivot { pivot, row, index } => {
            key(2, row, index, pivot_code(pivot))
        }
        ResolventError::OutputOverflow { row, index } => key(3, row, index, 0),
        // Cannot happen after the host's checks; kept total (expected/found → index/row).
        ResolventError::LengthMismatch {
            arg,
            expected,
            found,
        } => key(4, found, expected, arg_code(arg)),
    }
}

/// Decodes a flag word: `None` for [`NO_ERROR`].
pub fn decode(k: u64) -> Option<ResolventError> {
    if k == NO_ERROR {
        return None;
    }
    let kind = k >> 60;
    let row = ((k >> 36) & 0xff_ffff) as usize;
    let index = ((k >> 4) & 0xffff_ffff) as usize;
    let sub = k & 0xf;
    Some(match kind {
        0 => ResolventError::NonFiniteInput {
            arg: arg_of(sub),
            row,
            index,
        },
        1 => ResolventError::ZeroPivot {
            pivot: pivot_of(sub),
            row,
            index,
        },
        2 => ResolventError::NonFinitePivot {
            pivot: pivot_of(sub),
            row,
            index,
        },
        3 => ResolventError::OutputOverflow { row, index },
        _ => ResolventError::LengthMismatch {
            arg: arg_of(sub),
            expected: index,
            found: row,
        },
    })
}

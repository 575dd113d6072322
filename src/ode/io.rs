//! Minimal `.npz` reading and writing for `muse ode` (npyz), until the shared `muse::npy`
//! module lands: every array is read as `f64` (from `f8`, `f4`, or integer dtypes, C order)
//! and written as `f64` or `f32`.

use std::collections::HashMap;
use std::path::Path;

/// An error reading or writing `.npz` files (always the user's input or output path).
#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An array has an unsupported dtype or layout.
    #[error("array `{name}`: {msg}")]
    Unsupported {
        /// The array.
        name: String,
        /// What is wrong.
        msg: String,
    },
}

/// A dense C-order array read as `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// The shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// The values in C order.
    pub data: Vec<f64>,
}

/// Reads every array of an `.npz` file.
///
/// # Errors
/// [`NpzError`] for I/O errors, Fortran order or dtypes other than float/int/uint/bool.
pub fn read_npz(path: &Path) -> Result<HashMap<String, Array>, NpzError> {
    let io = |source| NpzError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut ar = npyz::npz::NpzArchive::open(path).map_err(io)?;
    let names: Vec<String> = ar.array_names().map(str::to_string).collect();
    let mut out = HashMap::new();
    for name in names {
        let npy = ar.by_name(&name).map_err(io)?.ok_or_else(|| {
            io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("array {name}"),
            ))
        })?;
        let unsupported = |msg: String| NpzError::Unsupported {
            name: name.clone(),
            msg,
        };
        if npy.order() == npyz::Order::Fortran {
            return Err(unsupported("Fortran order is not supported".into()));
        }
        let shape: Vec<usize> = npy.shape().iter().map(|&s| s as usize).collect();
        let descr = npy.dtype().descr();
        let kind = descr
            .trim_matches('\'')
            .trim_start_matches(['<', '>', '|', '=']);
        let data: Vec<f64> = match kind {
            "f8" => npy.into_vec::<f64>().map_err(io)?,
            "f4" => npy
                .into_vec::<f32>()
                .map_err(io)?
                .into_iter()
                .map(f64::from)
                .collect(),
            "i8" => npy
                .into_vec::<i64>()
                .map_err(io)?
                .into_iter()
                .map(|x| x as f64)
                .collect(),
            "i4" => npy
                .into_vec::<i32>()
                .map_err(io)?
                .into_iter()
                .map(f64::from)
                .collect(),
            "u8" => npy
                .into_vec::<u64>()
                .map_err(io)?
                .into_iter()
                .map(|x| x as f64)
                .collect(),
            "u4" => npy
                .into_vec::<u32>()
                .map_err(io)?
                .into_iter()
                .map(f64::from)
                .collect(),
            other => return Err(unsupported(format!("unsupported dtype `{other}`"))),
        };
        out.insert(name, Array { shape, data });
    }
    Ok(out)
}

/// Values of an output array.
#[derive(Clone, Debug)]
pub enum Values {
    /// `float64`.
    F64(Vec<f64>),
    /// `float32`.
    F32(Vec<f32>),
    /// `int64`.
    I64(Vec<i64>),
}

/// Writes named arrays `(name, shape, values)` to an `.npz` file.
///
/// # Errors
/// [`NpzError::Io`].
pub fn write_npz(path: &Path, arrays: &[(&str, Vec<usize>, Values)]) -> Result<(), NpzError> {
    use npyz::WriterBuilder;
    let io = |source| NpzError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut w = npyz::npz::NpzWriter::create(path).map_err(io)?;
    for (name, shape, values) in arrays {
        let shape: Vec<u64> = shape.iter().map(|&s| s as u64).collect();
        match values {
            Values::F64(v) => {
                let mut a = w
                    .array::<f64>(name, Default::default())
                    .map_err(io)?
                    .default_dtype()
                    .shape(&shape)
                    .begin_nd()
                    .map_err(io)?;
                a.extend(v.iter().copied()).map_err(io)?;
                a.finish().map_err(io)?;
            }
            Values::F32(v) => {
                let mut a = w
                    .array::<f32>(name, Default::default())
                    .map_err(io)?
                    .default_dtype()
                    .shape(&shape)
                    .begin_nd()
                    .map_err(io)?;
                a.extend(v.iter().copied()).map_err(io)?;
                a.finish().map_err(io)?;
            }
            Values::I64(v) => {
                let mut a = w
                    .array::<i64>(name, Default::default())
                    .map_err(io)?
                    .default_dtype()
                    .shape(&shape)
                    .begin_nd()
                    .map_err(io)?;
                a.extend(v.iter().copied()).map_err(io)?;
                a.finish().map_err(io)?;
            }
        }
    }
    Ok(())
}

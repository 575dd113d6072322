//! NumPy `.npy` / `.npz` input and output, on top of the [`npyz`] crate.
//!
//! Arrays travel as an [`Array`]: a C-order (row-major) `Vec` with its shape. Reading
//! checks everything a user can get wrong and says so in an [`NpyError`] that names the
//! file (and the archive member):
//!
//! - the file is missing or unreadable ([`NpyError::Open`]);
//! - it is not an `.npy` file or `.npz` archive ([`NpyError::NotNpy`], [`NpyError::NotNpz`]);
//! - it is shorter or longer than its header promises ([`NpyError::Truncated`],
//!   [`NpyError::TrailingData`]);
//! - its dtype is not one the caller accepts ([`NpyError::DType`], which lists them);
//! - its rank is not one the caller accepts ([`NpyError::Shape`]);
//! - an archive lacks a member ([`NpyError::MissingMember`], which lists those present).
//!
//! The element type of the result picks the accepted dtypes (see [`Element`]):
//!
//! | Rust type                    | accepted dtypes                     | written as   |
//! |------------------------------|-------------------------------------|--------------|
//! | `f64`, `f32`, [`half::f16`]  | float16, float32, float64           | `<f8`, `<f4`, `<f2` |
//! | `Complex<f64>`, `Complex<f32>` | complex64, complex128             | `<c16`, `<c8` |
//! | `i64`                        | int8 … int64, uint8 … uint64        | `<i8`        |
//!
//! Floats are converted to the requested type by rounding to nearest (exact when widening).
//! Both byte orders and Fortran-order files are read; the result is always C order.
//!
//! ```
//! use muse::npy::{self, Array};
//! # let dir = std::env::temp_dir().join(format!("muse-npy-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("a.npy");
//! npy::write(&path, &Array::new(vec![2, 3], vec![1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0]))?;
//!
//! // Read it back as f32, accepting 1-D or 2-D arrays.
//! let a: Array<f32> = npy::read(&path, &[1, 2])?;
//! assert_eq!(a.shape, [2, 3]);
//! assert_eq!(a.data[4], 5.0);
//!
//! // A rank the caller does not accept is an error naming the file.
//! let err = npy::read::<f64>(&path, &[1]).unwrap_err();
//! assert!(err.to_string().contains("a.npy"));
//! assert!(err.to_string().contains("(2, 3)"));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), npy::NpyError>(())
//! ```

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use half::f16;
use npyz::{DType, NpyFile, NpyHeader, Order, TypeChar, WriterBuilder};
use num_complex::Complex;

/// Where an array lives: a `.npy` file, or a member of an `.npz` archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// The member of an `.npz` archive, if any.
    pub member: Option<String>,
}

impl Source {
    /// A whole `.npy` file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Source {
            path: path.into(),
            member: None,
        }
    }

    /// Member `member` of the `.npz` archive `path`.
    pub fn member(path: impl Into<PathBuf>, member: impl Into<String>) -> Self {
        Source {
            path: path.into(),
            member: Some(member.into()),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.member {
            None => write!(f, "{}", self.path.display()),
            Some(m) => write!(f, "{}, member `{m}`", self.path.display()),
        }
    }
}

/// Formats a shape as NumPy prints it: `()`, `(5,)`, `(2, 3)`.
///
/// # Examples
/// ```
/// assert_eq!(muse::npy::shape_str(&[]), "()");
/// assert_eq!(muse::npy::shape_str(&[5]), "(5,)");
/// assert_eq!(muse::npy::shape_str(&[2, 3]), "(2, 3)");
/// ```
pub fn shape_str(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// Describes a set of accepted ranks in words: `[1, 2]` → `"1-D or 2-D"`.
fn ranks_str(ranks: &[usize]) -> String {
    let words: Vec<String> = ranks
        .iter()
        .map(|&r| match r {
            0 => "a 0-d array (shape ())".to_string(),
            r => format!("{r}-D"),
        })
        .collect();
    words.join(" or ")
}

/// An error reading or writing a NumPy file. Every variant names the file (and member).
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The file is missing or cannot be read.
    #[error("{at}: cannot open: {err}")]
    Open {
        /// The file.
        at: Source,
        /// The operating system's error.
        err: io::Error,
    },
    /// The bytes are not an `.npy` file (bad magic string, unsupported version, bad header).
    #[error("{at}: not a NumPy .npy file ({detail})")]
    NotNpy {
        /// The file or member.
        at: Source,
        /// What is wrong.
        detail: String,
    },
    /// The file is not a readable `.npz` (zip) archive.
    #[error("{at}: not a NumPy .npz archive ({detail})")]
    NotNpz {
        /// The archive.
        at: Source,
        /// What is wrong.
        detail: String,
    },
    /// An archive has no member of the requested name.
    #[error("{at}: no such member (the archive holds: {available})")]
    MissingMember {
        /// The archive and the requested member.
        at: Source,
        /// The members present, comma-separated.
        available: String,
    },
    /// The file ends before the data its header promises.
    #[error("{at}: truncated: {detail}")]
    Truncated {
        /// The file or member.
        at: Source,
        /// Where it ends, and what was expected.
        detail: String,
    },
    /// The file holds more bytes than its header promises.
    #[error("{at}: {found} data bytes, but the header promises {expected}")]
    TrailingData {
        /// The file or member.
        at: Source,
        /// Bytes implied by the header's shape and dtype.
        expected: u64,
        /// Bytes present after the header.
        found: u64,
    },
    /// The dtype is not accepted by the caller.
    #[error("{at}: dtype {found} is not accepted (expected {accepted})")]
    DType {
        /// The file or member.
        at: Source,
        /// The dtype found, in NumPy's words (`int32`, `complex64`, …).
        found: String,
        /// The dtypes accepted, in words.
        accepted: &'static str,
    },
    /// The rank or shape is not accepted.
    #[error("{at}: shape {found} is not accepted (expected {expected})")]
    Shape {
        /// The file or member.
        at: Source,
        /// The shape found, as NumPy prints it.
        found: String,
        /// What was expected, in words.
        expected: String,
    },
    /// A value cannot be represented in the requested type (a uint64 above `i64::MAX`).
    #[error("{at}: value at flat index {index} does not fit the requested type {ty}")]
    Value {
        /// The file or member.
        at: Source,
        /// Flat (C-order) index of the value.
        index: usize,
        /// The requested type.
        ty: &'static str,
    },
    /// Writing failed (the directory does not exist, the disk is full, …).
    #[error("{at}: cannot write: {err}")]
    Write {
        /// The file or member.
        at: Source,
        /// The underlying error.
        err: io::Error,
    },
}

impl NpyError {
    /// The file (and member) the error is about.
    pub fn source_file(&self) -> &Source {
        match self {
            NpyError::Open { at, .. }
            | NpyError::NotNpy { at, .. }
            | NpyError::NotNpz { at, .. }
            | NpyError::MissingMember { at, .. }
            | NpyError::Truncated { at, .. }
            | NpyError::TrailingData { at, .. }
            | NpyError::DType { at, .. }
            | NpyError::Shape { at, .. }
            | NpyError::Value { at, .. }
            | NpyError::Write { at, .. } => at,
        }
    }

    /// `true` for errors caused by the input (everything but [`NpyError::Write`]).
    pub fn is_input_error(&self) -> bool {
        !matches!(self, NpyError::Write { .. })
    }
}

/// A dense array in C (row-major) order: `data[i * shape[1] + j]` for 2-D.
#[derive(Clone, Debug, PartialEq)]
pub struct Array<T> {
    /// The shape; `[]` for a 0-d array (one element).
    pub shape: Vec<usize>,
    /// The elements, `shape.iter().product()` of them.
    pub data: Vec<T>,
}

impl<T> Array<T> {
    /// An array of the given shape.
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape`.
    ///
    /// # Examples
    /// ```
    /// let a = muse::npy::Array::new(vec![2, 2], vec![1, 2, 3, 4]);
    /// assert_eq!(a.ndim(), 2);
    /// ```
    pub fn new(shape: Vec<usize>, data: Vec<T>) -> Self {
        let len: usize = shape.iter().product();
        assert_eq!(
            len,
            data.len(),
            "Array::new: shape {} has {len} elements, data has {}",
            shape_str(&shape),
            data.len()
        );
        Array { shape, data }
    }

    /// A 0-d array (NumPy shape `()`).
    ///
    /// # Examples
    /// ```
    /// let s = muse::npy::Array::scalar(0.5_f64);
    /// assert!(s.shape.is_empty() && s.data == [0.5]);
    /// ```
    pub fn scalar(x: T) -> Self {
        Array {
            shape: Vec::new(),
            data: vec![x],
        }
    }

    /// The number of dimensions (0 for a scalar).
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
}

mod sealed {
    use half::f16;
    use num_complex::Complex;

    /// An array as decoded from a file, before conversion to the requested type.
    pub enum Raw {
        F16(Vec<f16>),
        F32(Vec<f32>),
        F64(Vec<f64>),
        C64(Vec<Complex<f32>>),
        C128(Vec<Complex<f64>>),
        /// Any integer dtype, widened; `Err(index)` if a uint64 does not fit.
        I64(Result<Vec<i64>, usize>),
    }

    pub trait Sealed: npyz::AutoSerialize + Sized {
        /// Converts, or `None` if the dtype is not accepted.
        fn from_raw(raw: Raw) -> Option<Result<Vec<Self>, usize>>;
    }
}
use sealed::Raw;

/// An element type that can be read from and written to NumPy files (sealed: `f64`, `f32`,
/// [`half::f16`], `Complex<f64>`, `Complex<f32>`, `i64`). See the module docs for which dtypes
/// each accepts.
pub trait Element: sealed::Sealed + Copy + Send + Sync + 'static {
    /// The dtypes accepted when reading, in words (used in [`NpyError::DType`]).
    const ACCEPTED: &'static str;
    /// The Rust name of the type.
    const NAME: &'static str;
}

const FLOATS: &str = "float16, float32 or float64";

macro_rules! float_element {
    ($t:ty, $name:literal, $f16:expr, $f32:expr, $f64:expr) => {
        impl sealed::Sealed for $t {
            fn from_raw(raw: Raw) -> Option<Result<Vec<Self>, usize>> {
                Some(Ok(match raw {
                    Raw::F16(v) => v.into_iter().map($f16).collect(),
                    Raw::F32(v) => v.into_iter().map($f32).collect(),
                    Raw::F64(v) => v.into_iter().map($f64).collect(),
                    _ => return None,
                }))
            }
        }
        impl Element for $t {
            const ACCEPTED: &'static str = FLOATS;
            const NAME: &'static str = $name;
        }
    };
}

float_element!(f64, "f64", |x: f16| x.to_f64(), |x: f32| x as f64, |x| x);
float_element!(f32, "f32", |x: f16| x.to_f32(), |x| x, |x: f64| x as f32);
float_element!(f16, "f16", |x| x, f16::from_f32, f16::from_f64);

const COMPLEXES: &str = "complex64 or complex128";

impl sealed::Sealed for Complex<f64> {
    fn from_raw(raw: Raw) -> Option<Result<Vec<Self>, usize>> {
        Some(Ok(match raw {
            Raw::C64(v) => v
                .into_iter()
                .map(|z| Complex::new(z.re as f64, z.im as f64))
                .collect(),
            Raw::C128(v) => v,
            _ => return None,
        }))
    }
}
impl Element for Complex<f64> {
    const ACCEPTED: &'static str = COMPLEXES;
    const NAME: &'static str = "Complex<f64>";
}

impl sealed::Sealed for Complex<f32> {
    fn from_raw(raw: Raw) -> Option<Result<Vec<Self>, usize>> {
        Some(Ok(match raw {
            Raw::C64(v) => v,
            Raw::C128(v) => v
                .into_iter()
                .map(|z| Complex::new(z.re as f32, z.im as f32))
                .collect(),
            _ => return None,
        }))
    }
}
impl Element for Complex<f32> {
    const ACCEPTED: &'static str = COMPLEXES;
    const NAME: &'static str = "Complex<f32>";
}

impl sealed::Sealed for i64 {
    fn from_raw(raw: Raw) -> Option<Result<Vec<Self>, usize>> {
        match raw {
            Raw::I64(v) => Some(v),
            _ => None,
        }
    }
}
impl Element for i64 {
    const ACCEPTED: &'static str = "an integer dtype (int8 … int64, uint8 … uint64)";
    const NAME: &'static str = "i64";
}

/// NumPy's name of a dtype (`float32`, `complex128`, `int64`, …), or its type string.
fn dtype_name(dtype: &DType) -> String {
    match dtype {
        DType::Plain(ts) => {
            let bits = ts.size_field() * 8;
            match ts.type_char() {
                TypeChar::Float => format!("float{bits}"),
                TypeChar::Complex => format!("complex{bits}"),
                TypeChar::Int => format!("int{bits}"),
                TypeChar::Uint => format!("uint{bits}"),
                TypeChar::Bool => "bool".into(),
                _ => format!("'{ts}'"),
            }
        }
        DType::Record(_) => "a structured (record) dtype".into(),
        DType::Array(..) => "a sub-array dtype".into(),
    }
}

fn invalid(e: impl fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// Decodes the data of a file whose header is `header` and whose data bytes are `data`
/// (already checked to have the right length). `None`: a dtype we never read.
fn decode(header: &NpyHeader, data: &[u8]) -> Option<io::Result<Raw>> {
    let DType::Plain(ts) = header.dtype() else {
        return None;
    };
    let file = NpyFile::with_header(header.clone(), data);
    fn ints<T: npyz::Deserialize + TryInto<i64>>(file: NpyFile<&[u8]>) -> io::Result<Raw> {
        let v: Vec<T> = file.into_vec()?;
        let mut out = Vec::with_capacity(v.len());
        for (i, x) in v.into_iter().enumerate() {
            match x.try_into() {
                Ok(x) => out.push(x),
                Err(_) => return Ok(Raw::I64(Err(i))),
            }
        }
        Ok(Raw::I64(Ok(out)))
    }
    Some(match (ts.type_char(), ts.size_field()) {
        (TypeChar::Float, 2) => file.into_vec().map(Raw::F16),
        (TypeChar::Float, 4) => file.into_vec().map(Raw::F32),
        (TypeChar::Float, 8) => file.into_vec().map(Raw::F64),
        (TypeChar::Complex, 8) => file.into_vec().map(Raw::C64),
        (TypeChar::Complex, 16) => file.into_vec().map(Raw::C128),
        (TypeChar::Int, 1) => ints::<i8>(file),
        (TypeChar::Int, 2) => ints::<i16>(file),
        (TypeChar::Int, 4) => ints::<i32>(file),
        (TypeChar::Int, 8) => ints::<i64>(file),
        (TypeChar::Uint, 1) => ints::<u8>(file),
        (TypeChar::Uint, 2) => ints::<u16>(file),
        (TypeChar::Uint, 4) => ints::<u32>(file),
        (TypeChar::Uint, 8) => ints::<u64>(file),
        _ => return None,
    })
}

/// Reorders a Fortran-order array to C order.
fn fortran_to_c<T: Copy>(shape: &[usize], data: Vec<T>) -> Vec<T> {
    if shape.len() < 2 || data.is_empty() {
        return data;
    }
    // Fortran strides: stride[0] = 1, stride[k] = stride[k−1]·shape[k−1].
    let mut stride = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        stride[k] = stride[k - 1] * shape[k - 1];
    }
    let mut idx = vec![0usize; shape.len()];
    let mut out = Vec::with_capacity(data.len());
    for _ in 0..data.len() {
        out.push(data[idx.iter().zip(&stride).map(|(i, s)| i * s).sum::<usize>()]);
        // Advance the C-order multi-index (last axis fastest).
        for k in (0..shape.len()).rev() {
            idx[k] += 1;
            if idx[k] < shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    out
}

/// Parses a whole `.npy` image (file contents or archive member) into an array of `T`.
fn parse<T: Element>(at: &Source, bytes: &[u8], ranks: &[usize]) -> Result<Array<T>, NpyError> {
    let mut cur = bytes;
    let header = NpyHeader::from_reader(&mut cur).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => NpyError::Truncated {
            at: at.clone(),
            detail: format!("the file ({} bytes) ends inside the header", bytes.len()),
        },
        _ => NpyError::NotNpy {
            at: at.clone(),
            detail: e.to_string(),
        },
    })?;
    let shape: Vec<usize> = header
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<_, _>>()
        .map_err(|_| NpyError::NotNpy {
            at: at.clone(),
            detail: "the shape does not fit this machine".into(),
        })?;
    let dtype = header.dtype();
    let item = dtype.num_bytes().unwrap_or(0) as u64;
    let expected = header
        .len()
        .checked_mul(item)
        .ok_or_else(|| NpyError::NotNpy {
            at: at.clone(),
            detail: format!("shape {} is too large", shape_str(&shape)),
        })?;
    let found = cur.len() as u64;
    if found < expected {
        return Err(NpyError::Truncated {
            at: at.clone(),
            detail: format!(
                "shape {} of {} needs {expected} data bytes, the file has {found}",
                shape_str(&shape),
                dtype_name(&dtype)
            ),
        });
    }
    if found > expected {
        return Err(NpyError::TrailingData {
            at: at.clone(),
            expected,
            found,
        });
    }
    let dtype_err = || NpyError::DType {
        at: at.clone(),
        found: dtype_name(&dtype),
        accepted: T::ACCEPTED,
    };
    let raw = decode(&header, cur)
        .ok_or_else(dtype_err)?
        .map_err(|e| NpyError::NotNpy {
            at: at.clone(),
            detail: e.to_string(),
        })?;
    let data = T::from_raw(raw)
        .ok_or_else(dtype_err)?
        .map_err(|index| NpyError::Value {
            at: at.clone(),
            index,
            ty: T::NAME,
        })?;
    if !ranks.contains(&shape.len()) {
        return Err(NpyError::Shape {
            at: at.clone(),
            found: shape_str(&shape),
            expected: ranks_str(ranks),
        });
    }
    let data = match header.order() {
        Order::C => data,
        Order::Fortran => fortran_to_c(&shape, data),
    };
    Ok(Array { shape, data })
}

/// Reads the `.npy` file `path` as an array of `T`, accepting only the ranks in `ranks`
/// (e.g. `&[1, 2]`).
///
/// # Errors
/// [`NpyError`] naming `path`: missing or unreadable file, not an `.npy` file, truncated or
/// overlong data, a dtype `T` does not accept, a rank not in `ranks`.
///
/// # Examples
/// ```
/// use muse::npy::{self, Array};
/// let path = std::env::temp_dir().join(format!("muse-read-doc-{}.npy", std::process::id()));
/// npy::write(&path, &Array::new(vec![3], vec![1.0_f32, 2.0, 3.0]))?;
/// let a: Array<f64> = npy::read(&path, &[1])?;
/// assert_eq!(a.data, [1.0, 2.0, 3.0]);
/// // Not complex:
/// assert!(matches!(
///     npy::read::<num_complex::Complex<f64>>(&path, &[1]),
///     Err(npy::NpyError::DType { .. })
/// ));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), npy::NpyError>(())
/// ```
pub fn read<T: Element>(path: impl AsRef<Path>, ranks: &[usize]) -> Result<Array<T>, NpyError> {
    let at = Source::file(path.as_ref());
    let bytes = std::fs::read(path.as_ref()).map_err(|err| NpyError::Open {
        at: at.clone(),
        err,
    })?;
    parse(&at, &bytes, ranks)
}

/// Reads a 0-d `.npy` file (NumPy shape `()`, as `np.save(f, np.float64(0.1))` writes).
///
/// # Errors
/// As [`read`]; any other shape is [`NpyError::Shape`].
///
/// # Examples
/// ```
/// use muse::npy::{self, Array};
/// let path = std::env::temp_dir().join(format!("muse-scalar-doc-{}.npy", std::process::id()));
/// npy::write(&path, &Array::scalar(7_i64))?;
/// assert_eq!(npy::read_scalar::<i64>(&path)?, 7);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), npy::NpyError>(())
/// ```
pub fn read_scalar<T: Element>(path: impl AsRef<Path>) -> Result<T, NpyError> {
    Ok(read::<T>(path, &[0])?.data[0])
}

/// Writes `array` to the `.npy` file `path` (replacing it), little-endian, C order, with the
/// dtype of `T` (see the module docs).
///
/// # Errors
/// [`NpyError::Write`] naming `path` if the file cannot be created or written.
///
/// # Panics
/// If `array.data.len()` is not the product of `array.shape` (impossible for arrays made
/// with [`Array::new`] and not modified since).
///
/// # Examples
/// ```
/// use muse::npy::{self, Array};
/// use num_complex::Complex;
/// let path = std::env::temp_dir().join(format!("muse-write-doc-{}.npy", std::process::id()));
/// let g = Array::new(vec![2], vec![Complex::new(1.0_f64, -1.0), Complex::new(0.0, 2.0)]);
/// npy::write(&path, &g)?;
/// assert_eq!(npy::read::<Complex<f64>>(&path, &[1])?, g);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), npy::NpyError>(())
/// ```
pub fn write<T: Element>(path: impl AsRef<Path>, array: &Array<T>) -> Result<(), NpyError> {
    let path = path.as_ref();
    let at = Source::file(path);
    let werr = |err| NpyError::Write {
        at: at.clone(),
        err,
    };
    let file = File::create(path).map_err(werr)?;
    let mut w = BufWriter::new(file);
    write_to(&mut w, array).map_err(werr)?;
    w.flush().map_err(werr)
}

fn write_to<T: Element, W: Write>(w: W, array: &Array<T>) -> io::Result<()> {
    let len: usize = array.shape.iter().product();
    assert_eq!(len, array.data.len(), "npy::write: shape/data mismatch");
    let shape: Vec<u64> = array.shape.iter().map(|&d| d as u64).collect();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(w)
        .begin_nd()?;
    writer.extend(array.data.iter().copied())?;
    writer.finish()
}

/// An `.npz` archive opened for reading members by name.
///
/// # Examples
/// ```
/// use muse::npy::{self, Array, NpzReader, NpzWriter};
/// let path = std::env::temp_dir().join(format!("muse-npz-doc-{}.npz", std::process::id()));
/// let mut w = NpzWriter::create(&path)?;
/// w.add("x", &Array::new(vec![2], vec![1.0_f64, 2.0]))?;
/// w.add("steps", &Array::scalar(100_i64))?;
/// w.finish()?;
///
/// let mut r = NpzReader::open(&path)?;
/// assert_eq!(r.names(), ["steps", "x"]);
/// assert_eq!(r.read::<f32>("x", &[1])?.data, [1.0, 2.0]);
/// assert_eq!(r.read_scalar::<i64>("steps")?, 100);
/// let err = r.read::<f64>("y", &[1]).unwrap_err();
/// assert!(err.to_string().contains("member `y`"));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), npy::NpyError>(())
/// ```
pub struct NpzReader {
    path: PathBuf,
    archive: npyz::npz::NpzArchive<BufReader<File>>,
}

impl NpzReader {
    /// Opens the archive `path`.
    ///
    /// # Errors
    /// [`NpyError::Open`] if it cannot be read, [`NpyError::NotNpz`] if it is not a zip archive.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, NpyError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|err| NpyError::Open {
            at: Source::file(&path),
            err,
        })?;
        let archive =
            npyz::npz::NpzArchive::new(BufReader::new(file)).map_err(|e| NpyError::NotNpz {
                at: Source::file(&path),
                detail: e.to_string(),
            })?;
        Ok(NpzReader { path, archive })
    }

    /// The names of the arrays in the archive, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.archive.array_names().map(String::from).collect();
        names.sort();
        names
    }

    /// Reads member `name` as an array of `T`, accepting only the ranks in `ranks`.
    ///
    /// # Errors
    /// As [`read`], naming the archive and the member; [`NpyError::MissingMember`] if there is
    /// no such member.
    pub fn read<T: Element>(&mut self, name: &str, ranks: &[usize]) -> Result<Array<T>, NpyError> {
        let at = Source::member(&self.path, name);
        let file_name = npyz::npz::file_name_from_array_name(name);
        let names = self.names();
        if !names.iter().any(|n| n == name) {
            return Err(NpyError::MissingMember {
                at,
                available: names.join(", "),
            });
        }
        let bytes = {
            let mut member = self
                .archive
                .zip_archive()
                .by_name(&file_name)
                .map_err(|e| NpyError::NotNpz {
                    at: at.clone(),
                    detail: e.to_string(),
                })?;
            let mut bytes = Vec::with_capacity(member.size() as usize);
            member
                .read_to_end(&mut bytes)
                .map_err(|e| NpyError::NotNpz {
                    at: at.clone(),
                    detail: format!("cannot extract the member: {e}"),
                })?;
            bytes
        };
        parse(&at, &bytes, ranks)
    }

    /// Reads the 0-d member `name` (NumPy shape `()`).
    ///
    /// # Errors
    /// As [`NpzReader::read`]; any other shape is [`NpyError::Shape`].
    pub fn read_scalar<T: Element>(&mut self, name: &str) -> Result<T, NpyError> {
        Ok(self.read::<T>(name, &[0])?.data[0])
    }
}

/// An `.npz` archive being written, one named array at a time (stored uncompressed, as
/// `np.savez` does). Call [`NpzWriter::finish`] at the end.
///
/// # Examples
/// See [`NpzReader`].
pub struct NpzWriter {
    path: PathBuf,
    inner: npyz::npz::NpzWriter<BufWriter<File>>,
}

impl NpzWriter {
    /// Creates (or truncates) the archive `path`.
    ///
    /// # Errors
    /// [`NpyError::Write`] if the file cannot be created.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, NpyError> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path).map_err(|err| NpyError::Write {
            at: Source::file(&path),
            err,
        })?;
        Ok(NpzWriter {
            inner: npyz::npz::NpzWriter::new(BufWriter::new(file)),
            path,
        })
    }

    /// Adds `array` as member `name`.
    ///
    /// # Errors
    /// [`NpyError::Write`] naming the archive and member.
    ///
    /// # Panics
    /// As [`write()`].
    pub fn add<T: Element>(&mut self, name: &str, array: &Array<T>) -> Result<(), NpyError> {
        let bytes = (array.data.len() as u64).saturating_mul(std::mem::size_of::<T>() as u64);
        let options = npyz::zip::write::FileOptions::default()
            .compression_method(npyz::zip::CompressionMethod::Stored)
            .large_file(bytes >= 0xFFFF_0000);
        let builder = self
            .inner
            .array::<T>(name, options)
            .map_err(|err| NpyError::Write {
                at: Source::member(&self.path, name),
                err,
            })?;
        let len: usize = array.shape.iter().product();
        assert_eq!(len, array.data.len(), "NpzWriter::add: shape/data mismatch");
        let shape: Vec<u64> = array.shape.iter().map(|&d| d as u64).collect();
        let res = (|| {
            let mut w = builder.default_dtype().shape(&shape).begin_nd()?;
            w.extend(array.data.iter().copied())?;
            w.finish()
        })();
        res.map_err(|err| NpyError::Write {
            at: Source::member(&self.path, name),
            err,
        })
    }

    /// Writes the archive's directory and flushes the file.
    ///
    /// # Errors
    /// [`NpyError::Write`] naming the archive.
    pub fn finish(mut self) -> Result<(), NpyError> {
        let at = Source::file(&self.path);
        let w = self
            .inner
            .zip_writer()
            .finish()
            .map_err(|e| NpyError::Write {
                at: at.clone(),
                err: invalid(e),
            })?;
        let mut w = w;
        w.flush().map_err(|err| NpyError::Write { at, err })
    }
}

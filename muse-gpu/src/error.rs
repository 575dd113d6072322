//! The GPU layer's error type (a thiserror enum with `#[from]` on the driver error, as in
//! candle's `cuda_backend/error.rs`).

use muse_core::resolvent::ResolventError;

/// Everything that can go wrong in muse-gpu. Nothing here panics or traps: bad input and
/// numeric failures inside kernels come back as values.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No CUDA driver library (`libcuda.so`) could be loaded on this machine.
    #[error("no CUDA driver found (libcuda.so could not be loaded)")]
    NoDriver,
    /// The driver loaded but reports no usable device.
    #[error("no CUDA device available: {0}")]
    NoDevice(String),
    /// The embedded PTX could not be loaded (e.g. a driver too old for the PTX ISA).
    #[error("loading the PTX module failed: {0}")]
    PtxLoad(cudarc::driver::DriverError),
    /// A kernel entry point is missing from the module.
    #[error("kernel `{name}` not found in the PTX module: {source}")]
    MissingKernel {
        /// The symbol looked up.
        name: String,
        /// The driver's answer.
        source: cudarc::driver::DriverError,
    },
    /// A buffer has the wrong length for the other arguments.
    #[error("length mismatch: `{arg}` has length {found}, expected {expected}")]
    LengthMismatch {
        /// Which buffer.
        arg: &'static str,
        /// The length required by the other arguments.
        expected: usize,
        /// The length passed.
        found: usize,
    },
    /// The problem does not fit the kernels' limits (rows or row length).
    #[error("problem too large: {0}")]
    TooLarge(String),
    /// Device memory is insufficient for the request.
    #[error("out of GPU memory: requested {requested} bytes, {free} bytes free")]
    OutOfMemory {
        /// Bytes requested by this allocation.
        requested: usize,
        /// Bytes free on the device when asked (`cuMemGetInfo`).
        free: usize,
    },
    /// A numeric failure inside a kernel (non-finite input, singular minor, overflow), or an
    /// invalid shift found by the host before launch.
    #[error(transparent)]
    Kernel(#[from] ResolventError),
    /// Bad input or a numeric failure of the Hamiltonian/Leapfrog/adjoint (muse-core's
    /// [`OdeError`](muse_core::hamiltonian::OdeError)).
    #[error(transparent)]
    Ode(#[from] muse_core::hamiltonian::OdeError),
    /// The operation is not available on the GPU.
    #[error("not supported on the GPU: {0}")]
    Unsupported(&'static str),
    /// cuBLAS could not be loaded or failed.
    #[error("cuBLAS: {0}")]
    Blas(String),
    /// Any other driver error (launch failure, invalid value, ...).
    #[error("CUDA driver error: {0}")]
    Driver(#[from] cudarc::driver::DriverError),
}

/// `Result` with [`GpuError`].
pub type Result<T> = std::result::Result<T, GpuError>;

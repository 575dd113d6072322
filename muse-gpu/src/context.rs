//! The GPU context: driver detection, the loaded PTX module, one stream, and a device-memory
//! tracker.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cudarc::driver::sys::{self, CUresult};
use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DeviceRepr};
use cudarc::driver::{DriverError, ValidAsZeroBits};

use crate::error::{GpuError, Result};

/// Whether the CUDA driver library can be loaded here (no panic, no context created).
pub fn driver_present() -> bool {
    // SAFETY: `is_culib_present` only dlopen()s libcuda and reports whether that worked.
    unsafe { sys::is_culib_present() }
}

/// Bytes allocated through muse-gpu: now and at the peak since creation (or the last
/// [`MemoryTracker::reset_peak`]).
#[derive(Debug, Default)]
pub struct MemoryTracker {
    current: AtomicUsize,
    peak: AtomicUsize,
}

impl MemoryTracker {
    fn add(&self, bytes: usize) {
        let now = self.current.fetch_add(bytes, Ordering::SeqCst) + bytes;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }
    fn sub(&self, bytes: usize) {
        self.current.fetch_sub(bytes, Ordering::SeqCst);
    }
    /// Bytes currently allocated through muse-gpu.
    pub fn current_bytes(&self) -> usize {
        self.current.load(Ordering::SeqCst)
    }
    /// Largest number of bytes allocated at once through muse-gpu.
    pub fn peak_bytes(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
    /// Restarts the peak from the current allocation.
    pub fn reset_peak(&self) {
        self.peak.store(self.current_bytes(), Ordering::SeqCst);
    }
}

/// A snapshot of device memory: ours (tracked) and the device's (`cuMemGetInfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryReport {
    /// Bytes allocated through muse-gpu now.
    pub current_bytes: usize,
    /// Peak bytes allocated through muse-gpu.
    pub peak_bytes: usize,
    /// Free device memory, as the driver reports it.
    pub device_free_bytes: usize,
    /// Total device memory.
    pub device_total_bytes: usize,
}

/// A device buffer allocated through [`Gpu::alloc`]: counted by the memory tracker while it
/// lives. Dereferences to cudarc's [`CudaSlice`].
#[derive(Debug)]
pub struct DeviceBuffer<T> {
    slice: CudaSlice<T>,
    len: usize,
    bytes: usize,
    tracker: Arc<MemoryTracker>,
}

impl<T> DeviceBuffer<T> {
    /// Number of elements (a zero-length buffer holds one unused placeholder element on the
    /// device, so that kernels never see a null pointer).
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether the buffer has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> std::ops::Deref for DeviceBuffer<T> {
    type Target = CudaSlice<T>;
    fn deref(&self) -> &CudaSlice<T> {
        &self.slice
    }
}

impl<T> std::ops::DerefMut for DeviceBuffer<T> {
    fn deref_mut(&mut self) -> &mut CudaSlice<T> {
        &mut self.slice
    }
}

impl<T> Drop for DeviceBuffer<T> {
    fn drop(&mut self) {
        self.tracker.sub(self.bytes);
    }
}

/// A CUDA context with MUSE's kernels loaded.
///
/// ```no_run
/// # fn main() -> Result<(), muse_gpu::GpuError> {
/// let gpu = muse_gpu::Gpu::new(0)?; // Err(GpuError::NoDriver) on a machine without CUDA
/// println!("{}", gpu.device_name());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    module: Arc<CudaModule>,
    functions: Mutex<HashMap<&'static str, CudaFunction>>,
    tracker: Arc<MemoryTracker>,
    name: String,
    sm_count: usize,
    max_shared: usize,
}

impl Gpu {
    /// Opens device `ordinal` and loads the embedded PTX (sm_90 on compute capability ≥ 9,
    /// else sm_70).
    ///
    /// # Errors
    /// [`GpuError::NoDriver`] when libcuda cannot be loaded, [`GpuError::NoDevice`] when the
    /// device cannot be opened, [`GpuError::PtxLoad`] when the module does not load.
    pub fn new(ordinal: usize) -> Result<Self> {
        Self::open(ordinal, None)
    }

    /// Like [`Gpu::new`] with another PTX text than the embedded one (experiments with
    /// rebuilt kernels; tests of bad PTX).
    ///
    /// # Errors
    /// As [`Gpu::new`].
    pub fn with_module(ordinal: usize, ptx: &str) -> Result<Self> {
        Self::open(ordinal, Some(ptx))
    }

    fn open(ordinal: usize, ptx: Option<&str>) -> Result<Self> {
        if !driver_present() {
            return Err(GpuError::NoDriver);
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| GpuError::NoDevice(e.to_string()))?;
        // One stream, owned by us: no cross-stream event tracking needed (it would add two
        // event records to every launch).
        // SAFETY: all our work goes to the single stream created below.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.new_stream()?;
        let (major, _) = ctx.compute_capability()?;
        match ptx {
            Some(p) => Self::with_ptx(ctx, stream, p),
            // The sm_90 module needs PTX ISA 8.3 (a driver of CUDA 12.3 or later); an older
            // driver rejects it, and gets the portable module (no sm_90-only kernels: `Auto`
            // then schedules without them).
            None if major >= 9 => Self::with_ptx(ctx.clone(), stream.clone(), crate::PTX_SM90)
                .or_else(|_| Self::with_ptx(ctx, stream, crate::PTX_SM70)),
            None => Self::with_ptx(ctx, stream, crate::PTX_SM70),
        }
    }

    /// Like [`Gpu::new`] on an existing context, with the given PTX text (tests use it to
    /// check that bad PTX is an error, not a crash).
    ///
    /// # Errors
    /// [`GpuError::PtxLoad`] when the driver rejects the PTX.
    pub fn with_ptx(ctx: Arc<CudaContext>, stream: Arc<CudaStream>, ptx: &str) -> Result<Self> {
        if ptx.contains('\0') {
            // cudarc hands the text to the driver as a C string (and panics on a NUL byte).
            return Err(GpuError::PtxLoad(DriverError(
                CUresult::CUDA_ERROR_INVALID_PTX,
            )));
        }
        let module = ctx
            .load_module(cudarc::nvrtc::Ptx::from_src(ptx))
            .map_err(GpuError::PtxLoad)?;
        let name = ctx.name()?;
        let sm_count = ctx
            .attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?
            as usize;
        let max_shared = ctx
            .attribute(
                sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
            )?
            .max(0) as usize;
        Ok(Gpu {
            ctx,
            stream,
            module,
            functions: Mutex::new(HashMap::new()),
            tracker: Arc::new(MemoryTracker::default()),
            name,
            sm_count,
            max_shared,
        })
    }

    /// The underlying cudarc context.
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The stream all muse-gpu work is queued on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The device's name (e.g. "NVIDIA H100 80GB HBM3").
    pub fn device_name(&self) -> &str {
        &self.name
    }

    /// Number of streaming multiprocessors.
    pub fn sm_count(&self) -> usize {
        self.sm_count
    }

    /// The most dynamic shared memory one block may use (bytes, after opting in).
    pub fn max_shared_bytes(&self) -> usize {
        self.max_shared
    }

    /// The memory tracker of this context.
    pub fn tracker(&self) -> &MemoryTracker {
        &self.tracker
    }

    /// Our allocations and the device's free/total memory.
    ///
    /// # Errors
    /// A driver error from `cuMemGetInfo`.
    pub fn memory(&self) -> Result<MemoryReport> {
        let (free, total) = self.ctx.mem_get_info()?;
        Ok(MemoryReport {
            current_bytes: self.tracker.current_bytes(),
            peak_bytes: self.tracker.peak_bytes(),
            device_free_bytes: free,
            device_total_bytes: total,
        })
    }

    /// A kernel of the module, looked up once and cached.
    pub(crate) fn function(&self, name: &'static str) -> Result<CudaFunction> {
        let mut f = self.functions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(func) = f.get(name) {
            return Ok(func.clone());
        }
        let func = self
            .module
            .load_function(name)
            .map_err(|source| GpuError::MissingKernel {
                name: name.to_string(),
                source,
            })?;
        f.insert(name, func.clone());
        Ok(func)
    }

    fn check_free(&self, bytes: usize) -> Result<()> {
        let (free, _) = self.ctx.mem_get_info()?;
        if bytes > free {
            return Err(GpuError::OutOfMemory {
                requested: bytes,
                free,
            });
        }
        Ok(())
    }

    fn track<T>(
        &self,
        r: std::result::Result<CudaSlice<T>, DriverError>,
        len: usize,
    ) -> Result<DeviceBuffer<T>> {
        let slice = r.map_err(|e| oom_or(e, len * std::mem::size_of::<T>()))?;
        let bytes = slice.num_bytes();
        self.tracker.add(bytes);
        Ok(DeviceBuffer {
            slice,
            len,
            bytes,
            tracker: self.tracker.clone(),
        })
    }

    /// Allocates `len` zeroed elements, counted by the tracker.
    ///
    /// # Errors
    /// [`GpuError::OutOfMemory`] when the device has too little free memory (checked with
    /// `cuMemGetInfo` first, and mapped from `CUDA_ERROR_OUT_OF_MEMORY`).
    pub fn alloc<T: DeviceRepr + ValidAsZeroBits>(&self, len: usize) -> Result<DeviceBuffer<T>> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .ok_or_else(|| GpuError::TooLarge(format!("{len} elements overflow usize bytes")))?;
        self.check_free(bytes)?;
        self.track(self.stream.alloc_zeros::<T>(len.max(1)), len)
    }

    /// Copies a host slice to a new device buffer, counted by the tracker.
    ///
    /// # Errors
    /// As [`Gpu::alloc`].
    pub fn upload<T: DeviceRepr>(&self, host: &[T]) -> Result<DeviceBuffer<T>> {
        let bytes = std::mem::size_of_val(host);
        self.check_free(bytes)?;
        if host.is_empty() {
            // SAFETY: a one-element placeholder that no kernel reads (length-0 rows).
            return self.track(unsafe { self.stream.alloc::<T>(1) }, 0);
        }
        self.track(self.stream.clone_htod(host), host.len())
    }

    /// Copies a device buffer back to the host (synchronising the stream).
    ///
    /// # Errors
    /// A driver error (e.g. a failed kernel earlier on the stream).
    pub fn download<T: DeviceRepr>(&self, dev: &CudaSlice<T>) -> Result<Vec<T>> {
        Ok(self.stream.clone_dtoh(dev)?)
    }

    /// Waits for all queued work.
    ///
    /// # Errors
    /// A driver error from queued work.
    pub fn synchronize(&self) -> Result<()> {
        Ok(self.stream.synchronize()?)
    }
}

fn oom_or(e: DriverError, bytes: usize) -> GpuError {
    if e.0 == CUresult::CUDA_ERROR_OUT_OF_MEMORY {
        GpuError::OutOfMemory {
            requested: bytes,
            free: 0,
        }
    } else {
        GpuError::Driver(e)
    }
}

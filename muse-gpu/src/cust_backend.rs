//! A second host backend through `cust` 0.3.2 (Rust-CUDA's driver wrapper), behind the
//! opt-in feature `cust`: runs the same embedded PTX (the thread-per-system resolvent
//! kernel `resolvent_diag_rows_f32`) through cust instead of cudarc. cust links `-lcuda` at
//! build time, so building needs `CUDA_LIBRARY_PATH` pointing at a folder with
//! `lib64/libcuda.so` (the link-only stub of `shared/reference/rust-ptx-example/cuda-stub`),
//! and its binaries need the NVIDIA driver to start. Steps: `muse-gpu/NOTES.md`, "cust".

use cust::prelude::*;
use num_complex::Complex;

use crate::flag;

/// `g = diag (T − zI)⁻¹` for `rows` systems of order `n` (`a`: `rows × n`, `b`, `c`:
/// `rows × (n − 1)`), on device 0 through cust, with the thread-per-system kernel. Returns
/// the diagonals and the kernel's error-flag word (decode with [`flag::decode`]).
///
/// # Errors
/// cust's driver errors; `InvalidValue` for inconsistent lengths or `n = 0`.
pub fn resolvent_diag_rows(
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &[f32],
    z: Complex<f32>,
) -> cust::error::CudaResult<(Vec<Complex<f32>>, u64)> {
    use cust::error::CudaError;
    if n == 0 || a.is_empty() || a.len() % n != 0 {
        return Err(CudaError::InvalidValue);
    }
    let rows = a.len() / n;
    if b.len() != rows * (n - 1) || c.len() != rows * (n - 1) || rows >= flag::MAX_ROWS {
        return Err(CudaError::InvalidValue);
    }
    let _ctx = cust::quick_init()?;
    let major = Device::get_device(0)?
        .get_attribute(cust::device::DeviceAttribute::ComputeCapabilityMajor)?;
    let ptx = if major >= 9 {
        crate::PTX_SM90
    } else {
        crate::PTX_SM70
    };
    let module = Module::from_ptx(ptx, &[])?;
    let stream = Stream::new(StreamFlags::NON_BLOCKING, None)?;
    let da = DeviceBuffer::from_slice(a)?;
    // Zero-length b, c (n = 1): one unused element, never a null pointer.
    let pad = |v: &[f32]| {
        if v.is_empty() {
            vec![0.0f32]
        } else {
            v.to_vec()
        }
    };
    let db = DeviceBuffer::from_slice(&pad(b))?;
    let dc = DeviceBuffer::from_slice(&pad(c))?;
    let out = DeviceBuffer::from_slice(&vec![f32::NAN; 2 * rows * n])?;
    let scratch = DeviceBuffer::from_slice(&vec![0.0f32; 2 * rows * n])?;
    let fl = DeviceBuffer::from_slice(&[flag::NO_ERROR])?;
    let f = module.get_function("resolvent_diag_rows_f32")?;
    let block = 128u32;
    let grid = rows.div_ceil(block as usize) as u32;
    // SAFETY: the kernel's signature is (rows, n, a, b, c, zre, zim, out, scratch, flag)
    // (muse-gpu/kernels/src/resolvent.rs); a = rows·n, b = c = rows·(n − 1) (≥ 1 element),
    // out = scratch = 2·rows·n f32, flag = 1 word; threads ≥ rows, the extra ones return.
    unsafe {
        launch!(f<<<grid, block, 0, stream>>>(
            rows,
            n,
            da.as_device_ptr(),
            db.as_device_ptr(),
            dc.as_device_ptr(),
            z.re,
            z.im,
            out.as_device_ptr(),
            scratch.as_device_ptr(),
            fl.as_device_ptr()
        ))?;
    }
    stream.synchronize()?;
    let mut host = vec![0.0f32; 2 * rows * n];
    out.copy_to(&mut host[..])?;
    let mut w = [0u64];
    fl.copy_to(&mut w[..])?;
    let g = host
        .chunks_exact(2)
        .map(|p| Complex::new(p[0], p[1]))
        .collect();
    Ok((g, w[0]))
}

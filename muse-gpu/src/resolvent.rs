//! The resolvent on the GPU: `g = diag (T − zI)⁻¹`, the causal variant `1/r_i`, and their
//! exact VJPs, computed by muse-core's own functions compiled to PTX (f32 compute; f32 or
//! f16 storage). See `muse_core::resolvent` for the mathematics.
//!
//! Four kernels per forward operation (five for the diagonal):
//! - *tile* (`*_tile{8,16}_*`, [`Schedule::Tile`]): one thread block per system, thread `t`
//!   holding the elements `[t·L, (t+1)·L)` in registers (muse-core's
//!   [`tile`](muse_core::resolvent::tile) module: a `Tile`, its two normalised transfers,
//!   `Tile::diag` / `Tile::causal`). The block stages the row's `a` and `b·c` through shared
//!   memory and writes the outputs back the same way (consecutive addresses per warp), and
//!   asks L2 for the row it will meet two waves later; the transfers are scanned within each
//!   warp by shuffles and across warps through shared memory. Nothing is checked in the loops: a
//!   row whose finiteness accumulator is not zero (a non-finite input or pivot, an output
//!   that overflows f16) is recomputed by the block's thread 0 with muse-core's checked
//!   sequential function, which writes the values or reports the first failure. `L ∈ {8,
//!   16}`, `⌈n/L⌉` threads rounded up to a warp, so `n` up to `L` times the kernel's largest
//!   block (its registers decide; the parity tests run `n = 6000` with 8 and `n = 8192` with
//!   16);
//! - *split* (`resolvent_diag_split8_*`, [`Schedule::Split`], diagonal only): the tile
//!   scheme with each system spread over several blocks of a cooperative launch; each block
//!   publishes its segment's transfer products and waits for its row's other segments (flags
//!   set to a per-launch epoch), and the row's last block recomputes a row whose
//!   accumulator fired. Automatic for a few long rows (below);
//! - *stream* (`resolvent_diag_stream16_f32`, [`Schedule::Stream`], diagonal, f32 storage,
//!   compute capability 9.0, `n` a multiple of 512): the tile scheme (`L = 16`) in
//!   persistent blocks, as many as fit on the device, each looping over rows `g, g + G, …`.
//!   One thread has the bulk-copy engine (TMA) load the next row's `a`, `b`, `c` into shared
//!   memory while the block computes this one (an mbarrier counts the bytes in) and store
//!   each row's outputs from shared memory (tensor stores through a `CUtensorMap` of the
//!   output that the host encodes, 128-byte swizzling), so the loads and stores overlap the
//!   arithmetic and cost the threads no instructions; each thread reads its tile's `k = b·c`
//!   straight from the copied spans (16-byte reads, one uniform branch on the spans'
//!   alignment) and writes its outputs conflict-free in the swizzled layout, which the
//!   tensor store undoes. Automatic for large f32 batches of rows of `N ≥ 512` (below);
//! - *shared-memory block* (`*_smem_*`): one thread block per system; the block first copies
//!   the row's `a`, `b`, `c` into dynamic shared memory (coalesced, read once), then each
//!   thread reduces a chunk of the row (odd length, so a warp's accesses hit 32 different
//!   banks) to normalised 2×2 [`Transfer`](muse_core::resolvent::Transfer)s, the block scans
//!   them in shared memory and every thread finishes its chunk; the ratios `r`, `s` live in
//!   shared memory when there are no more systems than SMs, else in global scratch;
//! - *block* (global scratch): the same scheme without shared memory, for rows too long for
//!   it (f32: N ≳ 19 000 forward, ≳ 11 000 VJP on an H200's 227 KiB);
//! - *rows*: one thread per system running the sequential ratio recurrence.
//!
//! [`Schedule::Auto`] picks, for the diagonal, the split kernel with 4 segments per row for
//! rows of `N > 4096` when the batch leaves 4 SMs per row, the streaming kernel for f32
//! storage when the batch keeps two blocks on every SM and `N ≥ 512` is a multiple of 512
//! (where the sm_90 PTX is loaded), otherwise the tile kernel: with
//! `L = 16` for f32 storage when the batch keeps two blocks on every SM (`rows ≥ 2·SMs`,
//! `N ≥ 512`), with `L = 8` for fewer rows and f16 storage (`L = 16` for rows too long for
//! 8); for longer rows, and for the causal forward,
//! the shared-memory block
//! kernel below [`ROWS_THRESHOLD`] systems (the diagonal's at every batch size; the
//! thread-per-system kernels for the causal forward and the VJPs from [`ROWS_THRESHOLD`]
//! systems on): for no more systems than SMs with [`SMEM_CHUNK`] elements per thread, up to
//! the kernel's register limit; for more with [`BLOCK_CHUNK`] elements and at most
//! [`MAX_BATCH_THREADS`] threads. Measured on an H200 (f32, N = 4096, CUDA events after a
//! cache-flushing memset, median of 100; `muse-gpu/NOTES.md`, rounds 4 to 10): B = 16,
//! tile8 10.6 µs (split4 16.6 µs, shared-memory block 37.3 µs in round 8), and N = 8192:
//! split kernel (4 segments) 20.5 µs; B = 16384, stream 0.51 ms vs tile16 0.56 ms vs tile8 0.71 ms vs
//! shared-memory block 3.85 ms vs thread per system 6.31 ms; causal B = 16384: tile8
//! 0.48 ms, rows 2.93 ms, but the causal
//! tiles' worst row (3.7e-4 with tiles of 8) is above the 1e-4 bound, so Auto leaves them
//! out; VJP thread per system 21.6 ms vs 64-thread blocks 24.6 ms.
//!
//! The VJPs have the block kernels (muse-core's `chunked_vjp`: transfer scans for the ratios,
//! then affine-map scans for the adjoint recurrences) and the thread-per-system kernels
//! (muse-core's sequential O(N) VJP); the diagonal's VJP also has a tile kernel
//! (`resolvent_vjp_tile8_*`, muse-core's [`tile_vjp`](muse_core::resolvent::tile_vjp): the
//! forward tile scans, each tile's two transfers from one recurrence (`Tile::transfers`),
//! then each tile's two adjoint recurrences reduced to affine maps and
//! scanned by shuffles, the row staged in shared memory; a failing row is recomputed by the
//! checked sequential VJP), which [`Schedule::Auto`] picks for many rows with `n ≤ 4096`
//! (H200, N = 4096, f32, B = 16384: 2.63 ms vs 22.1 ms thread per system), and on compute
//! capability 9.0 its *cluster* form (`resolvent_vjp_cluster{4,8}[_tile4]_*`,
//! [`Schedule::Cluster`]): each row on a thread block cluster of 4 or 8 CTAs (distributed
//! shared memory: each CTA reads the other CTAs' warp totals with 16-byte remote loads after
//! a cluster barrier, and scans all the row's totals itself), which Auto picks for few rows
//! (`4·rows ≤ SMs`, `n ≥ 1024`; tiles of 4 for f32 up to `n = 4096`, of 8 up to 8192, f16
//! only beyond 4096). H200, B = 16, f32: N = 4096 18.1 µs (one block 24.5 µs, shared-memory
//! block 74.5 µs); N = 8192 22.1 µs (shared-memory block 282 µs). With tiles of 8 the
//! cluster kernels give the one-block kernel's bits.
//!
//! Two levels of API:
//! - host slices in, `Vec` out: [`diag`], [`causal`], [`vjp`], [`causal_vjp`];
//! - device buffers, queued without synchronising: [`launch_forward`], [`launch_vjp`], then
//!   [`Workspace::take_error`] to turn the kernels' error flag into a
//!   [`ResolventError`](muse_core::resolvent::ResolventError).
//!
//! Batches are row-major: `a` is `rows × n`, `b`, `c` are `rows × (n − 1)`, complex outputs
//! and cotangents are `rows × n` interleaved `(re, im)` pairs.
//!
//! ```no_run
//! # fn main() -> Result<(), muse_gpu::GpuError> {
//! use num_complex::Complex;
//! let gpu = muse_gpu::Gpu::new(0)?;
//! let (a, b, c) = (vec![2.0_f32, 2.0], vec![1.0_f32], vec![1.0_f32]);
//! let g = muse_gpu::resolvent::diag(&gpu, 2, &a, &b, &c, Complex::new(0.0, 1.0))?;
//! assert_eq!(g.len(), 2);
//! # Ok(()) }
//! ```

use core::mem::size_of;
use cudarc::driver::{DevicePtr, DeviceRepr, LaunchConfig, PushKernelArg, ValidAsZeroBits};
use muse_core::resolvent::check_shift;
use muse_core::scalar::Scalar;
use num_complex::Complex;

use crate::context::{DeviceBuffer, Gpu};
use crate::error::{GpuError, Result};
use crate::flag;

/// The kernels' shared-memory and scratch layouts: the kernel crate's own file, so host and
/// kernels size everything with the same functions.
#[path = "../kernels/src/layout.rs"]
mod layout;
use layout::{
    block_scratch, block_vjp_scratch, smem_forward_bytes, smem_vjp_bytes, split_flag_words,
    split_smem_bytes, stream_box_lines, stream_smem_bytes, tile_smem_bytes, tile_vjp_smem_bytes,
};

/// A storage type the kernels exist for (`f32`, `f16`); compute is always `f32`.
pub trait GpuScalar: Scalar<Real = f32> + DeviceRepr + ValidAsZeroBits {
    /// Index of the dtype in the kernel-name tables.
    #[doc(hidden)]
    const INDEX: usize;
}

impl GpuScalar for f32 {
    const INDEX: usize = 0;
}

impl GpuScalar for half::f16 {
    const INDEX: usize = 1;
}

/// Which forward operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `g_i = [(T − zI)⁻¹]_ii`.
    Diag,
    /// The causal resolvent `y_i = 1/r_i` (leading block).
    Causal,
}

/// Which kernel runs a forward operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Schedule {
    /// Block per system for few systems, thread per system for many (see the module docs).
    #[default]
    Auto,
    /// One block per system; `threads` per block (default: chosen from `n`).
    Block {
        /// Threads per block (1 ..= the kernel's limit), or `None` to choose.
        threads: Option<u32>,
    },
    /// One thread per system.
    Rows,
    /// One block per system, a register tile of `len` elements per thread ([`TILE_LENS`]);
    /// `⌈n/len⌉` threads rounded up to a whole warp, so `n ≤ len ×` the kernel's largest
    /// block (`n ≤ 1024·len`). The diagonal's VJP has tile kernels of 8 elements (`n ≤
    /// 4096`: 512 threads of 128 registers); the causal VJP treats it as
    /// [`Schedule::Auto`].
    Tile {
        /// Elements per thread: 8 or 16.
        len: u32,
    },
    /// The diagonal only: each system split over about `segs` thread blocks (SMs), tiles of
    /// 8 elements per thread, launched cooperatively (every block resident at once: the
    /// blocks of a row exchange their segments' transfers). An error when the grid cannot be
    /// resident at once. Faster than [`Schedule::Tile`] for a few long rows (H200, B = 16,
    /// N = 4096: 17.6 µs with 4 segments, 18.0 with 8, vs 20.4 µs), where
    /// [`Schedule::Auto`] picks 4 segments. The VJPs treat it as [`Schedule::Auto`].
    Split {
        /// Segments per system (≥ 1).
        segs: u32,
    },
    /// The diagonal's VJP only: each system on a thread block cluster of `ctas` CTAs (4 or 8;
    /// compute capability 9.0, the sm_90 PTX), each CTA holding `⌈n/ctas⌉` elements in
    /// register tiles of `len` and reading the other CTAs' scan totals from their shared
    /// memory (at most 32 warps per system: `n ≤ 1024·len`). An error where the kernels or
    /// clusters are missing. [`Schedule::Auto`] picks it for a few long rows. The forward
    /// operations and the causal VJP treat it as [`Schedule::Auto`].
    Cluster {
        /// CTAs per system: 4 or 8.
        ctas: u32,
        /// Elements per thread: 8, or 4 (f32 storage only).
        len: u32,
    },
    /// The diagonal only, f32 storage, compute capability 9.0 (the sm_90 PTX), `n` a multiple
    /// of 512 up to the shared memory's limit: persistent blocks (as many as fit on the
    /// device at once) each computing rows `g, g + G, …` in register tiles of 16, while the
    /// bulk-copy engine (TMA) loads the next row's inputs into shared memory and stores each
    /// row's outputs, so the memory traffic overlaps the arithmetic. An error where these
    /// conditions fail. [`Schedule::Auto`] picks it for large batches. Other operations treat
    /// it as [`Schedule::Auto`].
    Stream,
}

/// The streaming kernel (f32 storage, sm_90 only).
const FWD_STREAM: &str = "resolvent_diag_stream16_f32";

/// The tensor map of the streaming kernel's output `out` (`rows × n` complex f32 at the
/// device address `ptr`): `rows·n/16` lines of 32 f32 (128 bytes apart), boxes of
/// [`stream_box_lines`]`(n/16)` lines, 128-byte swizzling (the layout the kernel writes its
/// outputs in). Host code only (`cuTensorMapEncodeTiled` checks the arguments).
fn stream_tensor_map(
    ptr: cudarc::driver::sys::CUdeviceptr,
    rows: usize,
    n: usize,
) -> Result<cudarc::driver::sys::CUtensorMap> {
    use cudarc::driver::sys;
    let mut map = sys::CUtensorMap { opaque: [0; 16] };
    let dims: [u64; 2] = [32, (rows * n / 16) as u64];
    let strides: [u64; 1] = [128];
    let boxes: [u32; 2] = [32, stream_box_lines(n / 16) as u32];
    let steps: [u32; 2] = [1, 1];
    // SAFETY: `map` is a 64-byte aligned `CUtensorMap` (its type's alignment); the arrays have
    // the rank's lengths (strides: rank − 1); `ptr` is the output's device address (256-byte
    // aligned: a whole allocation), and the lines cover exactly its `8·rows·n` bytes.
    unsafe {
        sys::cuTensorMapEncodeTiled(
            &mut map,
            sys::CUtensorMapDataType::CU_TENSOR_MAP_DATA_TYPE_FLOAT32,
            2,
            ptr as *mut std::ffi::c_void,
            dims.as_ptr(),
            strides.as_ptr(),
            boxes.as_ptr(),
            steps.as_ptr(),
            sys::CUtensorMapInterleave::CU_TENSOR_MAP_INTERLEAVE_NONE,
            sys::CUtensorMapSwizzle::CU_TENSOR_MAP_SWIZZLE_128B,
            sys::CUtensorMapL2promotion::CU_TENSOR_MAP_L2_PROMOTION_NONE,
            sys::CUtensorMapFloatOOBfill::CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE,
        )
        .result()?;
    }
    Ok(map)
}

/// The split kernels: `[dtype]`.
const FWD_SPLIT: [&str; 2] = ["resolvent_diag_split8_f32", "resolvent_diag_split8_f16"];

/// The tile lengths the tile kernels are built for.
pub const TILE_LENS: [u32; 2] = [8, 16];

/// The tile kernels: `[len index][op][dtype]`, `op` 0 diag, 1 causal.
const FWD_TILE: [[[&str; 2]; 2]; 2] = [
    [
        ["resolvent_diag_tile8_f32", "resolvent_diag_tile8_f16"],
        ["causal_resolvent_tile8_f32", "causal_resolvent_tile8_f16"],
    ],
    [
        ["resolvent_diag_tile16_f32", "resolvent_diag_tile16_f16"],
        ["causal_resolvent_tile16_f32", "causal_resolvent_tile16_f16"],
    ],
];

/// The tile VJP kernels (the diagonal's VJP, tiles of 8): `[dtype]`.
const VJP_TILE: [&str; 2] = ["resolvent_vjp_tile8_f32", "resolvent_vjp_tile8_f16"];

/// The cluster VJP kernels (sm_90 only), tiles of 8: `[ctas 4, 8][dtype]`.
const VJP_CLUSTER: [[&str; 2]; 2] = [
    ["resolvent_vjp_cluster4_f32", "resolvent_vjp_cluster4_f16"],
    ["resolvent_vjp_cluster8_f32", "resolvent_vjp_cluster8_f16"],
];

/// The cluster VJP kernels with tiles of 4 (f32 storage): `[ctas 4, 8]`.
const VJP_CLUSTER_TILE4: [&str; 2] = [
    "resolvent_vjp_cluster4_tile4_f32",
    "resolvent_vjp_cluster8_tile4_f32",
];

/// CTAs per system of the cluster VJP that [`Schedule::Auto`] picks for a few long rows.
pub const AUTO_VJP_CLUSTER: u32 = 4;

/// [`Schedule::Auto`] gives the diagonal's VJP a cluster per row from this order on, when
/// the batch leaves [`AUTO_VJP_CLUSTER`] SMs per row (H200, B = 16, f32, one block vs 4 CTAs
/// with tiles of 4, session 10 runs 5 and 7: N = 1024 17.2 vs 16.0 µs, N = 2048 19.7 vs 16.6,
/// N = 3072 22.1 vs 17.8, N = 4096 24.5 vs 18.3).
const CLUSTER_MIN_N: usize = 1024;

/// From this many systems on, [`Schedule::Auto`] uses the thread-per-system kernel.
pub const ROWS_THRESHOLD: usize = 4096;

/// Most threads per block [`Schedule::Auto`] gives the block kernel.
pub const MAX_AUTO_THREADS: u32 = 256;

/// Target chunk length per thread of the block kernel when `threads` is not given.
pub const BLOCK_CHUNK: usize = 8;

const FWD: [[&str; 2]; 4] = [
    ["resolvent_diag_block_f32", "resolvent_diag_block_f16"],
    ["resolvent_diag_rows_f32", "resolvent_diag_rows_f16"],
    ["causal_resolvent_block_f32", "causal_resolvent_block_f16"],
    ["causal_resolvent_rows_f32", "causal_resolvent_rows_f16"],
];
const VJP: [[&str; 2]; 4] = [
    ["resolvent_vjp_block_f32", "resolvent_vjp_block_f16"],
    ["resolvent_vjp_rows_f32", "resolvent_vjp_rows_f16"],
    [
        "causal_resolvent_vjp_block_f32",
        "causal_resolvent_vjp_block_f16",
    ],
    [
        "causal_resolvent_vjp_rows_f32",
        "causal_resolvent_vjp_rows_f16",
    ],
];
const ROWS_THREADS: u32 = 128;
/// The shared-memory block kernels: `[op][dtype]`, `op` 0 diag, 1 causal.
const FWD_SMEM: [[&str; 2]; 2] = [
    ["resolvent_diag_smem_f32", "resolvent_diag_smem_f16"],
    ["causal_resolvent_smem_f32", "causal_resolvent_smem_f16"],
];
const VJP_SMEM: [[&str; 2]; 2] = [
    ["resolvent_vjp_smem_f32", "resolvent_vjp_smem_f16"],
    [
        "causal_resolvent_vjp_smem_f32",
        "causal_resolvent_vjp_smem_f16",
    ],
];

/// Target chunk length per thread of the shared-memory block kernels when `threads` is not
/// given (H200, B = 16: N = 256 takes 22.6 µs with 32 threads, 14.1 µs with 128).
pub const SMEM_CHUNK: usize = 2;

/// Most threads per block [`Schedule::Auto`] gives the shared-memory kernels for more
/// systems than SMs (H200, B = 16384, N = 4096: 512 threads 5.3 ms, 256 threads 6.2 ms).
pub const MAX_BATCH_THREADS: u32 = 512;

/// A resolved launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Plan {
    name: &'static str,
    /// Threads per block (`None`: thread-per-system kernel).
    threads: Option<u32>,
    /// Shared-memory kernels: dynamic shared bytes, and whether `r`, `s` live there.
    smem: Option<(u32, bool)>,
    /// Tile kernels: dynamic shared bytes.
    tile: Option<u32>,
    /// Split kernels: segments per row and dynamic shared bytes.
    split: Option<(u32, u32)>,
    /// Cluster kernels: CTAs per row (with `tile`: their dynamic shared bytes).
    cluster: Option<u32>,
    /// Streaming kernel: blocks in the grid (with `tile`: their dynamic shared bytes).
    grid: Option<u32>,
}

/// The inputs of a batch of systems on the device.
#[derive(Clone, Copy, Debug)]
pub struct System<'a, S> {
    /// Order of each system (`n ≥ 1`).
    pub n: usize,
    /// Diagonals, `rows × n`.
    pub a: &'a DeviceBuffer<S>,
    /// Super-diagonals, `rows × (n − 1)`.
    pub b: &'a DeviceBuffer<S>,
    /// Sub-diagonals, `rows × (n − 1)`.
    pub c: &'a DeviceBuffer<S>,
    /// The shift.
    pub z: Complex<f32>,
}

fn mismatch(arg: &'static str, expected: usize, found: usize) -> GpuError {
    GpuError::LengthMismatch {
        arg,
        expected,
        found,
    }
}

fn check(arg: &'static str, expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(mismatch(arg, expected, found))
    }
}

/// Checks a batch's shape: `n ≥ 1`, `a.len()` a positive multiple of `n`, `b`, `c` of
/// `rows × (n − 1)`, the kernels' limits and a finite shift. Returns `rows`.
fn check_shape(n: usize, a: usize, b: usize, c: usize, z: Complex<f32>) -> Result<usize> {
    if n == 0 {
        return Err(mismatch("n", 1, 0));
    }
    if a == 0 || a % n != 0 {
        return Err(mismatch("a", n * (a / n).max(1), a));
    }
    let rows = a / n;
    check("b", rows * (n - 1), b)?;
    check("c", rows * (n - 1), c)?;
    if rows >= flag::MAX_ROWS || n >= flag::MAX_INDEX || rows > i32::MAX as usize {
        return Err(GpuError::TooLarge(format!(
            "{rows} rows of {n}: the kernels handle < {} rows and < {} elements per row",
            flag::MAX_ROWS,
            flag::MAX_INDEX
        )));
    }
    check_shift(z)?;
    Ok(rows)
}

impl<S> System<'_, S> {
    /// Validates the shapes and the shift; returns the number of rows.
    ///
    /// # Errors
    /// [`GpuError::LengthMismatch`], [`GpuError::TooLarge`], or [`GpuError::Kernel`] with a
    /// non-finite `z`.
    pub fn rows(&self) -> Result<usize> {
        check_shape(self.n, self.a.len(), self.b.len(), self.c.len(), self.z)
    }
}

/// Scratch memory and the error-flag word for the kernels; reusable across calls.
#[derive(Debug)]
pub struct Workspace {
    scratch: Option<DeviceBuffer<f32>>,
    flag: DeviceBuffer<u64>,
    /// Split kernels: published transfers (16 f32 per segment), synchronisation words
    /// (zeroed; `split_flag_words(segs)` per row), and the launch counter the flags are set to.
    split_pub: Option<DeviceBuffer<f32>>,
    split_sync: Option<DeviceBuffer<u32>>,
    epoch: u32,
    /// Streaming kernel: its tensor map in device memory (128 bytes), and the output
    /// address, rows and order it was encoded for (uploaded again when they change).
    stream_map: Option<DeviceBuffer<u64>>,
    stream_map_key: Option<(u64, usize, usize)>,
}

impl Workspace {
    /// A workspace with no scratch yet (it grows on demand) and a cleared error flag.
    ///
    /// # Errors
    /// Allocation or copy errors.
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Ok(Workspace {
            scratch: None,
            flag: gpu.upload(&[flag::NO_ERROR])?,
            split_pub: None,
            split_sync: None,
            epoch: 0,
            stream_map: None,
            stream_map_key: None,
        })
    }

    /// Waits for the queued kernels, reads the error flag and clears it.
    ///
    /// # Errors
    /// [`GpuError::Kernel`] with the first numeric failure the kernels reported since the
    /// last call (by kind, then row, then index), or a driver error.
    pub fn take_error(&mut self, gpu: &Gpu) -> Result<()> {
        let v = gpu.download(&self.flag)?;
        if v[0] == flag::NO_ERROR {
            return Ok(());
        }
        gpu.stream()
            .memcpy_htod(&[flag::NO_ERROR], &mut *self.flag)?;
        Err(GpuError::Kernel(
            flag::decode(v[0]).expect("not NO_ERROR, so decodes"),
        ))
    }
}

fn ensure_scratch<'a>(
    slot: &'a mut Option<DeviceBuffer<f32>>,
    gpu: &Gpu,
    len: usize,
) -> Result<&'a mut DeviceBuffer<f32>> {
    let len = len.max(1);
    if slot.as_ref().is_none_or(|s| s.len() < len) {
        *slot = None; // free the old one first
        *slot = Some(gpu.alloc::<f32>(len)?);
    }
    Ok(slot.as_mut().expect("just allocated"))
}

/// The kernel and threads per block [`launch_forward`] would use.
///
/// # Errors
/// [`GpuError::TooLarge`] for a thread count the kernel cannot launch, or a driver error.
pub fn resolve_schedule<S: GpuScalar>(
    gpu: &Gpu,
    op: Op,
    rows: usize,
    n: usize,
    schedule: Schedule,
) -> Result<(&'static str, Option<u32>)> {
    let p = pick(gpu, false, op, S::INDEX, size_of::<S>(), rows, n, schedule)?;
    Ok((p.name, p.threads))
}

/// The kernel and threads per block [`launch_vjp`] would use.
///
/// # Errors
/// As [`resolve_schedule`].
pub fn resolve_vjp_schedule<S: GpuScalar>(
    gpu: &Gpu,
    op: Op,
    rows: usize,
    n: usize,
    schedule: Schedule,
) -> Result<(&'static str, Option<u32>)> {
    let p = pick(gpu, true, op, S::INDEX, size_of::<S>(), rows, n, schedule)?;
    Ok((p.name, p.threads))
}

#[allow(clippy::too_many_arguments)]
fn pick(
    gpu: &Gpu,
    vjp: bool,
    op: Op,
    dtype: usize,
    elem: usize,
    rows: usize,
    n: usize,
    schedule: Schedule,
) -> Result<Plan> {
    let table = if vjp { &VJP } else { &FWD };
    let schedule = match schedule {
        Schedule::Tile { len } if !vjp => return pick_tile(gpu, op, dtype, n, len),
        Schedule::Tile { len } if op == Op::Diag => return pick_tile_vjp(gpu, dtype, n, len),
        Schedule::Split { segs } if !vjp => return pick_split(gpu, op, dtype, rows, n, segs),
        Schedule::Cluster { ctas, len } if vjp && op == Op::Diag => {
            return pick_cluster_vjp(gpu, dtype, n, ctas, len)
        }
        Schedule::Stream if !vjp && op == Op::Diag => return pick_stream(gpu, dtype, rows, n),
        Schedule::Tile { .. }
        | Schedule::Split { .. }
        | Schedule::Cluster { .. }
        | Schedule::Stream => Schedule::Auto,
        s => s,
    };
    if schedule == Schedule::Auto && !vjp && op == Op::Diag {
        // The diagonal. A few long rows (N > 4096, at most one row per 4 SMs): each row split
        // over 4 SMs. Up to N = 4096 one block per row is faster (H200, round 8: B = 16,
        // N = 4096 tile8 15.3 µs vs split4 16.6 µs; N = 2048 13.9 vs 15.8). Otherwise tiles:
        // of 16 for f32 storage when the batch keeps two blocks on every SM and a row fills
        // a warp of them (half the warp scans per element: H200, session 9, N = 4096,
        // B = 16384: tile16 558 µs vs tile8 709 µs), of 8 for fewer rows (the shorter chains
        // per thread: B = 16 tile8 10.6 µs) and f16 storage, of 16 for rows too long for 8,
        // the block kernels beyond. Not the causal variant: its tile kernels are faster too
        // but their worst row is above the 1e-4 bound (3.7e-4 at B = 16384).
        if n >= SPLIT_MIN_N && rows * SPLIT_SEGS as usize <= gpu.sm_count() {
            if let Ok(p) = pick_split(gpu, op, dtype, rows, n, SPLIT_SEGS) {
                return Ok(p);
            }
        }
        let many = dtype == 0 && rows >= 2 * gpu.sm_count() && n >= 16 * 32;
        // Large f32 batches of rows of at least `STREAM_MIN_N` (a multiple of 512): the
        // streaming kernel (sm_90), where it exists.
        if many && n >= STREAM_MIN_N && n % 512 == 0 {
            if let Ok(p) = pick_stream(gpu, dtype, rows, n) {
                return Ok(p);
            }
        }
        let lens = if many { [16, 8] } else { [8, 16] };
        for len in lens {
            if let Ok(p) = pick_tile(gpu, op, dtype, n, len) {
                return Ok(p);
            }
        }
    }
    if schedule == Schedule::Auto && vjp && op == Op::Diag {
        // The diagonal's VJP: a few long rows on a cluster of SMs each (sm_90; measured in
        // `muse-gpu/NOTES.md`, round 11), else tiles of 8 where the row fits one block
        // (n ≤ 4096), at every batch size (round 7).
        // f32 storage: tiles of 4 (the shorter chains per thread), of 8 beyond n = 4096; f16
        // storage only beyond n = 4096, where one block cannot hold the row (H200, B = 16,
        // N = 4096: the f16 tile kernel 36.0 µs, 4 CTAs 36.9 µs).
        if n >= CLUSTER_MIN_N && rows * AUTO_VJP_CLUSTER as usize <= gpu.sm_count() {
            let lens: &[u32] = match (dtype, n > 4096) {
                (0, _) => &[4, 8],
                (_, true) => &[8],
                (_, false) => &[],
            };
            for &len in lens {
                if let Ok(p) = pick_cluster_vjp(gpu, dtype, n, AUTO_VJP_CLUSTER, len) {
                    return Ok(p);
                }
            }
        }
        if let Ok(p) = pick_tile_vjp(gpu, dtype, n, 8) {
            return Ok(p);
        }
    }
    let block = match schedule {
        // The diagonal's shared-memory block kernel beats the thread-per-system one at every
        // measured batch size (H200, N = 4096, B = 16384: 5.3 vs 6.4 ms, worst row 3.0e-5).
        // The causal one is faster too (2.5 vs 3.0 ms) but its worst row (1.3e-4) misses
        // the 1e-4 bound, and the VJPs are slower (25 vs 22 ms): thread per system there.
        Schedule::Auto => rows < ROWS_THRESHOLD || (!vjp && op == Op::Diag),
        Schedule::Block { .. } => true,
        Schedule::Rows
        | Schedule::Tile { .. }
        | Schedule::Split { .. }
        | Schedule::Cluster { .. }
        | Schedule::Stream => false,
    };
    let k = match (op, block) {
        (Op::Diag, true) => 0,
        (Op::Diag, false) => 1,
        (Op::Causal, true) => 2,
        (Op::Causal, false) => 3,
    };
    let name = table[k][dtype];
    if !block {
        return Ok(Plan {
            name,
            threads: None,
            smem: None,
            tile: None,
            split: None,
            cluster: None,
            grid: None,
        });
    }
    let requested = match schedule {
        Schedule::Block { threads: Some(t) } => Some(t),
        _ => None,
    };
    // 1. The shared-memory kernel, if the row fits.
    let sname = (if vjp { &VJP_SMEM } else { &FWD_SMEM })[k / 2][dtype];
    let smax = gpu.function(sname)?.max_threads_per_block()?.max(1) as u32;
    let limit = gpu.max_shared_bytes();
    let bytes = |t: u32, rs: bool| {
        let t = t as usize;
        if vjp {
            smem_vjp_bytes(n, t, elem, rs)
        } else {
            smem_forward_bytes(n, t, elem, rs)
        }
    };
    let threads = match requested {
        Some(t) => (t >= 1 && t <= smax).then_some(t),
        None => {
            // Few systems (one block per SM): chunks of `SMEM_CHUNK`, up to as many threads
            // as the kernel's registers allow (a multiple of 32). Many systems: chunks of
            // `BLOCK_CHUNK`, at most `MAX_BATCH_THREADS` (a power of two): the blocks already
            // fill the GPU, and the VJP's z̄ loses accuracy with chunks of ~3 elements
            // (H200, B = 300, N = 515, 512 threads: z̄ error 9× the CPU's).
            let (chunk, cap) = if rows <= gpu.sm_count() {
                (SMEM_CHUNK, (smax / 32).max(1) * 32)
            } else {
                (
                    BLOCK_CHUNK,
                    (1 << (31 - smax.leading_zeros())).min(MAX_BATCH_THREADS),
                )
            };
            let want = n.div_ceil(chunk).next_power_of_two().clamp(32, 1024) as u32;
            let mut t = want.min(cap).max(32.min(smax));
            while t > 32 && bytes(t, false) > limit {
                t = (t / 2).max(32);
            }
            Some(t)
        }
    };
    if let Some(t) = threads {
        // r, s in shared memory when every block has an SM of its own (then the memory
        // costs no occupancy), else in global scratch.
        let rs = rows <= gpu.sm_count() && bytes(t, true) <= limit;
        let b = bytes(t, rs);
        if b <= limit {
            return Ok(Plan {
                name: sname,
                threads: Some(t),
                smem: Some((b as u32, rs)),
                tile: None,
                split: None,
                cluster: None,
                grid: None,
            });
        }
    }
    // 2. The global-scratch block kernel.
    let max = gpu.function(name)?.max_threads_per_block()?.max(1) as u32;
    let threads = match requested {
        Some(t) => {
            if t == 0 || t > max {
                return Err(GpuError::TooLarge(format!(
                    "{t} threads per block: `{name}` allows 1..={max}"
                )));
            }
            t
        }
        None => {
            let max_pow2 = 1u32 << (31 - max.leading_zeros());
            let want = n.div_ceil(BLOCK_CHUNK).next_power_of_two().clamp(32, 1024) as u32;
            want.min(max_pow2).min(MAX_AUTO_THREADS)
        }
    };
    Ok(Plan {
        name,
        threads: Some(threads),
        smem: None,
        tile: None,
        split: None,
        cluster: None,
        grid: None,
    })
}

/// The tile kernel for `op` with tiles of `len`.
fn pick_tile(gpu: &Gpu, op: Op, dtype: usize, n: usize, len: u32) -> Result<Plan> {
    let li = TILE_LENS.iter().position(|&l| l == len).ok_or_else(|| {
        GpuError::TooLarge(format!(
            "tile length {len}: the tile kernels exist for {TILE_LENS:?}"
        ))
    })?;
    let causal = op == Op::Causal;
    tile_plan(
        gpu,
        FWD_TILE[li][usize::from(causal)][dtype],
        n,
        len,
        |threads| tile_smem_bytes(n, threads, len as usize, causal),
    )
}

/// The tile VJP kernel (the diagonal's VJP) with tiles of `len` (8 only).
fn pick_tile_vjp(gpu: &Gpu, dtype: usize, n: usize, len: u32) -> Result<Plan> {
    if len != 8 {
        return Err(GpuError::TooLarge(format!(
            "tile length {len}: the tile VJP kernels exist for 8"
        )));
    }
    tile_plan(gpu, VJP_TILE[dtype], n, len, |threads| {
        tile_vjp_smem_bytes(threads, len as usize)
    })
}

/// The cluster VJP kernel for rows of order `n` on `ctas` CTAs each with tiles of `len`:
/// `⌈n/(len·ctas)⌉` threads per CTA rounded up to a warp, at most 32 warps per row, [`tile_vjp_smem_bytes`] per CTA,
/// and a cluster the device can schedule (`cuOccupancyMaxActiveClusters`).
fn pick_cluster_vjp(gpu: &Gpu, dtype: usize, n: usize, ctas: u32, len: u32) -> Result<Plan> {
    let name = match (ctas, len, dtype) {
        (4, 8, _) => VJP_CLUSTER[0][dtype],
        (8, 8, _) => VJP_CLUSTER[1][dtype],
        (4, 4, 0) => VJP_CLUSTER_TILE4[0],
        (8, 4, 0) => VJP_CLUSTER_TILE4[1],
        _ => {
            return Err(GpuError::TooLarge(format!(
                "{ctas} CTAs per cluster, tiles of {len}: the cluster VJP kernels exist for 4 and \
                 8 CTAs with tiles of 8, and (f32 storage) of 4"
            )))
        }
    };
    let len = len as usize;
    // Missing from the portable (sm_70) PTX: `GpuError::MissingKernel`.
    let func = gpu.function(name)?;
    let max = func.max_threads_per_block()?.max(32) as usize / 32 * 32;
    let ctas = ctas as usize;
    let threads = n.div_ceil(len * ctas).div_ceil(32) * 32;
    let bytes = tile_vjp_smem_bytes(threads, len);
    // The row's warps: at most 32 (one lane each in the chains).
    if threads > max || threads * ctas > 1024 || bytes > gpu.max_shared_bytes() {
        return Err(GpuError::TooLarge(format!(
            "`{name}`: n = {n} needs {threads} threads per CTA × {ctas} (at most {max}, and \
             1024 per row) and {bytes} bytes of shared memory (at most {})",
            gpu.max_shared_bytes()
        )));
    }
    let cfg = smem_config(&func, ctas, threads as u32, bytes as u32)?;
    if func.occupancy_max_active_clusters(cfg, gpu.stream())? == 0 {
        return Err(GpuError::TooLarge(format!(
            "`{name}`: a cluster of {ctas} CTAs of {threads} threads and {bytes} bytes of \
             shared memory does not fit the device"
        )));
    }
    Ok(Plan {
        name,
        threads: Some(threads as u32),
        smem: None,
        tile: Some(bytes as u32),
        split: None,
        cluster: Some(ctas as u32),
        grid: None,
    })
}

/// The launch of the tile kernel `name` (tiles of `len`) for rows of order `n`: `⌈n/len⌉`
/// threads rounded up to a warp and `smem(threads)` bytes of dynamic shared memory, or
/// [`GpuError::TooLarge`] beyond the kernel's threads or the device's shared memory.
fn tile_plan(
    gpu: &Gpu,
    name: &'static str,
    n: usize,
    len: u32,
    smem: impl Fn(usize) -> usize,
) -> Result<Plan> {
    let max = gpu.function(name)?.max_threads_per_block()?.max(32) as usize / 32 * 32;
    let threads = n.div_ceil(len as usize).div_ceil(32) * 32;
    let bytes = smem(threads);
    if threads > max || bytes > gpu.max_shared_bytes() {
        return Err(GpuError::TooLarge(format!(
            "`{name}`: n = {n} needs {threads} threads and {bytes} bytes of shared memory \
             (at most {max} threads, {} bytes)",
            gpu.max_shared_bytes()
        )));
    }
    Ok(Plan {
        name,
        threads: Some(threads as u32),
        smem: None,
        tile: Some(bytes as u32),
        split: None,
        cluster: None,
        grid: None,
    })
}

/// [`Schedule::Auto`] streams rows of at least this order (a multiple of 512) when the batch
/// keeps two blocks on every SM. Tiles of 16 vs streaming, f32, B = 16384, H100, session 12
/// run 1 (the tile's `k` read straight from the spans): N = 512 79.3 vs 70.4 µs, 1024 141.1
/// vs 134.6, 2048 278.1 vs 245.5, 4096 782.1 vs 482.7; B = 600, N = 4096: 40.6 vs 33.5;
/// B = 8192, N = 8192: 953 vs 513. The same kernel on an H200 (session 13 run 2): N = 512
/// 71.8 vs 63.5 µs, 1024 133.7 vs 121.0. (H200, session 11 run 6, with `k` staged by a pass of
/// its own: N = 512 71.3 vs 74.5 µs, 1024 133.8 vs 143.3, so the streaming kernel took
/// N ≥ 2048 then.)
const STREAM_MIN_N: usize = 512;

/// The streaming kernel for `rows` systems of order `n` (f32 storage, `n` a multiple of 512):
/// `n/16` threads, [`stream_smem_bytes`], and as many blocks as fit on the device at once
/// (at most `rows`).
fn pick_stream(gpu: &Gpu, dtype: usize, rows: usize, n: usize) -> Result<Plan> {
    if dtype != 0 || n == 0 || n % 512 != 0 {
        return Err(GpuError::TooLarge(format!(
            "the streaming kernel needs f32 storage and n a multiple of 512 (n = {n})"
        )));
    }
    if rows.saturating_mul(n / 16) > i32::MAX as usize {
        // The tensor store's line coordinates are 32-bit signed.
        return Err(GpuError::TooLarge(format!(
            "the streaming kernel stores at most 2^31 lines of 16 outputs (rows = {rows}, n = {n})"
        )));
    }
    // Missing from the portable (sm_70) PTX: `GpuError::MissingKernel`.
    let func = gpu.function(FWD_STREAM)?;
    let max = func.max_threads_per_block()?.max(32) as usize / 32 * 32;
    let threads = n / 16;
    let bytes = stream_smem_bytes(n, threads);
    if threads > max || bytes > gpu.max_shared_bytes() {
        return Err(GpuError::TooLarge(format!(
            "`{FWD_STREAM}`: n = {n} needs {threads} threads and {bytes} bytes of shared memory \
             (at most {max} threads, {} bytes)",
            gpu.max_shared_bytes()
        )));
    }
    func.set_attribute(
        cudarc::driver::sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
        bytes as i32,
    )?;
    let per_sm =
        func.occupancy_max_active_blocks_per_multiprocessor(threads as u32, bytes, None)? as usize;
    let grid = rows.min(per_sm.max(1) * gpu.sm_count()).max(1);
    Ok(Plan {
        name: FWD_STREAM,
        threads: Some(threads as u32),
        smem: None,
        tile: Some(bytes as u32),
        split: None,
        cluster: None,
        grid: Some(grid as u32),
    })
}

/// [`Schedule::Auto`] splits rows of at least this order over [`SPLIT_SEGS`] SMs each, when
/// the batch leaves that many SMs per row.
const SPLIT_MIN_N: usize = 4097;
/// Segments per row of the automatic split schedule.
const SPLIT_SEGS: u32 = 4;

/// The split kernel for `rows` systems of order `n` in about `segs` segments each.
fn pick_split(gpu: &Gpu, op: Op, dtype: usize, rows: usize, n: usize, segs: u32) -> Result<Plan> {
    if op != Op::Diag {
        return Err(GpuError::TooLarge(
            "the split kernels exist for the diagonal only".into(),
        ));
    }
    if segs == 0 {
        return Err(GpuError::TooLarge("0 segments per system".into()));
    }
    let name = FWD_SPLIT[dtype];
    let func = gpu.function(name)?;
    let max = func.max_threads_per_block()?.max(32) as usize / 32 * 32;
    let threads = n.div_ceil(segs as usize).div_ceil(8).div_ceil(32) * 32;
    let segs = n.div_ceil(threads * 8).max(1);
    let bytes = split_smem_bytes(n, threads);
    if threads > max || bytes > gpu.max_shared_bytes() {
        return Err(GpuError::TooLarge(format!(
            "`{name}`: n = {n} in {segs} segments needs {threads} threads and {bytes} bytes of \
             shared memory (at most {max} threads, {} bytes)",
            gpu.max_shared_bytes()
        )));
    }
    func.set_attribute(
        cudarc::driver::sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
        bytes as i32,
    )?;
    let per_sm =
        func.occupancy_max_active_blocks_per_multiprocessor(threads as u32, bytes, None)? as usize;
    let grid = rows * segs;
    if grid > per_sm * gpu.sm_count() {
        return Err(GpuError::TooLarge(format!(
            "`{name}`: {rows} rows × {segs} segments = {grid} blocks cannot be resident at \
             once ({per_sm} per SM × {} SMs)",
            gpu.sm_count()
        )));
    }
    Ok(Plan {
        name,
        threads: Some(threads as u32),
        smem: None,
        tile: None,
        split: Some((segs as u32, bytes as u32)),
        cluster: None,
        grid: None,
    })
}

/// Dynamic shared memory: allows `bytes` for `func` and returns the launch configuration.
fn smem_config(
    func: &cudarc::driver::CudaFunction,
    rows: usize,
    threads: u32,
    bytes: u32,
) -> Result<LaunchConfig> {
    func.set_attribute(
        cudarc::driver::sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
        bytes as i32,
    )?;
    Ok(LaunchConfig {
        grid_dim: (rows as u32, 1, 1),
        block_dim: (threads, 1, 1),
        shared_mem_bytes: bytes,
    })
}

/// Queues a forward operation on a batch (no synchronisation). `out` holds `rows × n`
/// complex results as interleaved pairs (length `2·rows·n`). Numeric failures are left in
/// the workspace's flag: call [`Workspace::take_error`].
///
/// # Errors
/// Shape errors ([`GpuError::LengthMismatch`], [`GpuError::TooLarge`]), a non-finite shift,
/// allocation or launch errors.
pub fn launch_forward<S: GpuScalar>(
    gpu: &Gpu,
    op: Op,
    sys: &System<'_, S>,
    out: &mut DeviceBuffer<S>,
    ws: &mut Workspace,
    schedule: Schedule,
) -> Result<()> {
    let rows = sys.rows()?;
    let n = sys.n;
    check("out", 2 * rows * n, out.len())?;
    let plan = pick(gpu, false, op, S::INDEX, size_of::<S>(), rows, n, schedule)?;
    let func = gpu.function(plan.name)?;
    let (zre, zim) = (sys.z.re, sys.z.im);
    if let (Some((segs, bytes)), Some(t)) = (plan.split, plan.threads) {
        let segs = segs as usize;
        let cfg = LaunchConfig {
            grid_dim: ((rows * segs) as u32, 1, 1),
            block_dim: (t, 1, 1),
            shared_mem_bytes: bytes,
        };
        let published = ensure_scratch(&mut ws.split_pub, gpu, rows * segs * 16)?;
        let words = rows * split_flag_words(segs);
        if ws.split_sync.as_ref().is_none_or(|s| s.len() < words) {
            // Fresh zeros: counters and failure words at 0, flags below every epoch.
            ws.split_sync = None;
            ws.split_sync = Some(gpu.alloc::<u32>(words)?);
        }
        let sync = ws.split_sync.as_mut().expect("just allocated");
        ws.epoch = ws.epoch.wrapping_add(1).max(1);
        let epoch = ws.epoch;
        let mut b = gpu.stream().launch_builder(&func);
        b.arg(&rows)
            .arg(&n)
            .arg(&segs)
            .arg(&**sys.a)
            .arg(&**sys.b)
            .arg(&**sys.c)
            .arg(&zre)
            .arg(&zim)
            .arg(&mut **out)
            .arg(&mut **published)
            .arg(&mut **sync)
            .arg(&epoch)
            .arg(&mut *ws.flag);
        // SAFETY: the argument list matches the split kernels' signature (`rows, n, segs, a,
        // b, c, zre, zim, out, published, sync, epoch, flag`); the buffers were checked above
        // (a = rows·n, b = c = rows·(n − 1), out = 2·rows·n, published = 16 f32 per segment,
        // sync = `split_flag_words(segs)` zeroed words per row, flag = 1 word); `threads` is a
        // multiple of 32 with segs·threads·8 ≥ n (`pick_split`), the dynamic shared memory is
        // the kernel's `split_smem_bytes(n, threads)` (allowed by `pick_split`), and the
        // grid of rows·segs blocks fits on the device at once (occupancy checked), which the
        // cooperative launch guarantees or refuses: the blocks' waits for each other end.
        unsafe { b.launch_cooperative(cfg) }?;
        return Ok(());
    }
    if let (Some(bytes), Some(t)) = (plan.tile, plan.threads) {
        // One block per row, or the streaming kernel's persistent grid.
        let blocks = plan.grid.map_or(rows, |g| g as usize);
        let cfg = smem_config(&func, blocks, t, bytes)?;
        let stream = plan.name == FWD_STREAM;
        let box_lines = stream_box_lines(t as usize) as u32;
        if stream {
            let (ptr, _read) = DevicePtr::device_ptr(&**out, gpu.stream());
            let key = (ptr, rows, n);
            if ws.stream_map_key != Some(key) {
                let map = stream_tensor_map(ptr, rows, n)?;
                if ws.stream_map.is_none() {
                    ws.stream_map = Some(gpu.alloc::<u64>(16)?);
                }
                let buf = ws.stream_map.as_mut().expect("just allocated");
                gpu.stream().memcpy_htod(&map.opaque, &mut **buf)?;
                ws.stream_map_key = Some(key);
            }
        }
        let mut b = gpu.stream().launch_builder(&func);
        b.arg(&rows)
            .arg(&n)
            .arg(&**sys.a)
            .arg(&**sys.b)
            .arg(&**sys.c)
            .arg(&zre)
            .arg(&zim)
            .arg(&mut **out)
            .arg(&mut *ws.flag);
        let map = ws.stream_map.as_ref();
        if stream {
            b.arg(&**map.expect("set above")).arg(&box_lines);
        }
        // SAFETY: the argument list matches the tile kernels' signature (`rows, n, a, b, c,
        // zre, zim, out, flag`), and the streaming kernel's (the same, then `tmap, box_lines`:
        // the tensor map of `out` encoded and uploaded above, on this stream, for these
        // rows and order, and `stream_box_lines(threads)`, the box it was encoded with); the
        // buffers were checked above (a = rows·n, b = c = rows·(n − 1), out = 2·rows·n,
        // flag = 1 word); `threads` is a multiple of 32 with
        // threads·len ≥ n (`pick_tile`), the dynamic shared memory is the kernel's
        // `tile_smem_bytes(n, threads, len, causal)` (allowed by `smem_config`), n ≥ 1, and one
        // block runs each row. The streaming kernel (`pick_stream`): n = 16·threads, its
        // `stream_smem_bytes`, any grid of at least one block; its bulk copies need `a`, `b`,
        // `c`, `out` 16-byte aligned, which they are: a `DeviceBuffer` is always a whole
        // allocation of the driver (`cuMemAlloc*`: 256-byte aligned).
        unsafe { b.launch(cfg) }?;
        return Ok(());
    }
    if let (Some((bytes, rs)), Some(t)) = (plan.smem, plan.threads) {
        let cfg = smem_config(&func, rows, t, bytes)?;
        let scratch = ensure_scratch(&mut ws.scratch, gpu, if rs { 0 } else { 4 * rows * n })?;
        let rs_smem = u32::from(rs);
        let mut b = gpu.stream().launch_builder(&func);
        b.arg(&rows)
            .arg(&n)
            .arg(&**sys.a)
            .arg(&**sys.b)
            .arg(&**sys.c)
            .arg(&zre)
            .arg(&zim)
            .arg(&mut **out)
            .arg(&mut **scratch)
            .arg(&rs_smem)
            .arg(&mut *ws.flag);
        // SAFETY: the argument list matches the shared-memory kernels' signature (`rows, n,
        // a, b, c, zre, zim, out, scratch, rs_smem, flag`); the buffers were checked above
        // (a = rows·n, b = c = rows·(n − 1), out = 2·rows·n, flag = 1 word), scratch holds
        // 2n complex per row unless r, s live in shared memory, the dynamic shared memory
        // is the kernel's `smem_forward_bytes(n, threads, size_of S, rs_smem)` (allowed by
        // `smem_config`), n ≥ 1, and one block runs each row.
        unsafe { b.launch(cfg) }?;
        return Ok(());
    }
    let threads = plan.threads;
    let (cfg, scratch_len) = match threads {
        Some(t) => (
            LaunchConfig {
                grid_dim: (rows as u32, 1, 1),
                block_dim: (t, 1, 1),
                shared_mem_bytes: 0,
            },
            2 * rows * block_scratch(n, t as usize),
        ),
        None => (
            LaunchConfig {
                grid_dim: (rows.div_ceil(ROWS_THREADS as usize) as u32, 1, 1),
                block_dim: (ROWS_THREADS, 1, 1),
                shared_mem_bytes: 0,
            },
            if op == Op::Diag { 2 * rows * n } else { 0 },
        ),
    };
    let scratch = ensure_scratch(&mut ws.scratch, gpu, scratch_len)?;
    let mut b = gpu.stream().launch_builder(&func);
    b.arg(&rows)
        .arg(&n)
        .arg(&**sys.a)
        .arg(&**sys.b)
        .arg(&**sys.c)
        .arg(&zre)
        .arg(&zim)
        .arg(&mut **out)
        .arg(&mut **scratch)
        .arg(&mut *ws.flag);
    // SAFETY: the argument list matches the kernel's signature (`rows, n, a, b, c, zre, zim,
    // out, scratch, flag`, see muse-gpu/kernels/src/resolvent.rs); every buffer was checked
    // above to hold what the kernel reads or writes: a = rows·n, b = c = rows·(n − 1),
    // out = 2·rows·n, scratch ≥ the kernel's per-row need (block: 2·(2n + 8·threads) f32,
    // rows: 2n f32 per row), flag = 1 word; n ≥ 1, and the grid covers rows exactly once
    // (block: one block per row; rows: threads ≥ rows, extra threads return).
    unsafe { b.launch(cfg) }?;
    Ok(())
}

/// Gradient buffers of a batched VJP on the device (overwritten).
#[derive(Debug)]
pub struct VjpBuffers {
    /// `∂L/∂a`, `rows × n`.
    pub a: DeviceBuffer<f32>,
    /// `∂L/∂b`, `rows × (n − 1)`.
    pub b: DeviceBuffer<f32>,
    /// `∂L/∂c`, `rows × (n − 1)`.
    pub c: DeviceBuffer<f32>,
    /// `z̄` per row, interleaved pairs (`2·rows`).
    pub z: DeviceBuffer<f32>,
}

impl VjpBuffers {
    /// Allocates the gradient buffers for `rows` systems of order `n`.
    ///
    /// # Errors
    /// Allocation errors.
    pub fn new(gpu: &Gpu, rows: usize, n: usize) -> Result<Self> {
        let m = rows * n.saturating_sub(1);
        Ok(VjpBuffers {
            a: gpu.alloc(rows * n)?,
            b: gpu.alloc(m)?,
            c: gpu.alloc(m)?,
            z: gpu.alloc(2 * rows)?,
        })
    }
}

/// Queues the VJP of `op` (block per system, chunked affine scans, or thread per system, as
/// `schedule` says; [`Schedule::Auto`] as for the forward). `w` holds the cotangents as interleaved
/// pairs (`2·rows·n`). Numeric failures are left in the workspace's flag.
///
/// # Errors
/// As [`launch_forward`].
pub fn launch_vjp<S: GpuScalar>(
    gpu: &Gpu,
    op: Op,
    sys: &System<'_, S>,
    w: &DeviceBuffer<S>,
    grad: &mut VjpBuffers,
    ws: &mut Workspace,
    schedule: Schedule,
) -> Result<()> {
    let rows = sys.rows()?;
    let n = sys.n;
    check("w", 2 * rows * n, w.len())?;
    check("grad a", rows * n, grad.a.len())?;
    check("grad b", rows * (n - 1), grad.b.len())?;
    check("grad c", rows * (n - 1), grad.c.len())?;
    check("grad z", 2 * rows, grad.z.len())?;
    let plan = pick(gpu, true, op, S::INDEX, size_of::<S>(), rows, n, schedule)?;
    let func = gpu.function(plan.name)?;
    let (zre, zim) = (sys.z.re, sys.z.im);
    if let (Some((bytes, rs)), Some(t)) = (plan.smem, plan.threads) {
        let cfg = smem_config(&func, rows, t, bytes)?;
        let scratch = ensure_scratch(&mut ws.scratch, gpu, 8 * rows * n)?;
        let rs_smem = u32::from(rs);
        let mut b = gpu.stream().launch_builder(&func);
        b.arg(&rows)
            .arg(&n)
            .arg(&**sys.a)
            .arg(&**sys.b)
            .arg(&**sys.c)
            .arg(&zre)
            .arg(&zim)
            .arg(&**w)
            .arg(&mut *grad.a)
            .arg(&mut *grad.b)
            .arg(&mut *grad.c)
            .arg(&mut *grad.z)
            .arg(&mut **scratch)
            .arg(&rs_smem)
            .arg(&mut *ws.flag);
        // SAFETY: the argument list matches the shared-memory VJP kernels' signature (`rows,
        // n, a, b, c, zre, zim, w, ga, gb, gc, zbar, scratch, rs_smem, flag`); lengths were
        // checked above, scratch holds 4n complex per row, the dynamic shared memory is the
        // kernel's `smem_vjp_bytes(n, threads, size_of S, rs_smem)` (allowed by
        // `smem_config`), n ≥ 1, and one block runs each row.
        unsafe { b.launch(cfg) }?;
        return Ok(());
    }
    let threads = plan.threads;
    let (cfg, per_row) = match (threads, plan.tile) {
        // The tile VJP: the same argument list; scratch (4n complex per row) only for the
        // checked recomputation of a failing row.
        (Some(t), Some(bytes)) => {
            // Cluster kernels: `ctas` consecutive blocks per row (their declared cluster).
            let blocks = rows * plan.cluster.unwrap_or(1) as usize;
            (smem_config(&func, blocks, t, bytes)?, 4 * n)
        }
        (Some(t), None) => (
            LaunchConfig {
                grid_dim: (rows as u32, 1, 1),
                block_dim: (t, 1, 1),
                shared_mem_bytes: 0,
            },
            block_vjp_scratch(n, t as usize),
        ),
        (None, _) => (
            LaunchConfig {
                grid_dim: (rows.div_ceil(ROWS_THREADS as usize) as u32, 1, 1),
                block_dim: (ROWS_THREADS, 1, 1),
                shared_mem_bytes: 0,
            },
            if op == Op::Diag { 4 * n } else { 2 * n },
        ),
    };
    let scratch = ensure_scratch(&mut ws.scratch, gpu, 2 * rows * per_row)?;
    let mut b = gpu.stream().launch_builder(&func);
    b.arg(&rows)
        .arg(&n)
        .arg(&**sys.a)
        .arg(&**sys.b)
        .arg(&**sys.c)
        .arg(&zre)
        .arg(&zim)
        .arg(&**w)
        .arg(&mut *grad.a)
        .arg(&mut *grad.b)
        .arg(&mut *grad.c)
        .arg(&mut *grad.z)
        .arg(&mut **scratch)
        .arg(&mut *ws.flag);
    // SAFETY: the argument list matches the kernel's signature (`rows, n, a, b, c, zre, zim,
    // w, ga, gb, gc, zbar, scratch, flag`); all lengths were checked above (w = 2·rows·n,
    // ga = rows·n, gb = gc = rows·(n − 1), zbar = 2·rows, scratch = 2·rows·(per-row need:
    // block 4n + 15·threads complex, tile and rows 4n, causal rows 2n complex) f32), n ≥ 1,
    // each row is handled by exactly one block (block and tile kernels) or one thread (rows
    // kernel), and the tile kernel gets `tile_vjp_smem_bytes(threads, 8)` of dynamic shared
    // memory with `threads = ⌈n/8⌉` rounded up to a warp (`pick_tile_vjp`).
    unsafe { b.launch(cfg) }?;
    Ok(())
}

fn flatten<S: Copy>(z: &[Complex<S>]) -> Vec<S> {
    z.iter().flat_map(|c| [c.re, c.im]).collect()
}

fn pairs<S: Copy>(v: &[S]) -> Vec<Complex<S>> {
    v.chunks_exact(2)
        .map(|p| Complex::new(p[0], p[1]))
        .collect()
}

fn forward_host<S: GpuScalar>(
    gpu: &Gpu,
    op: Op,
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<f32>,
) -> Result<Vec<Complex<S>>> {
    if n == 0 && a.is_empty() && b.is_empty() && c.is_empty() {
        check_shift(z)?;
        return Ok(Vec::new());
    }
    check_shape(n, a.len(), b.len(), c.len(), z)?;
    let (da, db, dc) = (gpu.upload(a)?, gpu.upload(b)?, gpu.upload(c)?);
    let sys = System {
        n,
        a: &da,
        b: &db,
        c: &dc,
        z,
    };
    let mut out = gpu.alloc::<S>(2 * a.len())?;
    let mut ws = Workspace::new(gpu)?;
    launch_forward(gpu, op, &sys, &mut out, &mut ws, Schedule::Auto)?;
    ws.take_error(gpu)?;
    Ok(pairs(&gpu.download(&out)?))
}

/// `g = diag (T − zI)⁻¹` for a batch of `a.len() / n` systems (row-major), on the GPU.
///
/// # Errors
/// [`GpuError::LengthMismatch`] for inconsistent lengths; [`GpuError::Kernel`] with the
/// [`ResolventError`](muse_core::resolvent::ResolventError) (row, index) of a non-finite input or
/// `z`, a singular minor or an f16 overflow; allocation and driver errors.
pub fn diag<S: GpuScalar>(
    gpu: &Gpu,
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<f32>,
) -> Result<Vec<Complex<S>>> {
    forward_host(gpu, Op::Diag, n, a, b, c, z)
}

/// The causal resolvent `y_i = 1/r_i` for a batch, on the GPU.
///
/// # Errors
/// As [`diag`].
pub fn causal<S: GpuScalar>(
    gpu: &Gpu,
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<f32>,
) -> Result<Vec<Complex<S>>> {
    forward_host(gpu, Op::Causal, n, a, b, c, z)
}

/// Gradients of a batched VJP on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct VjpResult {
    /// `∂L/∂a`, `rows × n`.
    pub a: Vec<f32>,
    /// `∂L/∂b`, `rows × (n − 1)`.
    pub b: Vec<f32>,
    /// `∂L/∂c`, `rows × (n − 1)`.
    pub c: Vec<f32>,
    /// `z̄ = ∂L/∂Re z + i ∂L/∂Im z`, summed over rows (one shared shift).
    pub z: Complex<f32>,
}

#[allow(clippy::too_many_arguments)]
fn vjp_host<S: GpuScalar>(
    gpu: &Gpu,
    op: Op,
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<f32>,
    w: &[Complex<S>],
) -> Result<VjpResult> {
    if n == 0 && a.is_empty() && b.is_empty() && c.is_empty() && w.is_empty() {
        check_shift(z)?;
        return Ok(VjpResult {
            a: Vec::new(),
            b: Vec::new(),
            c: Vec::new(),
            z: Complex::new(0.0, 0.0),
        });
    }
    let rows = check_shape(n, a.len(), b.len(), c.len(), z)?;
    check("w", a.len(), w.len())?;
    let (da, db, dc) = (gpu.upload(a)?, gpu.upload(b)?, gpu.upload(c)?);
    let dw = gpu.upload(&flatten(w))?;
    let sys = System {
        n,
        a: &da,
        b: &db,
        c: &dc,
        z,
    };
    let mut grad = VjpBuffers::new(gpu, rows, n)?;
    let mut ws = Workspace::new(gpu)?;
    launch_vjp(gpu, op, &sys, &dw, &mut grad, &mut ws, Schedule::Auto)?;
    ws.take_error(gpu)?;
    let zs = gpu.download(&grad.z)?;
    // Sum z̄ over rows in f64, then round once.
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    for p in zs.chunks_exact(2).take(rows) {
        zr += p[0] as f64;
        zi += p[1] as f64;
    }
    let mut ga = gpu.download(&grad.a)?;
    let mut gb = gpu.download(&grad.b)?;
    let mut gc = gpu.download(&grad.c)?;
    ga.truncate(rows * n);
    gb.truncate(rows * (n - 1));
    gc.truncate(rows * (n - 1));
    Ok(VjpResult {
        a: ga,
        b: gb,
        c: gc,
        z: Complex::new(zr as f32, zi as f32),
    })
}

/// The exact VJP of [`diag`] for cotangents `w` (`rows × n`), on the GPU: `L = Re Σ conj(w)·g`.
///
/// # Errors
/// As [`diag`], plus a wrong length or non-finite values in `w`.
#[allow(clippy::too_many_arguments)]
pub fn vjp<S: GpuScalar>(
    gpu: &Gpu,
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<f32>,
    w: &[Complex<S>],
) -> Result<VjpResult> {
    vjp_host(gpu, Op::Diag, n, a, b, c, z, w)
}

/// The exact VJP of [`causal`], on the GPU.
///
/// # Errors
/// As [`vjp`].
#[allow(clippy::too_many_arguments)]
pub fn causal_vjp<S: GpuScalar>(
    gpu: &Gpu,
    n: usize,
    a: &[S],
    b: &[S],
    c: &[S],
    z: Complex<f32>,
    w: &[Complex<S>],
) -> Result<VjpResult> {
    vjp_host(gpu, Op::Causal, n, a, b, c, z, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_boxes_tile_every_row_exactly() {
        // Every thread count the streaming kernel takes (n = 16·threads, n a multiple of 512,
        // up to the largest block): the box is a multiple of 32 lines (whole 1024-byte
        // swizzle blocks), at most 256 lines (the tensor map's limit), divides the row's
        // lines, and is the largest such box.
        for threads in (32..=1024).step_by(32) {
            let b = stream_box_lines(threads);
            assert!(
                b % 32 == 0 && b <= 256 && threads % b == 0,
                "{threads}: {b}"
            );
            let best = (1..=8)
                .map(|d| 32 * d)
                .filter(|&c| threads % c == 0)
                .max()
                .unwrap();
            assert_eq!(b, best, "{threads}");
        }
        assert_eq!(stream_box_lines(256), 256);
        assert_eq!(stream_box_lines(512), 256);
        assert_eq!(stream_box_lines(288), 96);
        assert_eq!(stream_box_lines(544), 32);
    }

    #[test]
    fn stream_smem_leaves_two_blocks_per_sm_at_n_4096() {
        // 99 136 bytes of buffers plus up to 1024 of padding before the 1024-byte aligned
        // outputs: two blocks (and the driver's 1 KiB per block) still fit in the 228 KiB of
        // an H100's or H200's SM.
        let bytes = stream_smem_bytes(4096, 256);
        assert_eq!(bytes, 100_160);
        assert!(2 * (bytes + 1024) <= 228 * 1024);
    }
}

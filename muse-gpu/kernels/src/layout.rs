//! Shared-memory and scratch sizes of the resolvent kernels: the one definition of each
//! layout, compiled into the kernel crate (`crate::layout`, re-exported by its `resolvent`
//! module) and, through `#[path]`, into the host crate `muse-gpu`, which sizes its launches
//! and scratch buffers with the very same functions. Plain `const fn`s on `usize`: no
//! dependencies, nothing target-specific.

/// `x` rounded up to a multiple of 16.
#[inline(always)]
pub const fn align16(x: usize) -> usize {
    (x + 15) & !15
}

/// Bytes of the staged `a`, `b`, `c` of one row (each 16-byte aligned).
#[inline(always)]
pub const fn smem_inputs_bytes(n: usize, elem: usize) -> usize {
    align16(n * elem) + 2 * align16((n - 1) * elem)
}

/// Bytes of dynamic shared memory of the `*_smem_*` forward kernels: two transfers per
/// thread, `r` and `s` when `rs_smem` (else they live in global scratch, `2n` complex per
/// row), and the row's `a`, `b`, `c` (`elem` bytes each).
#[inline(always)]
pub const fn smem_forward_bytes(n: usize, threads: usize, elem: usize, rs_smem: bool) -> usize {
    64 * threads + if rs_smem { 16 * n } else { 0 } + smem_inputs_bytes(n, elem)
}

/// Bytes of dynamic shared memory of the `*_vjp_smem_*` kernels: the transfers (64 bytes
/// per thread, reused for the affine maps), one `z̄` partial per thread, `r` and `s` when
/// `rs_smem` (`d̄`, `r̄` and otherwise `r`, `s` live in global scratch, `4n` complex per row),
/// the row's `a`, `b`, `c` and `w`.
#[inline(always)]
pub const fn smem_vjp_bytes(n: usize, threads: usize, elem: usize, rs_smem: bool) -> usize {
    72 * threads
        + if rs_smem { 16 * n } else { 0 }
        + smem_inputs_bytes(n, elem)
        + align16(2 * n * elem)
}

/// Per-row scratch of the block kernels, in complex f32 elements: `r` and `s` (N each) and
/// the forward and backward transfers (4 complex each) of every thread.
#[inline(always)]
pub const fn block_scratch(n: usize, threads: usize) -> usize {
    2 * n + 8 * threads
}

/// Per-row scratch of the block VJP kernels, in complex f32 elements: `r`, `s`, `d̄` and the
/// `r̄` work array (N each), two transfers (4 each), two affine maps (3 each, 20 bytes used)
/// and one `z̄` partial per thread.
#[inline(always)]
pub const fn block_vjp_scratch(n: usize, threads: usize) -> usize {
    4 * n + 15 * threads
}

/// Bytes of the staging area of the tile kernels: `threads` tiles of `len` elements, either
/// `a` and `k = b·c` (f32 each) or the outputs (at most 8 bytes each).
#[inline(always)]
pub const fn tile_staging_bytes(len: usize, threads: usize) -> usize {
    8 * len * threads
}

/// Bytes of dynamic shared memory of the `*_tile*` kernels for `n`, `threads` (a multiple
/// of 32) and tiles of `len`: 128 bytes per warp — its forward and backward transfer totals
/// (32 bytes each) and the boundaries at its start and end (16 bytes each; the split kernels
/// use only the totals) —, the block's failure word (16 bytes), then one area for the staged
/// inputs and outputs ([`tile_staging_bytes`]) that the diagonal's checked recomputation
/// reuses as its `n` complex f32 of scratch.
#[inline(always)]
pub const fn tile_smem_bytes(n: usize, threads: usize, len: usize, causal: bool) -> usize {
    let stage = tile_staging_bytes(len, threads);
    let scratch = if causal { 0 } else { 8 * n };
    2 * 64 * (threads / 32) + 16 + if stage > scratch { stage } else { scratch }
}

/// Bytes of dynamic shared memory of the `resolvent_vjp_tile*` kernels with `threads` tiles
/// of `len`: per warp, the two transfer totals (64 bytes) and the warp's two boundary vectors
/// (32), the two affine-map totals (64: `AffineSlot`s), the warp's two adjoint boundary
/// values (16) and its `z̄` partial (8); then the failure word (16); then the staged row
/// (`stage_vjp`): `a`, `b`, `c` (f32, where the gradients go too) and `w` (complex f32), 20
/// bytes per element.
#[inline(always)]
pub const fn tile_vjp_smem_bytes(threads: usize, len: usize) -> usize {
    184 * (threads / 32) + 16 + 20 * len * threads
}

/// Bytes of dynamic shared memory of the `*_split*` kernels: the warps' transfer totals, the
/// segment's two boundary vectors (32 bytes) and the `n` complex f32 scratch of the checked
/// recomputation.
#[inline(always)]
pub const fn split_smem_bytes(n: usize, threads: usize) -> usize {
    2 * 64 * (threads / 32) + 32 + 8 * n
}

/// `u32` words of the split kernels' synchronisation state per row: one publication flag
/// per segment (set to the launch's epoch), then the row's finished-segment counter and its
/// failure word (both left at 0 by the row's last block). The published transfers live in
/// a separate buffer of `2 × segs` `Transfer`s per row.
#[inline(always)]
pub const fn split_flag_words(segs: usize) -> usize {
    segs + 2
}

/// Byte offset of the row buffers in the streaming kernel's shared memory: the warps'
/// totals and boundaries (96 bytes per warp), two failure words (16 bytes) and two mbarriers
/// (16).
#[inline(always)]
pub const fn stream_base(threads: usize) -> usize {
    96 * (threads / 32) + 32
}

/// Bytes of dynamic shared memory of the streaming kernel (`n = 16·threads`, `threads` a
/// multiple of 32): [`stream_base`], then, in units of `4n` bytes: two buffers for the rows'
/// `a` (this row's, the next row's), one each for `b` and `c` (`4n + 16` bytes: the 16-byte
/// aligned span of the row's `n − 1` elements) and two for the outputs (`n` complex f32,
/// starting at the next multiple of 1024 bytes, as the tensor store's 128-byte swizzling
/// needs: up to 1024 bytes of padding). At `n = 4096`, 100 160 bytes: two blocks fit on an
/// SM (as their registers do).
#[inline(always)]
pub const fn stream_smem_bytes(n: usize, threads: usize) -> usize {
    stream_base(threads) + 24 * n + 32 + 1024
}

/// Lines (of 32 f32: 16 outputs, one thread's) per tensor store of the streaming kernel with
/// `threads` threads (a multiple of 32): the largest multiple of 32 that divides `threads`
/// and is at most 256 (a box of the tensor map has at most 256 lines; 128-byte swizzling
/// needs boxes of whole 1024-byte blocks, 8 lines). The host encodes the tensor map with it
/// and passes it to the kernel.
#[inline(always)]
pub const fn stream_box_lines(threads: usize) -> usize {
    let m = threads / 32;
    let mut d = if m < 8 { m } else { 8 };
    while m % d != 0 {
        d -= 1;
    }
    32 * d
}

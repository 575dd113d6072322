//! A small stand-in for `cuda_std` over `core::arch::nvptx` (cuda_std 0.2.2 does not build
//! with any toolchain we have; see `shared/TOOLCHAIN.md`). The names follow cuda_std's API
//! (`cuda_std::thread::*`), so moving to cuda_std later is a rename.

/// Thread and block indices, barriers (cuda_std's `thread` module).
pub mod thread {
    use core::arch::nvptx;

    /// `threadIdx.x`.
    #[inline(always)]
    pub fn thread_idx_x() -> u32 {
        // SAFETY: reads a special register; always defined inside a kernel.
        unsafe { nvptx::_thread_idx_x() as u32 }
    }

    /// `blockIdx.x`.
    #[inline(always)]
    pub fn block_idx_x() -> u32 {
        // SAFETY: reads a special register.
        unsafe { nvptx::_block_idx_x() as u32 }
    }

    /// `blockDim.x`.
    #[inline(always)]
    pub fn block_dim_x() -> u32 {
        // SAFETY: reads a special register.
        unsafe { nvptx::_block_dim_x() as u32 }
    }

    /// `gridDim.x`.
    #[inline(always)]
    pub fn grid_dim_x() -> u32 {
        // SAFETY: reads a special register.
        unsafe { nvptx::_grid_dim_x() as u32 }
    }

    /// The global 1-D thread index `blockIdx.x · blockDim.x + threadIdx.x`.
    #[inline(always)]
    pub fn index_1d() -> usize {
        block_idx_x() as usize * block_dim_x() as usize + thread_idx_x() as usize
    }

    /// `__syncthreads()`: a block-wide barrier that also orders the block's memory accesses.
    /// Every thread of the block must reach it.
    #[inline(always)]
    pub fn sync_threads() {
        // SAFETY: a barrier; the kernels call it unconditionally from every thread.
        unsafe { nvptx::_syncthreads() }
    }
}

/// Shared memory (cuda_std's `shared` module): the block's dynamic shared memory, declared
/// once in PTX (`.extern .shared`, sized by the launch's `shared_mem_bytes`).
pub mod shared {
    core::arch::global_asm!(".extern .shared .align 16 .b8 muse_dynamic_smem[];");

    /// A generic pointer to the start of the block's dynamic shared memory (16-byte
    /// aligned). Valid for the `shared_mem_bytes` of the launch; the same for every thread
    /// of the block, distinct between blocks.
    #[inline(always)]
    pub fn dynamic_shared_mem<T>() -> *mut T {
        let p: u64;
        // SAFETY: reads the address of the module's shared-memory symbol (no memory access).
        unsafe {
            core::arch::asm!(
                "cvta.shared.u64 {p}, muse_dynamic_smem;",
                p = out(reg64) p,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        p as *mut T
    }

    /// The address of the block's dynamic shared memory in the `.shared` window (32 bits:
    /// offsets from it take 32-bit arithmetic, where generic pointers take 64-bit).
    #[inline(always)]
    pub fn dynamic_shared_addr() -> u32 {
        let a: u32;
        // SAFETY: reads the address of the module's shared-memory symbol (no memory access).
        unsafe {
            core::arch::asm!(
                "mov.u32 {a}, muse_dynamic_smem;",
                a = out(reg32) a,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        a
    }

    /// Reads the `T` (4 or 8 bytes) at the shared address `addr` (`ld.shared`).
    ///
    /// # Safety
    /// `addr` is a shared address inside the launch's dynamic shared memory, aligned to the
    /// size of `T`, holding an initialised `T`.
    #[inline(always)]
    pub unsafe fn load<T: Copy>(addr: u32) -> T {
        const { assert!(matches!(core::mem::size_of::<T>(), 4 | 8)) };
        // SAFETY: the caller's contract; `T` is 4 or 8 bytes (checked above).
        unsafe {
            if const { core::mem::size_of::<T>() == 8 } {
                let v: u64;
                core::arch::asm!(
                    "ld.shared.u64 {v}, [{a}];",
                    v = out(reg64) v,
                    a = in(reg32) addr,
                    options(readonly, nostack, preserves_flags)
                );
                core::mem::transmute_copy(&v)
            } else {
                let v: u32;
                core::arch::asm!(
                    "ld.shared.u32 {v}, [{a}];",
                    v = out(reg32) v,
                    a = in(reg32) addr,
                    options(readonly, nostack, preserves_flags)
                );
                core::mem::transmute_copy(&v)
            }
        }
    }

    /// Writes `v` (4 or 8 bytes) at the shared address `addr` (`st.shared`).
    ///
    /// # Safety
    /// As [`load`], for a write.
    #[inline(always)]
    pub unsafe fn store<T: Copy>(addr: u32, v: T) {
        const { assert!(matches!(core::mem::size_of::<T>(), 4 | 8)) };
        // SAFETY: the caller's contract; `T` is 4 or 8 bytes (checked above).
        unsafe {
            if const { core::mem::size_of::<T>() == 8 } {
                let v: u64 = core::mem::transmute_copy(&v);
                core::arch::asm!(
                    "st.shared.u64 [{a}], {v};",
                    v = in(reg64) v,
                    a = in(reg32) addr,
                    options(nostack, preserves_flags)
                );
            } else {
                let v: u32 = core::mem::transmute_copy(&v);
                core::arch::asm!(
                    "st.shared.u32 [{a}], {v};",
                    v = in(reg32) v,
                    a = in(reg32) addr,
                    options(nostack, preserves_flags)
                );
            }
        }
    }
    /// Reads the four words at the shared address `addr` in one access (`ld.shared.v4`).
    ///
    /// # Safety
    /// As [`load`], for 16 bytes aligned to 16.
    #[inline(always)]
    pub unsafe fn load4(addr: u32) -> [f32; 4] {
        let v: [f32; 4];
        // SAFETY: the caller's contract.
        unsafe {
            let (x, y, z, w): (f32, f32, f32, f32);
            core::arch::asm!(
                "ld.shared.v4.f32 {{{x}, {y}, {z}, {w}}}, [{a}];",
                x = out(reg32) x,
                y = out(reg32) y,
                z = out(reg32) z,
                w = out(reg32) w,
                a = in(reg32) addr,
                options(readonly, nostack, preserves_flags)
            );
            v = [x, y, z, w];
        }
        v
    }

    /// Writes four words at the shared address `addr` in one access (`st.shared.v4`).
    ///
    /// # Safety
    /// As [`store`], for 16 bytes aligned to 16.
    #[inline(always)]
    pub unsafe fn store4(addr: u32, v: [f32; 4]) {
        // SAFETY: the caller's contract.
        unsafe {
            core::arch::asm!(
                "st.shared.v4.f32 [{a}], {{{x}, {y}, {z}, {w}}};",
                x = in(reg32) v[0],
                y = in(reg32) v[1],
                z = in(reg32) v[2],
                w = in(reg32) v[3],
                a = in(reg32) addr,
                options(nostack, preserves_flags)
            );
        }
    }
}

/// Warp shuffles (cuda_std's `warp` module): `shfl.sync` over the full warp. Every lane of
/// the warp must execute the same call (the kernels launch whole warps and call these
/// outside divergent branches). These are LLVM's NVVM intrinsics, which LLVM knows to be
/// *convergent*: it never sinks them into a branch taken by part of the warp (an `asm!`
/// marked pure would be, and the warp would then wait forever for its missing lanes).
pub mod warp {
    extern "C" {
        #[link_name = "llvm.nvvm.shfl.sync.up.f32"]
        fn shfl_sync_up_f32(mask: u32, x: f32, delta: u32, clamp: u32) -> f32;
        #[link_name = "llvm.nvvm.shfl.sync.down.f32"]
        fn shfl_sync_down_f32(mask: u32, x: f32, delta: u32, clamp: u32) -> f32;
        #[link_name = "llvm.nvvm.shfl.sync.bfly.f32"]
        fn shfl_sync_bfly_f32(mask: u32, x: f32, lane_mask: u32, clamp: u32) -> f32;
    }

    /// `__shfl_up_sync(0xffffffff, x, delta)`: the value of lane `lane − delta` (lanes below
    /// `delta` get their own `x`).
    #[inline(always)]
    pub fn shfl_up(x: f32, delta: u32) -> f32 {
        // SAFETY: a register-only warp exchange; all 32 lanes take part (see the module docs).
        unsafe { shfl_sync_up_f32(u32::MAX, x, delta, 0) }
    }

    /// `__shfl_down_sync(0xffffffff, x, delta)`: the value of lane `lane + delta` (lanes
    /// from `32 − delta` on get their own `x`).
    #[inline(always)]
    pub fn shfl_down(x: f32, delta: u32) -> f32 {
        // SAFETY: as `shfl_up`.
        unsafe { shfl_sync_down_f32(u32::MAX, x, delta, 31) }
    }

    /// `__shfl_xor_sync(0xffffffff, x, mask)`: the value of lane `lane ^ mask`.
    #[inline(always)]
    pub fn shfl_xor(x: f32, mask: u32) -> f32 {
        // SAFETY: as `shfl_up`.
        unsafe { shfl_sync_bfly_f32(u32::MAX, x, mask, 31) }
    }
}

/// Compiler hints.
pub mod hint {
    /// `p`, unchanged, through an `asm!` the compiler cannot see through or merge with another
    /// call: addresses derived from the result are computed afresh instead of being kept in
    /// registers (or spilled) since an earlier use of the same addresses.
    #[inline(always)]
    pub fn fresh<T>(p: *mut T) -> *mut T {
        let q: u64;
        // SAFETY: a register move (no memory access).
        unsafe {
            core::arch::asm!(
                "mov.b64 {q}, {p};",
                q = out(reg64) q,
                p = in(reg64) p as u64,
                options(nomem, nostack, preserves_flags)
            );
        }
        q as *mut T
    }
}

/// Memory hints.
pub mod mem {
    /// Asks the L2 cache to fetch the 128-byte line holding `p` (`prefetch.global.L2`): no
    /// data comes back and nothing waits for it.
    ///
    /// # Safety
    /// `p` points into global memory (a prefetch never faults, but the generic-to-global
    /// conversion assumes a global address).
    #[inline(always)]
    pub unsafe fn prefetch_l2<T>(p: *const T) {
        // SAFETY: a cache hint; no memory is read into registers or written.
        unsafe {
            core::arch::asm!(
                "{{ .reg .u64 g; cvta.to.global.u64 g, {p}; prefetch.global.L2 [g]; }}",
                p = in(reg64) p as u64,
                options(nostack, readonly, preserves_flags)
            );
        }
    }

    /// Writes `v` (4 or 8 bytes) to global memory at `p` in one store (`st.global`), where a
    /// plain write of a `Complex<f32>` (4-byte aligned to Rust) takes two.
    ///
    /// # Safety
    /// `p` is a valid global address for a `T`, aligned to the size of `T`.
    #[inline(always)]
    pub unsafe fn store_global<T: Copy>(p: *mut T, v: T) {
        const { assert!(matches!(core::mem::size_of::<T>(), 4 | 8)) };
        // SAFETY: the caller's contract; `T` is 4 or 8 bytes (checked above).
        unsafe {
            if const { core::mem::size_of::<T>() == 8 } {
                let v: u64 = core::mem::transmute_copy(&v);
                core::arch::asm!(
                    "{{ .reg .u64 g; cvta.to.global.u64 g, {p}; st.global.u64 [g], {v}; }}",
                    p = in(reg64) p as u64,
                    v = in(reg64) v,
                    options(nostack, preserves_flags)
                );
            } else {
                let v: u32 = core::mem::transmute_copy(&v);
                core::arch::asm!(
                    "{{ .reg .u64 g; cvta.to.global.u64 g, {p}; st.global.u32 [g], {v}; }}",
                    p = in(reg64) p as u64,
                    v = in(reg32) v,
                    options(nostack, preserves_flags)
                );
            }
        }
    }

    /// Number of SMs of the device (`%nsmid`, an upper bound of the SM ids).
    #[inline(always)]
    pub fn sm_count() -> u32 {
        let r: u32;
        // SAFETY: reads a special register.
        unsafe {
            core::arch::asm!(
                "mov.u32 {r}, %nsmid;",
                r = out(reg32) r,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        r
    }
}

/// Thread block clusters (sm_90): the CTAs of a cluster run at once on one GPC, wait for each
/// other at [`cluster::sync`] and read each other's shared memory (`mapa`,
/// `ld.shared::cluster`). A kernel launched without cluster dimensions is a cluster of one.
#[cfg(target_feature = "sm_90")]
pub mod cluster {
    /// The CTA's rank in its cluster (`%cluster_ctarank`).
    #[inline(always)]
    pub fn rank() -> u32 {
        let r: u32;
        // SAFETY: reads a special register.
        unsafe {
            core::arch::asm!(
                "mov.u32 {r}, %cluster_ctarank;",
                r = out(reg32) r,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        r
    }

    /// `barrier.cluster.arrive` (release semantics): this thread's earlier memory accesses,
    /// shared memory of every CTA included, are visible to the cluster's threads after their
    /// matching [`wait`]. Every thread of every CTA of the cluster must arrive once per phase.
    #[inline(always)]
    pub fn arrive() {
        // SAFETY: a barrier arrival; the kernels call it from every thread of the cluster.
        unsafe { core::arch::asm!("barrier.cluster.arrive;", options(nostack, preserves_flags)) }
    }

    /// `barrier.cluster.wait` (acquire semantics): waits until every thread of the cluster has
    /// arrived at the current phase.
    #[inline(always)]
    pub fn wait() {
        // SAFETY: as `arrive`.
        unsafe { core::arch::asm!("barrier.cluster.wait;", options(nostack, preserves_flags)) }
    }

    /// A cluster-wide barrier ([`arrive`] then [`wait`]): orders every shared-memory access of
    /// the cluster's threads before it before every one after it. It also serves as the
    /// CTA's own barrier.
    #[inline(always)]
    pub fn sync() {
        arrive();
        wait();
    }

    /// Reads the `T` (a whole number of 32-bit words) at the shared address `addr` of this
    /// CTA's dynamic shared memory, in the copy of CTA `rank` of the cluster (`mapa`, then
    /// `ld.shared::cluster` of `W` words at a time, `W` = 1, 2 or 4: each remote load costs a
    /// round trip, so wide loads matter). It reads `size_of::<T>()` rounded up to `4·W` bytes.
    ///
    /// # Safety
    /// `rank` is a rank of the cluster; `addr` is aligned to `4·W` bytes and the bytes read lie
    /// in the dynamic shared memory; that CTA wrote an initialised `T` at `addr` before a
    /// [`sync`] that this read follows, and does not exit before a later one.
    #[inline(always)]
    pub unsafe fn load_remote<T: Copy, const W: usize>(addr: u32, rank: u32) -> T {
        const {
            assert!(core::mem::size_of::<T>() % 4 == 0 && core::mem::size_of::<T>() <= 64);
            assert!(W == 1 || W == 2 || W == 4);
        };
        let loads = const { (core::mem::size_of::<T>() / 4).div_ceil(W) };
        let base: u32;
        // SAFETY: an address translation (no memory access).
        unsafe {
            core::arch::asm!(
                "mapa.shared::cluster.u32 {d}, {a}, {r};",
                d = out(reg32) base,
                a = in(reg32) addr,
                r = in(reg32) rank,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        let mut v = [0u32; 16];
        for k in 0..loads {
            let a = base + (4 * W * k) as u32;
            // SAFETY: the caller's contract: words `W·k ..` of the remote slot, aligned.
            unsafe {
                match W {
                    4 => core::arch::asm!(
                        "ld.shared::cluster.v4.u32 {{{x}, {y}, {z}, {w}}}, [{a}];",
                        x = out(reg32) v[4 * k],
                        y = out(reg32) v[4 * k + 1],
                        z = out(reg32) v[4 * k + 2],
                        w = out(reg32) v[4 * k + 3],
                        a = in(reg32) a,
                        options(readonly, nostack, preserves_flags)
                    ),
                    2 => core::arch::asm!(
                        "ld.shared::cluster.v2.u32 {{{x}, {y}}}, [{a}];",
                        x = out(reg32) v[2 * k],
                        y = out(reg32) v[2 * k + 1],
                        a = in(reg32) a,
                        options(readonly, nostack, preserves_flags)
                    ),
                    _ => core::arch::asm!(
                        "ld.shared::cluster.u32 {x}, [{a}];",
                        x = out(reg32) v[k],
                        a = in(reg32) a,
                        options(readonly, nostack, preserves_flags)
                    ),
                }
            }
        }
        // SAFETY: `v` holds the `size_of::<T>()` bytes of an initialised `T` (contract).
        unsafe { core::mem::transmute_copy(&v) }
    }
}

/// The bulk-copy engine of sm_90 (the TMA unit, in its one-dimensional form): whole byte
/// ranges copied between global and shared memory by one instruction of one thread, with no
/// registers staging the data. Loads complete on an *mbarrier* (a 64-bit shared-memory
/// barrier that counts both thread arrivals and bytes delivered), stores in *bulk groups*
/// that the issuing thread waits for; and, in its two-dimensional form, boxes of a tensor
/// described by a `CUtensorMap` stored from shared memory ([`store_tensor_2d`]). Needs PTX ISA
/// 8.3 (`build-ptx.sh` builds the sm_90 module with `+ptx83`).
#[cfg(target_feature = "sm_90")]
pub mod bulk {
    /// `mbarrier.init`: the mbarrier at the shared address `bar` expects `count` arrivals per
    /// phase. Follow it with [`fence_init`] and a block barrier before any use.
    ///
    /// # Safety
    /// `bar` is an 8-byte aligned shared address that nothing else uses.
    #[inline(always)]
    pub unsafe fn init(bar: u32, count: u32) {
        // SAFETY: the caller's contract.
        unsafe {
            core::arch::asm!(
                "mbarrier.init.shared::cta.b64 [{b}], {c};",
                b = in(reg32) bar,
                c = in(reg32) count,
                options(nostack, preserves_flags)
            );
        }
    }

    /// Makes the mbarriers initialised by this thread visible to the bulk-copy engine
    /// (`fence.mbarrier_init.release.cluster`, then `fence.proxy.async.shared::cta`).
    #[inline(always)]
    pub fn fence_init() {
        // SAFETY: fences only.
        unsafe {
            core::arch::asm!(
                "fence.mbarrier_init.release.cluster;",
                "fence.proxy.async.shared::cta;",
                options(nostack, preserves_flags)
            );
        }
    }

    /// `fence.proxy.async.shared::cta`: this thread's earlier shared-memory writes become
    /// visible to bulk copies issued after a later block barrier (a bulk store reads shared
    /// memory through the engine's own path, the *async proxy*).
    #[inline(always)]
    pub fn fence_async() {
        // SAFETY: a fence.
        unsafe {
            core::arch::asm!(
                "fence.proxy.async.shared::cta;",
                options(nostack, preserves_flags)
            )
        }
    }

    /// One arrival at the mbarrier `bar` that also announces `bytes` more bytes for its
    /// current phase (`mbarrier.arrive.expect_tx`): the phase completes when every arrival
    /// happened and every announced byte was delivered.
    ///
    /// # Safety
    /// `bar` is an initialised mbarrier.
    #[inline(always)]
    pub unsafe fn arrive_expect(bar: u32, bytes: u32) {
        // SAFETY: the caller's contract.
        unsafe {
            core::arch::asm!(
                "mbarrier.arrive.expect_tx.shared::cta.b64 _, [{b}], {n};",
                b = in(reg32) bar,
                n = in(reg32) bytes,
                options(nostack, preserves_flags)
            );
        }
    }

    /// Waits until the phase of parity `parity` (0 or 1) of the mbarrier `bar` has completed
    /// (`mbarrier.try_wait.parity`, acquire: the bytes the phase delivered are visible to
    /// this thread afterwards).
    ///
    /// # Safety
    /// `bar` is an initialised mbarrier whose phase `parity` will complete.
    #[inline(always)]
    pub unsafe fn wait(bar: u32, parity: u32) {
        loop {
            let done: u32;
            // SAFETY: the caller's contract.
            unsafe {
                core::arch::asm!(
                    "{{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [{b}], {q}; selp.u32 {d}, 1, 0, p; }}",
                    b = in(reg32) bar,
                    q = in(reg32) parity,
                    d = out(reg32) done,
                    options(nostack, preserves_flags)
                );
            }
            if done != 0 {
                return;
            }
        }
    }

    /// Copies `bytes` from global memory at `src` to the shared address `dst`, completing
    /// them on the mbarrier `bar` (`cp.async.bulk…mbarrier::complete_tx::bytes`). The bytes
    /// must have been announced with [`arrive_expect`].
    ///
    /// # Safety
    /// `src` (a generic pointer to global memory) and `dst` are 16-byte aligned, `bytes` is a
    /// multiple of 16, both ranges are valid, and nothing reads or writes `dst .. dst + bytes`
    /// until the phase completes.
    #[inline(always)]
    pub unsafe fn load(dst: u32, src: *const u8, bytes: u32, bar: u32) {
        // SAFETY: the caller's contract.
        unsafe {
            core::arch::asm!(
                "{{ .reg .u64 g; cvta.to.global.u64 g, {s}; cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [{d}], [g], {n}, [{b}]; }}",
                d = in(reg32) dst,
                s = in(reg64) src as u64,
                n = in(reg32) bytes,
                b = in(reg32) bar,
                options(nostack, preserves_flags)
            );
        }
    }

    /// Copies `bytes` from the shared address `src` to global memory at `dst`
    /// (`cp.async.bulk.global.shared::cta.bulk_group`), in this thread's current bulk group
    /// (close it with [`commit`]).
    ///
    /// # Safety
    /// As [`load`], reversed; the shared bytes were written before a [`fence_async`] and a
    /// block barrier, and stay unchanged until [`wait_read`] returns.
    #[inline(always)]
    pub unsafe fn store(dst: *mut u8, src: u32, bytes: u32) {
        // SAFETY: the caller's contract.
        unsafe {
            core::arch::asm!(
                "{{ .reg .u64 g; cvta.to.global.u64 g, {d}; cp.async.bulk.global.shared::cta.bulk_group [g], [{s}], {n}; }}",
                d = in(reg64) dst as u64,
                s = in(reg32) src,
                n = in(reg32) bytes,
                options(nostack, preserves_flags)
            );
        }
    }

    /// Copies the box of the two-dimensional tensor described by the tensor map at `map`
    /// whose first element has the coordinates `(x, y)` from the shared address `src` to
    /// global memory (`cp.async.bulk.tensor.2d.global.shared::cta.tile.bulk_group`), in this
    /// thread's current bulk group (close it with [`commit`]). The map's swizzle mode says
    /// how the box is laid out at `src`.
    ///
    /// # Safety
    /// `map` is a generic pointer to a valid `CUtensorMap` in global memory, made visible to
    /// this thread's tensor-map accesses by [`fence_tensormap`]; `src` is aligned as the
    /// map's swizzle mode requires (1024 bytes for 128-byte swizzling), the box lies inside
    /// the tensor, and the shared bytes were written before a [`fence_async`] and a block
    /// barrier and stay unchanged until [`wait_read`] returns.
    #[inline(always)]
    pub unsafe fn store_tensor_2d(map: *const u8, x: i32, y: i32, src: u32) {
        // SAFETY: the caller's contract.
        unsafe {
            core::arch::asm!(
                "cp.async.bulk.tensor.2d.global.shared::cta.tile.bulk_group [{m}, {{{x}, {y}}}], [{s}];",
                m = in(reg64) map as u64,
                x = in(reg32) x,
                y = in(reg32) y,
                s = in(reg32) src,
                options(nostack, preserves_flags)
            );
        }
    }

    /// `fence.proxy.tensormap::generic.acquire.gpu` on the 128-byte tensor map at `map`
    /// (global memory): this thread's later tensor copies see the map as written before the
    /// kernel started (by the host's copy), not a copy the tensor unit cached from an earlier
    /// launch. PTX ISA 8.3.
    ///
    /// # Safety
    /// `map` is a generic pointer to 128 bytes of global memory, 64-byte aligned.
    #[inline(always)]
    pub unsafe fn fence_tensormap(map: *const u8) {
        // SAFETY: the caller's contract.
        unsafe {
            core::arch::asm!(
                "fence.proxy.tensormap::generic.acquire.gpu [{m}], 128;",
                m = in(reg64) map as u64,
                options(nostack, preserves_flags)
            );
        }
    }

    /// Closes this thread's current bulk group (`cp.async.bulk.commit_group`).
    #[inline(always)]
    pub fn commit() {
        // SAFETY: bookkeeping of this thread's bulk stores.
        unsafe {
            core::arch::asm!(
                "cp.async.bulk.commit_group;",
                options(nostack, preserves_flags)
            )
        }
    }

    /// Waits until every bulk group this thread committed has finished reading its shared
    /// source (`cp.async.bulk.wait_group.read 0`): the shared memory may be rewritten.
    #[inline(always)]
    pub fn wait_read() {
        // SAFETY: a wait.
        unsafe {
            core::arch::asm!(
                "cp.async.bulk.wait_group.read 0;",
                options(nostack, preserves_flags)
            )
        }
    }

    /// Waits until every bulk group this thread committed is complete
    /// (`cp.async.bulk.wait_group 0`): its writes are done.
    #[inline(always)]
    pub fn wait_all() {
        // SAFETY: a wait.
        unsafe {
            core::arch::asm!(
                "cp.async.bulk.wait_group 0;",
                options(nostack, preserves_flags)
            )
        }
    }
}

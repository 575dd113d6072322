//! MUSE's GPU kernels: thin `extern "ptx-kernel"` entry points over muse-core's generic
//! functions (the very code the CPU runs), one symbol per operation and storage type,
//! `{op}_{dtype}`. Built for `nvptx64-nvidia-cuda` by `../build-ptx.sh`; the PTX is committed
//! under `../ptx/` and embedded by the host crate `muse-gpu`.
//!
//! Kernels never trap on bad data: the host checks every length before a launch, and
//! numeric failures inside a kernel are reported through an error-flag word ([`flag`]).
#![no_std]
#![feature(abi_ptx, stdarch_nvptx, asm_experimental_arch, link_llvm_intrinsics)]
#![allow(
    clippy::missing_safety_doc,
    clippy::too_many_arguments,
    internal_features
)]

pub mod cuda;
pub mod flag;
pub mod layout;
pub mod lm;
pub mod ode;
pub mod resolvent;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Unreachable by construction (the host validates every length and index); a trap is
    // the only thing left to do on the GPU.
    // SAFETY: `trap` aborts the kernel.
    unsafe { core::arch::nvptx::trap() }
}

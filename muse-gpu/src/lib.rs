//! # muse-gpu
//!
//! MUSE's kernels, compiled from Rust (muse-core's own functions) to PTX, run from safe host
//! code through cudarc (loaded at run time, so this crate builds and tests without CUDA).
//!
//! - The kernel crate `muse-gpu/kernels` (`#![no_std]`, nightly, `nvptx64-nvidia-cuda`) holds
//!   thin `extern "ptx-kernel"` shims over muse-core, one symbol per operation and storage
//!   type (`{op}_{dtype}`). `muse-gpu/build-ptx.sh` builds it; the PTX is committed under
//!   `muse-gpu/ptx/` and embedded here ([`PTX_SM90`], [`PTX_SM70`]) beside the hash of its
//!   sources ([`PTX_SOURCES_SHA256`]), which the test `ptx_is_fresh` recomputes.
#![warn(missing_docs)]

/// The kernels as PTX for `sm_90` (H100, H200), built by `muse-gpu/build-ptx.sh`.
pub const PTX_SM90: &str = include_str!("../ptx/muse_kernels_sm90.ptx");
/// The kernels as PTX for `sm_70` (portable; the driver compiles it forward).
pub const PTX_SM70: &str = include_str!("../ptx/muse_kernels_sm70.ptx");
/// SHA-256 of the listing of every source file the PTX was built from (see `build-ptx.sh`).
pub const PTX_SOURCES_SHA256: &str = include_str!("../ptx/SOURCES.sha256");

/// Every kernel entry point in the PTX.
pub const KERNELS: [&str; 24] = [
    "resolvent_diag_block_f32",
    "resolvent_diag_block_f16",
    "resolvent_diag_rows_f32",
    "resolvent_diag_rows_f16",
    "causal_resolvent_block_f32",
    "causal_resolvent_block_f16",
    "causal_resolvent_rows_f32",
    "causal_resolvent_rows_f16",
    "resolvent_vjp_rows_f32",
    "resolvent_vjp_rows_f16",
    "causal_resolvent_vjp_rows_f32",
    "causal_resolvent_vjp_rows_f16",
    "resolvent_vjp_block_f32",
    "resolvent_vjp_block_f16",
    "causal_resolvent_vjp_block_f32",
    "causal_resolvent_vjp_block_f16",
    "resolvent_diag_smem_f32",
    "resolvent_diag_smem_f16",
    "causal_resolvent_smem_f32",
    "causal_resolvent_smem_f16",
    "resolvent_vjp_smem_f32",
    "resolvent_vjp_smem_f16",
    "causal_resolvent_vjp_smem_f32",
    "causal_resolvent_vjp_smem_f16",
];

/// The kernels only the sm_90 PTX has, with their cluster size: the cluster VJPs (thread
/// block clusters, distributed shared memory; `.reqnctapercluster`) and the streaming
/// forward kernel (bulk copies, mbarriers and tensor stores, PTX ISA 8.3; no cluster).
pub const KERNELS_SM90: [(&str, Option<u32>); 7] = [
    ("resolvent_vjp_cluster4_f32", Some(4)),
    ("resolvent_vjp_cluster4_f16", Some(4)),
    ("resolvent_vjp_cluster8_f32", Some(8)),
    ("resolvent_vjp_cluster8_f16", Some(8)),
    ("resolvent_vjp_cluster4_tile4_f32", Some(4)),
    ("resolvent_vjp_cluster8_tile4_f32", Some(8)),
    ("resolvent_diag_stream16_f32", None),
];

pub mod adjoint;
pub mod bench;
pub mod context;
#[cfg(feature = "cust")]
pub mod cust_backend;
pub mod error;
#[path = "../kernels/src/flag.rs"]
pub mod flag;
pub mod leapfrog;
pub mod lm_ops;
pub mod ode_kpi;
pub mod ptx;
pub mod resolvent;

pub use context::{driver_present, DeviceBuffer, Gpu, MemoryReport, MemoryTracker};
pub use error::GpuError;

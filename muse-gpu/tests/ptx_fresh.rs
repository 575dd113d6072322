//! The committed PTX is fresh and well formed: runs anywhere (no GPU, no CUDA).

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rs_files(dir: &Path, rel: &str, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let e = e.expect("dir entry");
        let name = e.file_name().into_string().expect("utf-8 file name");
        let rel = format!("{rel}/{name}");
        if e.file_type().expect("file type").is_dir() {
            rs_files(&e.path(), &rel, out);
        } else if name.ends_with(".rs") {
            out.push(rel);
        }
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Recomputes the hash that `muse-gpu/build-ptx.sh` records: `sha256sum` of every source file
/// in byte order of their paths, then the sha256 of that listing.
#[test]
fn ptx_is_fresh() {
    let root = root();
    let mut files = Vec::new();
    for d in ["muse-gpu/kernels/src", "muse-core/src"] {
        rs_files(&root.join(d), d, &mut files);
    }
    files.extend(
        [
            "muse-gpu/kernels/Cargo.toml",
            "muse-gpu/kernels/Cargo.lock",
            "muse-gpu/kernels/rust-toolchain.toml",
            "muse-core/Cargo.toml",
            "muse-gpu/build-ptx.sh",
        ]
        .map(String::from),
    );
    files.sort();
    let mut listing = String::new();
    for f in &files {
        let bytes = std::fs::read(root.join(f)).expect("read source");
        listing.push_str(&format!("{}  {f}\n", hex(&Sha256::digest(&bytes))));
    }
    let got = hex(&Sha256::digest(listing.as_bytes()));
    let want = muse_gpu::PTX_SOURCES_SHA256.trim();
    assert_eq!(
        got, want,
        "muse-gpu/ptx is stale: the kernel sources changed since the PTX was built. \
         Run muse-gpu/build-ptx.sh (nightly) and commit muse-gpu/ptx/. Files hashed now:\n{listing}"
    );
}

#[test]
fn ptx_has_every_kernel_and_no_externs() {
    for ptx in [muse_gpu::PTX_SM90, muse_gpu::PTX_SM70] {
        assert!(ptx.contains(".address_size 64"));
        for k in muse_gpu::KERNELS {
            assert!(
                ptx.contains(&format!(".visible .entry {k}(")),
                "missing kernel {k}"
            );
        }
        // The one `.extern` allowed: the block's dynamic shared memory (kernels' `cuda::shared`).
        for line in ptx.lines().filter(|l| l.contains(".extern")) {
            assert_eq!(
                line.trim(),
                ".extern .shared .align 16 .b8 muse_dynamic_smem[];",
                "unresolved external in the PTX"
            );
        }
    }
    assert!(muse_gpu::PTX_SM90.contains(".target sm_90"));
    assert!(muse_gpu::PTX_SM70.contains(".target sm_70"));
    // The sm_90 kernels: in the sm_90 PTX only (PTX ISA 8.3), each with its cluster size.
    assert!(muse_gpu::PTX_SM90.contains(".version 8.3"));
    for (k, ctas) in muse_gpu::KERNELS_SM90 {
        let entry = format!(".visible .entry {k}(");
        assert!(!muse_gpu::PTX_SM70.contains(&entry), "{k} in the sm_70 PTX");
        let body = muse_gpu::PTX_SM90
            .split(&entry)
            .nth(1)
            .unwrap_or_else(|| panic!("missing kernel {k}"));
        let head = body.split('{').next().unwrap_or_default();
        assert_eq!(
            head.lines().find(|l| l.starts_with(".reqnctapercluster")),
            ctas.map(|c| format!(".reqnctapercluster {c}, 1, 1"))
                .as_deref(),
            "{k}: cluster size"
        );
    }
}

#[test]
fn ptx_fuses_multiply_adds_only_where_muse_core_asks() {
    // build-ptx.sh documents FMA contraction as off: the GPU rounds like the CPU f32 path.
    // The only `fma.rn` are muse-core's explicit `Real::mul_add` (libm's correctly rounded
    // `fma` on the CPU, the same bits), which only the register-tile arithmetic uses: the
    // tile, split, cluster and streaming kernels. The forward tile8 kernels carry `.maxnreg
    // 64`, the tile16, tile VJP and streaming kernels `.maxnreg 128`, the cluster kernels none
    // (build-ptx.sh).
    for ptx in [muse_gpu::PTX_SM90, muse_gpu::PTX_SM70] {
        let mut entries = 0;
        for body in ptx.split(".visible .entry ").skip(1) {
            let name = body.split('(').next().unwrap_or_default();
            let tiles = name.contains("_tile")
                || name.contains("_split")
                || name.contains("_cluster")
                || name.contains("_stream");
            assert!(
                tiles || !body.contains("fma.rn.f32"),
                "`{name}` has a fused multiply-add"
            );
            let head = body.split('{').next().unwrap_or_default();
            let want = if name.starts_with("resolvent_vjp_tile8_")
                || name.contains("_tile16_")
                || name.contains("_stream16_")
            {
                Some(".maxnreg 128")
            } else if name.contains("_tile8_") {
                Some(".maxnreg 64")
            } else {
                None
            };
            assert_eq!(
                head.lines().find(|l| l.starts_with(".maxnreg")),
                want,
                "`{name}`: .maxnreg"
            );
            entries += 1;
        }
        assert!(entries > 20);
        assert!(ptx.contains("fma.rn.f32"));
    }
}

#[test]
fn ptx_stream_kernel_waits_for_its_bulk_stores() {
    // The streaming kernel rewrites its output buffer every row while the previous row's
    // tensor store may still be reading it, and its block's shared memory goes away at exit:
    // it must wait for the stores' reads (`wait_group.read`) before the outputs, and for the
    // stores themselves before it exits. Session 12 lost both waits in an edit; the GPU parity
    // tests still passed (the race is timing-dependent), one benchmark row was wrong. The
    // tensor map comes from the host's copy: the tensor-map fence before its first use.
    let body = muse_gpu::PTX_SM90
        .split(".visible .entry ")
        .find(|b| b.starts_with("resolvent_diag_stream16_f32("))
        .expect("the streaming kernel");
    for op in [
        "fence.proxy.async",
        "fence.proxy.tensormap::generic.acquire",
        "cp.async.bulk.tensor.2d.global.shared::cta.tile.bulk_group",
        "cp.async.bulk.commit_group",
        "cp.async.bulk.wait_group.read 0",
        "cp.async.bulk.wait_group 0",
    ] {
        assert!(body.contains(op), "the streaming kernel has no `{op}`");
    }
}

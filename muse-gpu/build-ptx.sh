#!/usr/bin/env bash
# Rebuilds muse-gpu/ptx/*.ptx from the Rust kernel crate muse-gpu/kernels (#![no_std], thin
# extern "ptx-kernel" shims over muse-core) with rustc's own NVPTX backend, and records the
# hash of every source file that went into it (muse-gpu/ptx/SOURCES.sha256, checked by the
# test `ptx_is_fresh`). The PTX is committed, so the workspace builds on stable without CUDA.
#
# Needs: the nightly toolchain with rust-src and llvm-tools, and llvm-bitcode-linker (the
# nightly copy or stable's). Offline rust-src: shared/toolchain/rust-src-*.tar.xz (TOOLCHAIN.md).
# Flags: release, lto = "fat", codegen-units = 1, panic = "abort" (kernels/Cargo.toml),
# -Zbuild-std=core, -C target-cpu=sm_90 (and sm_70, portable, JIT-compiled forward).
# FMA contraction: OFF. rustc never marks IR for contraction and we do not pass
# -nvptx-fma-level, so LLVM emits mul.rn/add.rn (ptxas does not fuse instructions with an
# explicit rounding mode): the GPU rounds like muse-core's f32 CPU path (up to libm vs
# the GPU's instruction sequences, which are the same software libm here). The only fma.rn
# are muse-core's explicit Real::mul_add (core's mul_add on nvptx, libm's correctly rounded
# fma on the CPU: the same bits), used by the register tiles (test ptx_fresh).
# Usage: muse-gpu/build-ptx.sh [--check]   (--check: rebuild, then fail if git sees a diff)
# Optional: PTXAS=/path/to/ptxas validates each PTX after building.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd .. && pwd)
TC=${KERNEL_TOOLCHAIN:-nightly}
HOST=x86_64-unknown-linux-gnu
LBL=$(rustc +"$TC" --print sysroot)/lib/rustlib/$HOST/bin/self-contained/llvm-bitcode-linker
[ -x "$LBL" ] || LBL=$(rustc +stable --print sysroot)/lib/rustlib/$HOST/bin/self-contained/llvm-bitcode-linker
[ -x "$LBL" ] || { echo "llvm-bitcode-linker missing: rustup component add llvm-bitcode-linker" >&2; exit 1; }
[ -x "$(rustc +"$TC" --print sysroot)/lib/rustlib/$HOST/bin/llvm-link" ] || { echo "rustup component add --toolchain $TC llvm-tools" >&2; exit 1; }
[ -d "$(rustc +"$TC" --print sysroot)/lib/rustlib/src/rust/library" ] || { echo "rust-src missing (rustup component add --toolchain $TC rust-src, or shared/toolchain/rust-src-*.tar.xz)" >&2; exit 1; }

build() { # $1 target-cpu, $2 output file, $3 extra target features
  CARGO_TARGET_DIR=kernels/target/ptx-$1 RUSTFLAGS="-C target-cpu=$1 ${3:+-C target-feature=$3 }-C linker=$LBL -A linker_messages -C llvm-args=-unroll-threshold=20000" \
    cargo +"$TC" build --release --locked --manifest-path kernels/Cargo.toml \
      --target nvptx64-nvidia-cuda -Zbuild-std=core
  # Crate disambiguators in mangled names hash the checkout's path: normalise our two crates'
  # so that any checkout rebuilds the same bytes (`--check`).
  # The tile8 kernels run 512 threads per row: `.maxnreg 64` (what CUDA C++ says with
  # `__launch_bounds__(512, 2)`, which rustc cannot express) lets two blocks share an SM;
  # `.maxnreg 128` keeps 512-thread blocks (N up to 8192) possible for the tile16 kernels (and
  # two 256-thread blocks per SM for the streaming kernel),
  # and (N up to 4096) for the tile VJP kernels. The cluster VJP kernels declare their cluster
  # size (`.reqnctapercluster`, what CUDA C++ says with `__cluster_dims__`), so a plain launch
  # of `rows × size` blocks runs each row on one cluster.
  sed -E 's/Cs[0-9A-Za-z]+_(9muse_core|16muse_gpu_kernels)/Cs0_\1/g' \
    "kernels/target/ptx-$1/nvptx64-nvidia-cuda/release/muse_gpu_kernels.ptx" \
    | sed -E '/^\.visible \.entry (resolvent_diag|causal_resolvent)_tile8_f(32|16)\(/,/^\)/ s/^\)(.*)$/)\1\n.maxnreg 64/' \
    | sed -E '/^\.visible \.entry ([a-z_]+_tile16|resolvent_vjp_tile8|resolvent_diag_stream16)_f(32|16)\(/,/^\)/ s/^\)(.*)$/)\1\n.maxnreg 128/' \
    | sed -E '/^\.visible \.entry resolvent_vjp_cluster([0-9])(_tile[24])?_f(32|16)\(/,/^\)/ { /^\.visible/ { h; s/.*cluster([0-9]).*/\1/; x }; /^\)/ { G; s/^\)(.*)\n([0-9])$/)\1\n.reqnctapercluster \2, 1, 1/ } }' > "ptx/$2"
  if [ -n "${PTXAS:-}" ]; then "$PTXAS" -arch="$1" "ptx/$2" -o /dev/null && echo "ptxas ok: $2"; fi
}
mkdir -p ptx
build sm_90 muse_kernels_sm90.ptx +ptx83  # H100/H200: .target sm_90, PTX ISA 8.3 (bulk copies, tensor-map fence)
build sm_70 muse_kernels_sm70.ptx   # portable: .target sm_70

# The sources of the PTX: the kernel crate, the muse-core sources it compiles, the lock file
# and this script. Same listing and hash as muse-gpu/tests/ptx_fresh.rs computes.
( cd "$ROOT"
  { find muse-gpu/kernels/src muse-core/src -type f -name '*.rs'
    printf '%s\n' muse-gpu/kernels/Cargo.toml muse-gpu/kernels/Cargo.lock \
      muse-gpu/kernels/rust-toolchain.toml muse-core/Cargo.toml muse-gpu/build-ptx.sh
  } | LC_ALL=C sort | xargs sha256sum > muse-gpu/ptx/SOURCES.txt
  sha256sum < muse-gpu/ptx/SOURCES.txt | cut -d' ' -f1 > muse-gpu/ptx/SOURCES.sha256 )
echo "PTX sources hash: $(cat ptx/SOURCES.sha256)"
if [ "${1:-}" = "--check" ]; then git diff --exit-code -- ptx/ && echo "committed PTX is up to date"; fi

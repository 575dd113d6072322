#!/usr/bin/env bash
# Session 16, run 2: builds .device/s16/ (ignored by git) from a clean checkout of main with
# both patches of this folder applied (D: `Tile::diag`'s recurrences meet in the middle; N:
# the streaming kernel's last barrier of a row a named barrier only the io warp waits at):
# the bench and gpu_parity binaries (ND embedded), the PTX of ND, D, N and their compute-only
# variants (../session15/variant.py), each trimmed to the streaming kernel
# (../session15/trim_ptx.py), and U (main's kernel, trimmed, with its compute-only variant, and
# trimmed to the tile8 kernel) from session 15's .device/s15r1/ (or build them with ../session15/prepare.sh).
# Needs PTXAS (ptxas 12.x; .ci/run installs one under .tools/) and the nightly kernel
# toolchain. ~8 min on 2 cores. Leaves the tree with ND applied and its PTX built.
set -euo pipefail
ROOT=$(git rev-parse --show-toplevel); cd "$ROOT"
export PTXAS=${PTXAS:-$ROOT/.tools/nvcc/nvidia/cuda_nvcc/bin/ptxas}
D=.device/s16; H=muse-gpu/results/session15; P=muse-gpu/results/session16
K=resolvent_diag_stream16_f32
# The script checks out muse-core/src and muse-gpu/kernels/src between variants: refuse to
# run over local changes there (as ../session15/prepare.sh does).
[ -z "$(git status --porcelain -- muse-gpu/src muse-gpu/kernels muse-gpu/ptx muse-gpu/tests muse-gpu/build-ptx.sh muse-core)" ] \
  || { echo "local changes under muse-gpu/ or muse-core/: commit or stash them first" >&2; exit 1; }
mkdir -p $D
git apply $P/d-diag-meet-in-the-middle.patch $P/n-named-output-barrier.patch
bash muse-gpu/build-ptx.sh >/dev/null 2>&1
cp muse-gpu/ptx/muse_kernels_sm90.ptx $D/ND.ptx
echo "== parity and bench binaries (ND)"
strip -o $D/gpu_parity "$(cargo test --release -p muse-gpu --no-run 2>&1 | grep -o 'target/release/deps/gpu_parity-[0-9a-f]*' | head -1)"
cargo build --release -p muse-gpu --example gpu_resolvent_bench 2>&1 | tail -1
strip -o $D/gpu_resolvent_bench target/release/examples/gpu_resolvent_bench
python3 $H/variant.py componly $D/componlyND.ptx
echo "== D"; git checkout -- muse-gpu/kernels/src; bash muse-gpu/build-ptx.sh >/dev/null 2>&1; cp muse-gpu/ptx/muse_kernels_sm90.ptx $D/D.ptx; python3 $H/variant.py componly $D/componlyD.ptx
echo "== N"; git checkout -- muse-core/src; git apply $P/n-named-output-barrier.patch; bash muse-gpu/build-ptx.sh >/dev/null 2>&1; cp muse-gpu/ptx/muse_kernels_sm90.ptx $D/N.ptx; python3 $H/variant.py componly $D/componlyN.ptx
echo "== back to ND"; git apply $P/d-diag-meet-in-the-middle.patch; bash muse-gpu/build-ptx.sh >/dev/null 2>&1
for v in ND D N componlyND componlyD componlyN; do
  python3 $H/trim_ptx.py $D/$v.ptx $D/$v.t.ptx $K
  "$PTXAS" -arch=sm_90 -v $D/$v.t.ptx -o /tmp/$v.cubin 2>&1 | grep -E "Used" | head -1 | sed "s/^/$v: /"
  rm $D/$v.ptx
done
for f in U.t.ptx.xz componlyU.t.ptx.xz; do cp .device/s15r1/$f $D/; done
# B16 `Auto` (tiles of 8): both kernels trimmed to `resolvent_diag_tile8_f32`.
xz -dc .device/s15r1/U.ptx.xz > /tmp/U.ptx
python3 $H/trim_ptx.py /tmp/U.ptx $D/U8.t.ptx resolvent_diag_tile8_f32
python3 $H/trim_ptx.py muse-gpu/ptx/muse_kernels_sm90.ptx $D/ND8.t.ptx resolvent_diag_tile8_f32
cp $P/run.sh $D/
xz -T2 $D/gpu_parity $D/gpu_resolvent_bench $D/*.t.ptx
ls -la $D
echo "now: the device tool's run with command 'bash $D/run.sh' and carry [\"$D\"]"

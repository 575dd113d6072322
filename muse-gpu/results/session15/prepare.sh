#!/usr/bin/env bash
# Session 15: builds everything run.sh needs into .device/s15r1/ (ignored by git), from a clean
# checkout of main (no local changes under muse-gpu/ or muse-core/):
#   baseline: the committed kernel (U.ptx, session 14's) with main's bench binary, and its
#             compute-only variant (componlyU.ptx);
#   S3:       s3-three-blocks.patch applied (three streaming blocks per SM: `a` read by the
#             threads from global memory after an L2 prefetch, 67 408 bytes of shared memory
#             at N = 4096, `.maxnreg 80`), its bench and gpu_parity binaries, S3.ptx, and its
#             compute-only variant (componly3.ptx);
#   S2g:      S3's PTX with the streaming kernel's `.maxnreg 128` (two blocks per SM: the
#             global `a` reads without the extra blocks), and componly2g.ptx likewise;
#   S3np:     S3 without the L2 prefetch of the next row's `a`;
#   S3c:      S3 + s3c-no-chain-barrier.patch (every warp chains its own boundaries from the
#             warps' totals: two barriers per row instead of three), its gpu_parity_c binary
#             and componly3c.ptx.
# Every variant is also trimmed to the streaming kernel (`*.t.ptx`, trim_ptx.py: the driver
# JIT-compiles it in about a second instead of ~35 s for the whole module; the kernel's SASS
# is the same, checked with ptxas here). The patch is reverted at the end (the tree is left as
# it was). Takes ~9 min on 2 cores.
# Needs PTXAS (ptxas 12.x; .ci/run installs one under .tools/) and the nightly kernel
# toolchain (build-ptx.sh).
set -euo pipefail
ROOT=$(git rev-parse --show-toplevel); cd "$ROOT"
HERE=muse-gpu/results/session15
D=.device/s15r1
export PTXAS=${PTXAS:-$ROOT/.tools/nvcc/nvidia/cuda_nvcc/bin/ptxas}
[ -x "$PTXAS" ] || { echo "ptxas not found: set PTXAS" >&2; exit 1; }
# cuobjdump + nvdisasm (PyPI wheels nvidia-cuda-cuobjdump, nvidia-cuda-nvdisasm, cu13), where
# installed under .tools/: the SASS check of the trimmed modules.
export PATH="$ROOT/.tools/cuobj/nvidia/cu13/bin:$ROOT/.tools/nvdis/nvidia/cu13/bin:$PATH"
[ -z "$(git status --porcelain -- muse-gpu/src muse-gpu/kernels muse-gpu/ptx muse-gpu/tests muse-gpu/build-ptx.sh muse-core)" ] \
  || { echo "local changes under muse-gpu/ or muse-core/: commit or stash them first" >&2; exit 1; }
rm -rf "$D"; mkdir -p "$D"
# The S2g variants: the streaming kernel's `.maxnreg 80` → 128 in a PTX file.
regs128() { awk '/^\.visible \.entry resolvent_diag_stream16_f32\(/{f=1} f&&/^\.maxnreg 80$/{print ".maxnreg 128"; f=0; next} {print}' "$1" > "$2"; grep -q '^.maxnreg 128' "$2"; }

echo "== baseline (main)"
cargo build --release -p muse-gpu --example gpu_resolvent_bench
strip -o "$D/gpu_resolvent_bench_old" target/release/examples/gpu_resolvent_bench
cp muse-gpu/ptx/muse_kernels_sm90.ptx "$D/U.ptx"
python3 "$HERE/variant.py" componly "$D/componlyU.ptx"

echo "== S3 (patch applied)"
trap 'git checkout -- muse-gpu/src muse-gpu/kernels/src muse-gpu/ptx muse-gpu/tests muse-gpu/build-ptx.sh' EXIT
parity_bin() { cargo test --release -p muse-gpu --no-run 2>&1 | grep -o 'target/release/deps/gpu_parity-[0-9a-f]*' | head -1; }
git apply "$HERE/s3-three-blocks.patch"
bash muse-gpu/build-ptx.sh
cp muse-gpu/ptx/muse_kernels_sm90.ptx "$D/S3.ptx"
regs128 "$D/S3.ptx" "$D/S2g.ptx"
cargo build --release -p muse-gpu --example gpu_resolvent_bench
strip -o "$D/gpu_resolvent_bench" target/release/examples/gpu_resolvent_bench
strip -o "$D/gpu_parity" "$(parity_bin)"
python3 "$HERE/variant.py" componly "$D/componly3.ptx"
regs128 "$D/componly3.ptx" "$D/componly2g.ptx"
python3 "$HERE/variant.py" noprefetch "$D/S3np.ptx"

echo "== S3c (both patches applied)"
git apply "$HERE/s3c-no-chain-barrier.patch"
bash muse-gpu/build-ptx.sh
cp muse-gpu/ptx/muse_kernels_sm90.ptx "$D/S3c.ptx"
strip -o "$D/gpu_parity_c" "$(parity_bin)"
python3 "$HERE/variant.py" componly "$D/componly3c.ptx"

K=resolvent_diag_stream16_f32
for v in U S3 S2g S3np S3c componlyU componly3 componly2g componly3c; do
  python3 "$HERE/trim_ptx.py" "$D/$v.ptx" "$D/$v.t.ptx" $K
  # The trimmed module must give the kernel the same code as the whole one.
  "$PTXAS" -arch=sm_90 "$D/$v.ptx" -o /tmp/full.cubin; "$PTXAS" -arch=sm_90 "$D/$v.t.ptx" -o /tmp/trim.cubin
  if command -v cuobjdump >/dev/null; then
    cmp <(cuobjdump -sass -fun $K /tmp/full.cubin | grep -E '^\s+/\*[0-9a-f]{4,5}\*/') \
        <(cuobjdump -sass -fun $K /tmp/trim.cubin | grep -E '^\s+/\*[0-9a-f]{4,5}\*/') \
      && echo "$v: trimmed module, same SASS"
  fi
  [ $v = U ] || rm "$D/$v.ptx"   # the whole U module stays, for a cross-check of the trimming
done
cp "$HERE/run.sh" "$D/"
xz -T2 "$D"/gpu_* "$D"/*.ptx
ls -la "$D"
echo "now: the device tool's run with command 'bash $D/run.sh' and carry [\"$D\"]"

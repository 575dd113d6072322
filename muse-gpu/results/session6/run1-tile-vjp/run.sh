#!/bin/bash
# Session 6, run 1: the tile VJP kernel (resolvent_vjp_tile8_*). Parity (resolvent, LM), the
# VJP bench cases, and `muse bench resolvent --device gpu` (forward and VJP in one run).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity tests gpu_resolvent_bench muse
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so && export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== resolvent parity"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; rc=$?; echo rc=$rc
grep -E "^test |result" $OUT/resolvent_parity.log | cut -c1-100; grep -B2 -A6 "panicked" $OUT/resolvent_parity.log | cut -c1-250
grep -E "TILE|Tile|tile" $OUT/resolvent_parity.log | grep -i vjp | cut -c1-160 | head -40
echo "== vjp bench"; timeout 120 ./gpu_resolvent_bench --match "op: Vjp" --json $OUT/vjp_bench.json > $OUT/vjp_bench.log 2>&1; echo rc=$?; cat $OUT/vjp_bench.log | cut -c1-130
echo "== lm gpu parity"; timeout 60 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "result" $OUT/lm_gpu.log
echo "== muse bench resolvent --device gpu"; timeout 220 ./muse bench resolvent --device gpu --out-dir $OUT/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; tail -24 $OUT/cli_bench.log | cut -c1-160

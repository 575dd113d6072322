#!/bin/bash
# Session 5, run 5 (candidate commit): staged tile kernels, L2 prefetch two waves ahead, transfers
# normalised every second step, Real::recip_normal, warp scans normalised at one level of five.
# Parity (resolvent, ODE, LM); B=16384 tiles of this build and run 4's (rcp); the full bench;
# `muse bench resolvent --device gpu`.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_ode_parity tests gpu_resolvent_bench muse
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so && export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== resolvent parity"; timeout 120 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; rc=$?; echo rc=$rc
grep -E "^test |result" $OUT/resolvent_parity.log | cut -c1-100; grep -B2 -A6 "panicked" $OUT/resolvent_parity.log | cut -c1-250
[ $rc = 124 ] && exit 1
echo "== ode parity"; timeout 60 ./gpu_ode_parity --test-threads=1 > $OUT/ode_parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/ode_parity.log
echo "== lm gpu parity"; timeout 60 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "result" $OUT/lm_gpu.log
echo "== B16384 tiles, run 4's PTX (rcp)"; timeout 40 ./gpu_resolvent_bench --quick --ptx rcp.ptx --match "rows: 16384,;Tile" > $OUT/b16384_rcp.log 2>&1; echo rc=$?; grep -E "tile" $OUT/b16384_rcp.log | cut -c1-110
echo "== bench"; timeout 200 ./gpu_resolvent_bench --json $OUT/bench.json > $OUT/bench.log 2>&1; echo rc=$?; grep -E "N=4096.*(tile8|auto|split4)|copy" $OUT/bench.log | cut -c1-118
echo "== muse bench resolvent --device gpu"; timeout 200 ./muse bench resolvent --device gpu --out-dir $OUT/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; tail -22 $OUT/cli_bench.log | cut -c1-160

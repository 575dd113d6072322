#!/bin/bash
# Session 4, run 4 (final candidate): run 3's kernels + Auto = split4 for a few long rows
# (N >= 4096, rows <= SMs/4). Parity (resolvent incl. Auto-split cases, ODE, LM), the full
# bench, `muse bench resolvent --device gpu`, and ncu of tile8 at B = 16384.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_ode_parity tests gpu_resolvent_bench muse
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so && export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== resolvent parity"; timeout 120 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; rc=$?; echo rc=$rc
grep -E "^test |result|panicked" $OUT/resolvent_parity.log | cut -c1-100; grep -E "split8" $OUT/resolvent_parity.log | cut -c1-140 | head -5
[ $rc = 124 ] && exit 1
echo "== ode parity"; timeout 60 ./gpu_ode_parity --test-threads=1 > $OUT/ode_parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/ode_parity.log
echo "== lm gpu parity"; timeout 60 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "result" $OUT/lm_gpu.log
echo "== bench"; timeout 200 ./gpu_resolvent_bench --json $OUT/bench.json > $OUT/bench.log 2>&1; echo rc=$?; grep -E "N=4096.*(tile8|auto|split4)|copy" $OUT/bench.log | cut -c1-118
echo "== muse bench resolvent --device gpu"; timeout 200 ./muse bench resolvent --device gpu --out-dir $OUT/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; tail -22 $OUT/cli_bench.log | cut -c1-160

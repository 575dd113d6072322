#!/bin/bash
# Session 3, run 3 (final candidate): committed PTX (tile kernels, unroll 20000, scalbn's rare
# branch out of line); run1.ptx = the same without the out-of-line branch (run 1's build).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_ode_parity tests gpu_resolvent_bench muse
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so && export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== resolvent parity"; timeout 120 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; echo rc=$?
grep -E "^test |result|panicked" $OUT/resolvent_parity.log | cut -c1-160
echo "== ode parity"; timeout 60 ./gpu_ode_parity --test-threads=1 > $OUT/ode_parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/ode_parity.log
echo "== lm gpu parity"; timeout 60 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "result" $OUT/lm_gpu.log
echo "== bench (committed)"; timeout 200 ./gpu_resolvent_bench --json $OUT/bench.json > $OUT/bench.log 2>&1; echo rc=$?; cut -c1-125 $OUT/bench.log
echo "== bench quick run1.ptx"; timeout 120 ./gpu_resolvent_bench --quick --ptx run1.ptx --json $OUT/bench_run1.json > $OUT/bench_run1.log 2>&1; echo rc=$?; cut -c1-125 $OUT/bench_run1.log
echo "== warm vs cold"; timeout 60 ./gpu_resolvent_bench --warm 2>&1 | tail -5
echo "== muse bench resolvent --device gpu"; timeout 200 ./muse bench resolvent --device gpu --out-dir $OUT/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; tail -25 $OUT/cli_bench.log | cut -c1-160

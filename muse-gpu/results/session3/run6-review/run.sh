#!/bin/bash
# Session 3, run 6: tile/split kernels' shared scan, boundary and store helpers (review refactor).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity tests gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== resolvent parity"; timeout 120 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; echo rc=$?
grep -E "^test |result|panicked" $OUT/resolvent_parity.log | cut -c1-120
echo "== lm gpu parity"; timeout 60 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "result" $OUT/lm_gpu.log
echo "== bench quick"; timeout 150 ./gpu_resolvent_bench --quick --json $OUT/bench_quick.json > $OUT/bench_quick.log 2>&1; echo rc=$?; grep -E "tile|split|copy" $OUT/bench_quick.log | cut -c1-110

#!/bin/bash
# gpuperf final check of the committed build (bit-level exponent/scalbn): parity tests, then
# the full bench (CUDA events, 10 warm-up + 100 timed runs).
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,compute_cap,clocks.sm,clocks.mem --format=csv | tee $OUT/device.txt
set -o pipefail
echo "== parity"; timeout 150 ./gpu_parity --test-threads=1 --nocapture 2>&1 | tee $OUT/parity.log | grep -E "^test |result|panicked"; echo "parity rc=$?"
echo "== full bench"; timeout 230 ./gpu_resolvent_bench --json $OUT/bench.json 2>&1 | tee $OUT/bench.log | cut -c1-120; echo "bench rc=$?"

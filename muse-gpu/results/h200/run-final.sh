#!/bin/bash
# Final check: parity tests and the target shapes of the bench (H100/H200).
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
set -o pipefail
timeout 200 ./gpu_parity --test-threads=1 --nocapture 2>&1 | tee $OUT/parity.log | grep -E "^test |result|panicked|GPU rel. error [0-9.e-]+ vs"; echo "parity rc=$?"
#timeout 200 ./gpu_resolvent_bench --quick --json $OUT/bench_quick.json 2>&1 | tee $OUT/bench_quick.log; echo "bench rc=$?"

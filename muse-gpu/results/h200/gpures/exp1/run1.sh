#!/bin/bash
# gpures experiment 1: parity of the shared-memory kernels, then a tuning sweep.
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv | tee $OUT/device.txt
echo "== parity"; timeout 110 ./gpu_parity --test-threads=1 --nocapture > $OUT/parity.log 2>&1; echo "parity rc=$?"
grep -E "^test |test result|panicked|kernel " $OUT/parity.log | sort | uniq | head -60
echo "== sweep"; timeout 110 ./gpu_resolvent_bench --sweep --runs 30 --warmup 5 2>&1 | tee $OUT/sweep.log | cut -c1-170; echo "sweep rc=$?"

#!/bin/bash
# gpures experiment 3: parity (one-test scaling in muse-core's normalisation), warm-vs-cold,
# sweep of the new build (embedded) and of experiment 2's build (odd.ptx, small cases).
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv | tee $OUT/device.txt
echo "== parity"; timeout 100 ./gpu_parity --test-threads=1 --nocapture > $OUT/parity.log 2>&1; echo "parity rc=$?"
grep -E "^test |test result|panicked" $OUT/parity.log
echo "== warm new"; timeout 40 ./gpu_resolvent_bench --warm 2>&1 | tee $OUT/warm_new.log
echo "== sweep new"; timeout 90 ./gpu_resolvent_bench --sweep --runs 30 --warmup 5 2>&1 | tee $OUT/sweep_new.log | cut -c1-120
echo "== sweep odd (exp 2)"; timeout 40 ./gpu_resolvent_bench --sweep --small --runs 30 --warmup 5 --ptx odd.ptx 2>&1 | tee $OUT/sweep_odd.log | cut -c1-120

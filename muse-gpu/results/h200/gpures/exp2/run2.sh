#!/bin/bash
# gpures experiment 2: parity (odd chunk length), warm-vs-cold launch diagnostic, sweeps of the
# odd-chunk build (embedded) and the even-chunk build of experiment 1 (even.ptx).
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv | tee $OUT/device.txt
echo "== parity"; timeout 100 ./gpu_parity --test-threads=1 --nocapture > $OUT/parity.log 2>&1; echo "parity rc=$?"
grep -E "^test |test result|panicked" $OUT/parity.log
echo "== warm odd"; timeout 40 ./gpu_resolvent_bench --warm 2>&1 | tee $OUT/warm_odd.log
echo "== warm even"; timeout 40 ./gpu_resolvent_bench --warm --ptx even.ptx 2>&1 | tee $OUT/warm_even.log
echo "== sweep odd"; timeout 100 ./gpu_resolvent_bench --sweep --runs 30 --warmup 5 2>&1 | tee $OUT/sweep_odd.log | cut -c1-120

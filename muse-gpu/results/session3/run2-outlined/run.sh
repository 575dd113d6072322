#!/bin/bash
# Session 3, run 2: outlined cold paths; A = committed PTX (unroll 20000), B = default unroll.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; chmod +x $W/gpu_parity $W/tests $W/gpu_resolvent_bench; cd $W
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== resolvent parity (A)"; timeout 120 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; echo rc=$?
grep -E "^test |result|panicked" $OUT/resolvent_parity.log | cut -c1-200 | head -30
echo "== bench A quick"; timeout 150 ./gpu_resolvent_bench --quick --json $OUT/benchA.json > $OUT/benchA.log 2>&1; echo rc=$?; cut -c1-150 $OUT/benchA.log
echo "== bench B quick"; timeout 150 ./gpu_resolvent_bench --quick --ptx B.ptx --json $OUT/benchB.json > $OUT/benchB.log 2>&1; echo rc=$?; cut -c1-150 $OUT/benchB.log
echo "== warm vs cold (A)"; timeout 60 ./gpu_resolvent_bench --warm 2>&1 | tail -12
echo "== lm gpu parity"; timeout 60 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "result" $OUT/lm_gpu.log

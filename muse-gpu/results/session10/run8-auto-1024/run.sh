#!/bin/bash
# Session 10, run 8 (commit bfa7d3b: Auto's cluster VJP from N = 1024): parity; the Auto cases.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 240 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head
echo "== bench (Auto)"; timeout 120 ./gpu_resolvent_bench --match "Auto" --json $OUT/bench.json > $OUT/bench.log 2>&1; echo rc=$?; grep -E "median|copy" $OUT/bench.log | cut -c1-120

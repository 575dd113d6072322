#!/bin/bash
# Session 10, run 10: GPU parity after the review's test simplifications (no kernel change).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; xz -dc gpu_parity.xz > $W/gpu_parity; cd $W; chmod +x gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
timeout 240 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head

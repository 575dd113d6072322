#!/bin/bash
# Session 7, run 7 (review): GPU parity after one tile_template_vjp helper replaced two copies in gpu_parity (PTX unchanged).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; xz -dc gpu_parity.xz > $W/gpu_parity; cd $W; chmod +x gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; echo rc=$?
grep -E "^test |result" $OUT/resolvent_parity.log | cut -c1-100; grep -B2 -A6 "panicked" $OUT/resolvent_parity.log | cut -c1-250

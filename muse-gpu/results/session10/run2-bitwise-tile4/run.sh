#!/bin/bash
# Session 10, run 2: cluster VJP vs tile8 bit for bit (probe), tiles of 4 on clusters; VJP bench at B16.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== probe"; timeout 120 ./gpu_parity probe --test-threads=1 --nocapture > $OUT/probe.log 2>&1; echo rc=$?; grep -E "seed|panicked|result" $OUT/probe.log | cut -c1-220
echo "== bench"; timeout 200 ./gpu_resolvent_bench --match "Vjp;rows: 16,;4096" --json $OUT/bench_vjp.json > $OUT/bench.log 2>&1; echo rc=$?
grep -E "median|copy" $OUT/bench.log | cut -c1-125

#!/bin/bash
# Session 10, run 1: the cluster VJP kernels (2/4/8 CTAs per row): parity, then the VJP and Auto bench cases.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity (cluster)"; timeout 120 ./gpu_parity cluster --test-threads=1 --nocapture > $OUT/parity_cluster.log 2>&1; echo rc=$?; grep -E "^test |result|panicked|kernel" $OUT/parity_cluster.log | cut -c1-150 | head -40
echo "== parity (all)"; timeout 200 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head
echo "== bench"; timeout 200 ./gpu_resolvent_bench --match "Vjp" --json $OUT/bench_vjp.json > $OUT/bench.log 2>&1; echo rc=$?
timeout 100 ./gpu_resolvent_bench --match "Auto" >> $OUT/bench.log 2>&1; echo rc=$?; grep -E "median|copy" $OUT/bench.log | cut -c1-125

#!/bin/bash
# Session 10, run 5: the pulled-totals cluster VJP again (v1, 32-bit remote loads) vs v2 (64-bit
# remote loads, built in), alternating, two rounds; parity of v2; the VJP at B16 by N.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity (all)"; timeout 240 ./gpu_parity --test-threads=1 --nocapture > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head
for round in 1 2; do for v in v1 v2; do
  echo "== round $round $v"
  for m in 'op: Vjp,;rows: 16,;n: 4096,;"f32";Cluster' 'op: Diag,;rows: 16,;n: 4096,;"f32";Auto'; do
    timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match "$m" 2>&1 | grep -E "median" | cut -c1-100
  done
done; done | tee $OUT/variants.log
echo "== VJP B16 (v2)"; timeout 100 ./gpu_resolvent_bench --match 'op: Vjp,;rows: 16,;"f32"' --json $OUT/bench_vjp16.json > $OUT/bench_vjp16.log 2>&1; echo rc=$?; grep median $OUT/bench_vjp16.log | grep -v "rows  \|block/256" | cut -c1-110

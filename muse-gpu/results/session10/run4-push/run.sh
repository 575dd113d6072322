#!/bin/bash
# Session 10, run 4: the cluster VJP with pushed totals (vC, built in): parity; vA (run 3's pulled
# totals) vs vC alternating, two rounds; the VJP at B16 for N 1024..8192 and the Auto forward.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity (all)"; timeout 240 ./gpu_parity --test-threads=1 --nocapture > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head
grep -E "Cluster.*(B=16 N=4096 grad a|VJP z)" $OUT/parity.log | cut -c1-160 | head -12
for round in 1 2; do for v in vA vC; do
  echo "== round $round $v"
  for m in 'op: Vjp,;rows: 16,;n: 4096,;"f32";Cluster' 'op: Diag,;rows: 16,;n: 4096,;"f32";Auto'; do
    timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match "$m" 2>&1 | grep -E "median" | cut -c1-100
  done
done; done | tee $OUT/variants.log
echo "== VJP B16 (vC)"; timeout 100 ./gpu_resolvent_bench --match 'op: Vjp,;rows: 16,' --json $OUT/bench_vjp16.json > $OUT/bench_vjp16.log 2>&1; echo rc=$?; grep median $OUT/bench_vjp16.log | cut -c1-110

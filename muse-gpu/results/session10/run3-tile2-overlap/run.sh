#!/bin/bash
# Session 10, run 3: cluster VJP parity (tiles of 8, 4, 2; bitwise = tile8), then A (no overlap) vs
# B (cluster barriers split around independent shared-memory reads), alternating, two rounds.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity (cluster)"; timeout 200 ./gpu_parity cluster --test-threads=1 --nocapture > $OUT/parity_cluster.log 2>&1; echo rc=$?; grep -E "^test |result|panicked" $OUT/parity_cluster.log | cut -c1-150 | head; grep -A1 panicked $OUT/parity_cluster.log | head -6 | cut -c1-250
grep -E "B=16 N=4096 grad a|VJP z" $OUT/parity_cluster.log | cut -c1-160 | head -20
echo "== parity (all)"; timeout 200 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head
for round in 1 2; do for v in vA vB; do
  echo "== round $round $v"
  for m in 'op: Vjp,;rows: 16,;n: 4096,;"f32";Cluster' 'op: Vjp,;rows: 16,;n: 4096,;"f32";Tile' 'op: Diag,;rows: 16,;n: 4096,;"f32";Auto' 'op: Vjp,;rows: 16384,;"f32";Auto'; do
    timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match "$m" 2>&1 | grep -E "median" | cut -c1-100
  done
done; done | tee $OUT/variants.log

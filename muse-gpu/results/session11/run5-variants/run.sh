#!/bin/bash
# Session 11, run 5: streaming kernel v2 (embedded) vs sD (bulk copies driven by warp 1 during
# the boundary chain) vs sDS (+ conflict-free output stores: pairs permuted in registers);
# tile16 for reference. Alternating, two rounds.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
S='op: Diag,;rows: 16384,;"f32";Stream'
for round in 1 2; do
  echo -n "tile16: "; timeout 60 ./gpu_resolvent_bench --match 'op: Diag,;rows: 16384,;"f32";Tile { len: 16 }' 2>&1 | grep -E "median" | cut -c1-140
  echo -n "v2: "; timeout 60 ./gpu_resolvent_bench --match "$S" 2>&1 | grep -E "median" | cut -c1-140
  for v in sD sDS; do echo -n "$v: "; timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match "$S" 2>&1 | grep -E "median" | cut -c1-220; done
done | tee $OUT/bench.log

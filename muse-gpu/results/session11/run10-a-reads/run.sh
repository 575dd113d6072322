#!/bin/bash
# Session 11, run 10: the final streaming kernel (embedded) vs sA (conflict-free 16-byte reads
# of `a`: lane t reads chunk j ^ ((t/2) mod 4), permuted back by two conditional swaps);
# alternating, two rounds.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
S='op: Diag,;"f32";Stream'
for round in 1 2; do
  echo "final:"; timeout 100 ./gpu_resolvent_bench --stream --match "$S" 2>&1 | grep -E "median" | cut -c1-140
  echo "sA:"; timeout 100 ./gpu_resolvent_bench --stream --ptx sA.ptx --match "$S" 2>&1 | grep -E "median" | cut -c1-220
done | tee $OUT/bench.log

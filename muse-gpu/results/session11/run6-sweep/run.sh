#!/bin/bash
# Session 11, run 6: the candidate build (streaming kernel sDS embedded): full GPU parity,
# the --stream sweep (tile16 / stream / Auto over N), and sM (the output barrier merged into
# the next row's) vs the build, alternating, two rounds.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 300 ./gpu_parity --test-threads=1 --nocapture > $OUT/parity.log 2>&1; echo rc=$?
grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -B2 -A8 "panicked" $OUT/parity.log | cut -c1-300 | head -30
echo "== sweep"; timeout 200 ./gpu_resolvent_bench --stream 2>&1 | grep -E "median" | cut -c1-150 | tee $OUT/sweep.log
S='op: Diag,;rows: 16384,;"f32";Stream'
for round in 1 2; do
  echo -n "sDS: "; timeout 60 ./gpu_resolvent_bench --match "$S" 2>&1 | grep -E "median" | cut -c1-140
  echo -n "sM: "; timeout 60 ./gpu_resolvent_bench --ptx sM.ptx --match "$S" 2>&1 | grep -E "median" | cut -c1-220
done | tee $OUT/bench.log

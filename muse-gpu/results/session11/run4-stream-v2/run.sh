#!/bin/bash
# Session 11, run 4: streaming kernel v2 (own output buffer, shared failure word, recompute
# not inlined); tile16 with a shared-window failure word (sfail.ptx) vs the build's tile16.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 200 ./gpu_parity --test-threads=1 --nocapture stream > $OUT/parity.log 2>&1; echo rc=$?
grep -E "^test |result|Stream B" $OUT/parity.log | cut -c1-200; grep -B2 -A8 "panicked" $OUT/parity.log | cut -c1-300 | head -30
for round in 1 2; do
  for m in 'Tile { len: 16 }' 'Stream'; do
    timeout 60 ./gpu_resolvent_bench --match "op: Diag,;rows: 16384,;\"f32\";$m" 2>&1 | grep -E "median" | cut -c1-140
  done
  echo -n "sfail: "; timeout 60 ./gpu_resolvent_bench --ptx sfail.ptx --match "op: Diag,;rows: 16384,;\"f32\";Tile { len: 16 }" 2>&1 | grep -E "median" | cut -c1-140
done | tee $OUT/bench.log
M='op: Diag,;rows: 16384,;"f32";Stream'
timeout 200 ncu --clock-control none --kernel-name regex:stream16 --launch-count 1 --section SourceCounters --import-source no --page source --print-source sass --csv \
  ./gpu_resolvent_bench --match "$M" --warmup 0 --runs 1 > $OUT/ncu_src.csv 2>&1; echo rc=$?; xz -f $OUT/ncu_src.csv

#!/bin/bash
# Session 11, run 2: first streaming kernel (persistent blocks, bulk copies): parity of the
# stream test and the tile tests, then tile16 vs stream at B16384 alternating, two rounds.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 200 ./gpu_parity --test-threads=1 --nocapture stream tile_kernels > $OUT/parity.log 2>&1; echo rc=$?
grep -E "^test |result|Stream" $OUT/parity.log | cut -c1-200; grep -B2 -A8 "panicked" $OUT/parity.log | cut -c1-300 | head -30
for round in 1 2; do for m in 'Tile { len: 16 }' 'Stream'; do
  timeout 60 ./gpu_resolvent_bench --match "op: Diag,;rows: 16384,;\"f32\";$m" 2>&1 | grep -E "median" | cut -c1-220
done; done | tee $OUT/bench.log

#!/bin/bash
# Session 9, run 2: tile8 vs tile16 at B16384 with the minors diagonal (v3.ptx), 2 rounds.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
for r in 1 2; do for p in v3; do
echo "== $p round $r"; timeout 200 ./gpu_resolvent_bench --ptx $p.ptx --match "rows: 16384,;Tile" >> $OUT/b_${p}_${r}.log 2>&1; grep -E "median" $OUT/b_${p}_${r}.log | cut -c1-230
done; done

#!/bin/bash
# Session 9, run 5: bisecting v6's slowdown: v5 / v6 / v6c (v6 with the compare-and-select
# minimum of the minors' sizes instead of min.f32), diag f32 tiles at B16384, two rounds.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
for r in 1 2; do for p in v5 v6 v6c; do
echo "== $p round $r"; timeout 100 ./gpu_resolvent_bench --ptx $p.ptx --match 'rows: 16384,;op: Diag,;"f32";Tile' >> $OUT/b_${p}_${r}.log 2>&1; grep -E "median" $OUT/b_${p}_${r}.log | cut -c1-200
done; done

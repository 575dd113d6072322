#!/bin/bash
# Session 9, run 6: v5 / v8 (staging: all L loads in flight per thread) / v9 (v8 + L2 prefetch 4 SM-waves ahead)
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
for r in 1 2; do for p in v5 v8 v9; do
echo "== $p round $r"; timeout 100 ./gpu_resolvent_bench --ptx $p.ptx --match 'rows: 16384,;"f32";Tile' >> $OUT/b_${p}_${r}.log 2>&1; grep -E "median" $OUT/b_${p}_${r}.log | cut -c1-200
done; done

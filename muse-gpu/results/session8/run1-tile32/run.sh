#!/bin/bash
# Session 8, run 1: the sub-tiled tile32 kernels (4 tiles of 8 per thread): GPU parity, then
# B=16384 tile32 vs tile8 (and the committed PTX's tile8), alternating, two rounds.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 240 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head -20
grep -E "Tile \{ len: 32" $OUT/parity.log | cut -c1-200 | head -30
for r in 1 2; do for p in new r128 old; do
echo "== $p round $r"; timeout 100 ./gpu_resolvent_bench --ptx $p.ptx --match "rows: 16384,;Diag,;Tile" > $OUT/b_${p}_${r}.log 2>&1; grep -E "median" $OUT/b_${p}_${r}.log | cut -c1-150
done; done
echo "== others (new)"; timeout 100 ./gpu_resolvent_bench --ptx new.ptx --match "len: 32" > $OUT/b_others.log 2>&1; grep -E "median|copy" $OUT/b_others.log | cut -c1-150

#!/bin/bash
# Session 9, run 8: the tile VJP's ratios from the minors (vjp1, built in): parity, then the
# committed PTX (old) and vjp1 alternating on the VJP and forward `Auto` cases, two rounds.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 240 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head -20
grep -iE "vjp" $OUT/parity.log | cut -c1-220 | head -12; xz $OUT/parity.log
for r in 1 2; do for p in old vjp1; do
echo "== $p round $r"; for m in "rows: 16,;n: 4096,;Auto" "rows: 16384,;Vjp,;Auto"; do timeout 100 ./gpu_resolvent_bench --ptx $p.ptx --match "$m" >> $OUT/b_${p}_${r}.log 2>&1; done; grep -E "median" $OUT/b_${p}_${r}.log | cut -c1-150
done; done

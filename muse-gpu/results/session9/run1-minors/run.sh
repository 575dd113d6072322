#!/bin/bash
# Session 9, run 1: tile diagonal from the minors (one reciprocal per tile), full-tile fast
# path, balanced transfers (v3.ptx, built into the binaries): parity, then old/v3 alternating.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 240 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head -20
grep -E "Tile \{ len: 8 \} B=16 N=4096|Tile \{ len: 8 \} B=4099|B=16384" $OUT/parity.log | cut -c1-220 | head -12; xz -k $OUT/parity.log
M1="rows: 16384,;Tile { len: 8 }"; M2="rows: 16,;n: 4096,;Auto"; M3="rows: 16384,;Vjp,;Auto"; M4="n: 8192,;Auto"
for r in 1 2; do for p in old v3; do
echo "== $p round $r"; for m in "$M1" "$M2" "$M3" "$M4"; do timeout 100 ./gpu_resolvent_bench --ptx $p.ptx --match "$m" >> $OUT/b_${p}_${r}.log 2>&1; done; grep -E "median" $OUT/b_${p}_${r}.log | cut -c1-200
done; done

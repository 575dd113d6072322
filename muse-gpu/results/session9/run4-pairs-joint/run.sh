#!/bin/bash
# Session 9, run 4: parity of v6 (built in: σ once per tile, [a, k] pairs staged, min.f32 check,
# Auto tiles of 16 for many f32 rows), then v5 / v6 / v7 (v6 + one recurrence for both
# forward-tile transfers) alternating, two rounds.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 240 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head -20
xz $OUT/parity.log
M1="rows: 16384,;Tile"; M2="rows: 16,;n: 4096,;Auto"; M4="n: 8192,;Auto"; M5="rows: 16384,;op: Diag,;Auto"
for r in 1 2; do for p in v5 v6 v7; do
echo "== $p round $r"; for m in "$M1" "$M2" "$M4" "$M5"; do timeout 100 ./gpu_resolvent_bench --ptx $p.ptx --match "$m" >> $OUT/b_${p}_${r}.log 2>&1; done; grep -E "median" $OUT/b_${p}_${r}.log | cut -c1-200
done; done

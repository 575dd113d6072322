#!/bin/bash
# Session 8, run 4 (review): the warps' totals scanned by one helper (`scan_totals`) instead of
# four copies of the loop: GPU parity of the new PTX (built in), then the committed PTX (before)
# and the new one (after) alternating, two rounds.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 240 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/parity.log; grep -E "panicked" -A3 $OUT/parity.log | head
M1="rows: 16384,;Tile { len: 8 }"; M2="rows: 16,;n: 4096,;Auto"; M3="rows: 16384,;Vjp,;Auto"
for r in 1 2; do for p in before after; do
echo "== $p round $r"; for m in "$M1" "$M2" "$M3"; do timeout 100 ./gpu_resolvent_bench --ptx $p.ptx --match "$m" >> $OUT/b_${p}_${r}.log 2>&1; done; grep -E "median" $OUT/b_${p}_${r}.log | cut -c1-120
done; done

#!/bin/bash
# Session 5, run 2: staged tile kernels (u32 index math) + transfers normalised every second step;
# split kernel back to direct loads. Parity, B=16384 and B=16 benches, ncu source counters of tile8.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== resolvent parity"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/parity.log 2>&1; echo rc=$?
grep -E "^test |result" $OUT/parity.log | cut -c1-100; grep -B2 -A6 "panicked" $OUT/parity.log | cut -c1-250
echo "== B16384 new"; timeout 60 ./gpu_resolvent_bench --quick --match "rows: 16384,Tile" > $OUT/b16384_new.log 2>&1; echo rc=$?; grep -E "tile|copy" $OUT/b16384_new.log | cut -c1-130
echo "== B16384 v1 (run 1)"; timeout 60 ./gpu_resolvent_bench --quick --ptx v1.ptx --match "rows: 16384,Tile" > $OUT/b16384_v1.log 2>&1; echo rc=$?; grep -E "tile|copy" $OUT/b16384_v1.log | cut -c1-130
echo "== B16 new"; timeout 90 ./gpu_resolvent_bench --match "rows: 16,,n: 4096" > $OUT/b16_new.log 2>&1; echo rc=$?; grep -E "median" $OUT/b16_new.log | cut -c1-110
echo "== ncu source tile8 B16384"; timeout 120 ncu --clock-control none --kernel-name regex:resolvent_diag_tile8_f32 --launch-count 1 --section SourceCounters --section WarpStateStats --print-details all \
  ./gpu_resolvent_bench --match "rows: 16384,Tile { len: 8 },op: Diag" --warmup 0 --runs 1 > $OUT/ncu_details.log 2>&1; echo rc=$?; grep -iE "stall|Warp Cycles" $OUT/ncu_details.log | head -30 | cut -c1-160
timeout 120 ncu --clock-control none --kernel-name regex:resolvent_diag_tile8_f32 --launch-count 1 --section SourceCounters --import-source no --page source --print-source sass --csv \
  ./gpu_resolvent_bench --match "rows: 16384,Tile { len: 8 },op: Diag" --warmup 0 --runs 1 > $OUT/ncu_src.csv 2>&1; echo rc=$?; wc -l $OUT/ncu_src.csv; head -c 400 $OUT/ncu_src.csv; xz -f $OUT/ncu_src.csv

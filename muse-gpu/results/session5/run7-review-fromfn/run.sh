#!/bin/bash
# Session 5, run 7 (review): Tile::from_fn shared by Tile::load and the kernels' staged_tile.
# Parity of the new PTX; tile and split cases of the new PTX and of the committed PTX, alternated.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== resolvent parity"; timeout 120 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-100
M="schedule: Tile;n: 4096,"
for v in new committed new committed; do
  P=""; [ $v = committed ] && P="--ptx committed.ptx"
  echo "== $v"; timeout 60 ./gpu_resolvent_bench $P --match "$M" >> $OUT/bench_$v.log 2>&1; timeout 30 ./gpu_resolvent_bench $P --match "rows: 16,;Split { segs: 4 };f32" >> $OUT/bench_$v.log 2>&1
  tail -20 $OUT/bench_$v.log | grep -E "B=16384.*tile8|B=16384.*tile16|B=16 .*tile8|split4" | grep -E "f32" | cut -c1-75
done

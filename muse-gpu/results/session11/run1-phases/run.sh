#!/bin/bash
# Session 11, run 1: where B16384 tile16 time goes: v0 committed; mem = stage + copy-out only
# (no scans/diag); hot = full kernel with inputs from rows r%528 (L2-resident), no prefetch;
# hotns = hot without the copy-out to global.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap,clocks.max.sm --format=csv,noheader | tee $OUT/device.txt
for round in 1 2; do for v in v0 mem hot hotns; do
  echo "== round $round $v"
  timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match 'op: Diag,;rows: 16384,;"f32";Tile { len: 16 }' 2>&1 | grep -E "median|copy:" | cut -c1-170
done; done | tee $OUT/variants.log

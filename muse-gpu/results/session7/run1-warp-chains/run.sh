#!/bin/bash
# Session 7, run 1: the tile VJP with warp-scan chains of the warps' totals (v1, built in) against
# the committed PTX (v0), alternating, three rounds; parity; the VJP bench; the CLI bench.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_resolvent_bench muse
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
for round in 1 2 3; do for v in v0 v1; do
  echo "== round $round $v"; timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match "rows: 16,;n: 4096,;Auto" 2>&1 | grep -E "auto" | cut -c1-110
  timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match 'op: Vjp,;rows: 16384,;"f32";Auto' 2>&1 | grep -E "auto" | cut -c1-110
done; done | tee $OUT/variants.log
echo "== resolvent parity"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; rc=$?; echo rc=$rc
grep -E "^test |result" $OUT/resolvent_parity.log | cut -c1-100; grep -B2 -A6 "panicked" $OUT/resolvent_parity.log | cut -c1-250
echo "== muse bench resolvent --device gpu"; timeout 220 ./muse bench resolvent --device gpu --out-dir $OUT/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; tail -24 $OUT/cli_bench.log | cut -c1-400

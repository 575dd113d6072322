#!/bin/bash
# Session 6, run 4 (candidate commit): the tile VJP with the unrolled z̄ reduction (v3, the built-in
# PTX) against run 1's (v0), alternating; parity; the VJP bench; `muse bench resolvent --device gpu`.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_resolvent_bench muse
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
for round in 1 2; do for v in v0 v3; do
  echo "== round $round $v"; timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match "rows: 16,;n: 4096,;Auto" 2>&1 | grep -E "auto" | cut -c1-100
done; done | tee $OUT/variants.log
echo "== resolvent parity"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; rc=$?; echo rc=$rc
grep -E "^test |result" $OUT/resolvent_parity.log | cut -c1-100; grep -B2 -A6 "panicked" $OUT/resolvent_parity.log | cut -c1-250
echo "== vjp bench"; timeout 120 ./gpu_resolvent_bench --match "op: Vjp" --json $OUT/vjp_bench.json > $OUT/vjp_bench.log 2>&1; echo rc=$?; cut -c1-130 $OUT/vjp_bench.log
echo "== muse bench resolvent --device gpu"; timeout 220 ./muse bench resolvent --device gpu --out-dir $OUT/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; tail -24 $OUT/cli_bench.log | cut -c1-400

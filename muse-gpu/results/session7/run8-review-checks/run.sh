#!/bin/bash
# Session 7, run 8 (review): one check_vjp_inputs for the three CPU VJPs moved the inlining of the
# tile VJP kernel's fallback (v7, built in) against the commit's PTX (v6), alternating; parity of v7
# (also the new cpu_vjp test helper).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
for round in 1 2; do for v in v6 v7; do
  echo "== round $round $v"
  for m in 'op: Vjp,;Auto' 'op: Vjp,;rows: 16384,;Rows'; do
    timeout 90 ./gpu_resolvent_bench --ptx $v.ptx --match "$m" 2>&1 | grep -E "median" | cut -c1-110
  done
done; done | tee $OUT/variants.log
echo "== resolvent parity (v7)"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; rc=$?; echo rc=$rc
grep -E "^test |result" $OUT/resolvent_parity.log | cut -c1-100; grep -B2 -A6 "panicked" $OUT/resolvent_parity.log | cut -c1-250

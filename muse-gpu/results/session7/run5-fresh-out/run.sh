#!/bin/bash
# Session 7, run 5: the forward tile kernels with the output slots' addresses recomputed (v6,
# `hint::fresh` before `stage_out`; built into gpu_parity) against the commit's PTX (v5), alternating.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
for round in 1 2; do for v in v5 v6; do
  echo "== round $round $v"
  for m in 'op: Diag,;"f32";n: 4096,;Tile { len: 8 }' 'op: Causal,;"f32";rows: 16384,;Tile { len: 8 }' 'op: Diag,;rows: 16384,;Tile { len: 16 }'; do
    timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match "$m" 2>&1 | grep -E "median" | cut -c1-110
  done
done; done | tee $OUT/variants.log
echo "== resolvent parity (v6)"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; rc=$?; echo rc=$rc
grep -E "^test |result" $OUT/resolvent_parity.log | cut -c1-100; grep -B2 -A6 "panicked" $OUT/resolvent_parity.log | cut -c1-250

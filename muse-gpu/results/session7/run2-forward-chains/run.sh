#!/bin/bash
# Session 7, run 2: the forward tile kernels with the warp-scan chains too (v2, built in) against
# run 1's PTX (v1: the VJP only), alternating, two rounds; parity of v2; ncu of v1's tile VJP.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
for round in 1 2; do for v in v1 v2; do
  echo "== round $round $v"
  for m in 'op: Diag,;"f32";Tile { len: 8 }' 'op: Diag,;"f32";Auto' 'op: Causal,;"f32";rows: 16384,;Tile { len: 8 }' 'op: Vjp,;rows: 16,;n: 4096,;"f32";Auto'; do
    timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match "$m" 2>&1 | grep -E "median" | cut -c1-110
  done
done; done | tee $OUT/variants.log
echo "== resolvent parity (v2)"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; rc=$?; echo rc=$rc
grep -E "^test |result" $OUT/resolvent_parity.log | cut -c1-100; grep -B2 -A6 "panicked" $OUT/resolvent_parity.log | cut -c1-250
M='op: Vjp,;rows: 16,;n: 4096,;"f32";Auto'
timeout 150 ncu --clock-control none --kernel-name regex:resolvent_vjp_tile8_f32 --launch-skip 3 --launch-count 1 --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section LaunchStats --section Occupancy ./gpu_resolvent_bench --ptx v1.ptx --match "$M" --runs 3 --warmup 3 > $OUT/ncu_v1.txt 2>&1; echo rc=$?
grep -E "Duration|Issue|Stall|Warp Cycles|Eligible|Executed Ipc" $OUT/ncu_v1.txt | head -30

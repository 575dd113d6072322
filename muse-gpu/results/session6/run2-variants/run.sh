#!/bin/bash
# Session 6, run 2: tile VJP variants by --ptx (v0: run 1's; v1: w, b, c loaded before the scans;
# v2: v1 + the leading recurrence keeps 1/r), alternating, two rounds; then Nsight Compute on v1.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
for round in 1 2; do for v in v0 v1 v2; do
  echo "== round $round $v"; timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match "rows: 16,;n: 4096,;Auto" 2>&1 | grep -E "auto" | cut -c1-100
done; done | tee $OUT/variants.log
echo "== ncu v1"
timeout 150 ncu --clock-control none --kernel-name regex:resolvent_vjp_tile8_f32 --launch-skip 3 --launch-count 1 --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section LaunchStats --section Occupancy --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis ./gpu_resolvent_bench --ptx v1.ptx --match "op: Vjp,;rows: 16,;n: 4096,;f32,;Auto" --runs 3 --warmup 3 > $OUT/ncu_v1.txt 2>&1; echo rc=$?
grep -E "Duration|Throughput|Issue|Stall|Warp Cycles|Active Warps|Registers|Eligible|No Eligible|Executed Ipc" $OUT/ncu_v1.txt | head -40
timeout 150 ncu --clock-control none --kernel-name regex:resolvent_vjp_tile8_f32 --launch-skip 3 --launch-count 1 --section SourceCounters --import-source no --page source --print-source sass --csv ./gpu_resolvent_bench --ptx v1.ptx --match "op: Vjp,;rows: 16,;n: 4096,;f32,;Auto" --runs 3 --warmup 3 > $W/src_v1.csv 2>&1; echo rc=$?; xz -c $W/src_v1.csv > $OUT/src_v1.csv.xz; ls -la $OUT

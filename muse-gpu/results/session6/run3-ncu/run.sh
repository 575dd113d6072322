#!/bin/bash
# Session 6, run 3: Nsight Compute on the tile VJP (v0 = run 1's PTX), B = 16, N = 4096.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench
M='op: Vjp,;rows: 16,;n: 4096,;"f32";Auto'
timeout 150 ncu --clock-control none --kernel-name regex:resolvent_vjp_tile8_f32 --launch-skip 3 --launch-count 1 --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section LaunchStats --section Occupancy --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis ./gpu_resolvent_bench --ptx v0.ptx --match "$M" --runs 3 --warmup 3 > $OUT/ncu_v0.txt 2>&1; echo rc=$?
grep -E "Duration|Throughput|Issue|Stall|Warp Cycles|Active Warps|Registers|Eligible|No Eligible|Executed Ipc|Local" $OUT/ncu_v0.txt | head -40
timeout 150 ncu --clock-control none --kernel-name regex:resolvent_vjp_tile8_f32 --launch-skip 3 --launch-count 1 --section SourceCounters --section WarpStateStats --import-source no --page source --print-source sass --csv ./gpu_resolvent_bench --ptx v0.ptx --match "$M" --runs 3 --warmup 3 > $W/src_v0.csv 2>&1; echo rc=$?; xz -c $W/src_v0.csv > $OUT/src_v0.csv.xz; ls -la $OUT

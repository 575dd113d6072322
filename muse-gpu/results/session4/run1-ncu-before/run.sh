#!/bin/bash
# Session 4, run 1: profile the committed tile8 diagonal kernel (ncu) at B=16 and B=16384.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap,clocks.max.sm --format=csv,noheader | tee $OUT/device.txt
which ncu; ncu --version | tail -1
timeout 300 ncu --clock-control none --kernel-name regex:resolvent_diag_tile8_f32 --launch-count 3 \
  --section SpeedOfLight --section ComputeWorkloadAnalysis --section SchedulerStats --section WarpStateStats \
  --section InstructionStats --section LaunchStats --section Occupancy --section MemoryWorkloadAnalysis \
  ./gpu_resolvent_bench --quick --warmup 0 --runs 1 > $OUT/ncu.log 2>&1; echo rc=$?
grep -E "Grid Size|Block Size|Duration|Executed Ipc A|Issue Slots Busy|Executed Instructions  |Registers Per|Achieved Occ|Theoretical Occ|Stall|Warp Cycles Per Issued|No Eligible|One or More|Memory Throughput|DRAM Throughput" $OUT/ncu.log | head -80

#!/bin/bash
# Session 11, run 3: ncu of the first streaming kernel (stalls, occupancy, per-instruction
# source counters) at B16384 N4096.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
M='op: Diag,;rows: 16384,;"f32";Stream'
timeout 200 ncu --clock-control none --kernel-name regex:stream16 --launch-count 1 --section LaunchStats --section Occupancy --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis --print-details all \
  ./gpu_resolvent_bench --match "$M" --warmup 0 --runs 1 > $OUT/ncu_details.log 2>&1; echo rc=$?
grep -iE "stall|Warp Cycles|Occupancy|Block Limit|Registers|Shared Memory|Grid Size|Waves|Issued|Eligible|Throughput" $OUT/ncu_details.log | head -70 | cut -c1-160
timeout 200 ncu --clock-control none --kernel-name regex:stream16 --launch-count 1 --section SourceCounters --import-source no --page source --print-source sass --csv \
  ./gpu_resolvent_bench --match "$M" --warmup 0 --runs 1 > $OUT/ncu_src.csv 2>&1; echo rc=$?; wc -l $OUT/ncu_src.csv; head -3 $OUT/ncu_src.csv | cut -c1-600; xz -f $OUT/ncu_src.csv

#!/bin/bash
# Session 5, run 1: staged (coalesced) loads/stores in the tile and split kernels.
# Parity of the staged build, --quick benches of the old PTX, staged, staged + V1 (normalise every
# second transfer step); ncu of staged tile8 (memory + source counters) and of old tile8 (memory).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== probe"; timeout 60 ./gpu_parity --test-threads=1 tile > $OUT/probe.log 2>&1; rc=$?; echo rc=$rc; grep -E "^test |result" $OUT/probe.log | cut -c1-120
[ $rc = 124 ] && exit 1
echo "== resolvent parity"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; echo rc=$?
grep -E "^test |result|panicked" $OUT/resolvent_parity.log | cut -c1-120
for v in stage old v1; do
  echo "== bench quick $v"; timeout 100 ./gpu_resolvent_bench --quick --ptx $v.ptx --json $OUT/bench_quick_$v.json > $OUT/bench_quick_$v.log 2>&1; echo rc=$?
  grep -E "tile|auto|copy" $OUT/bench_quick_$v.log | cut -c1-150
done
K=regex:resolvent_diag_tile8_f32
echo "== ncu stage (details)"; timeout 100 ncu --clock-control none --kernel-name $K --launch-skip 1 --launch-count 1 \
  --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section InstructionStats --section Occupancy --section SchedulerStats \
  ./gpu_resolvent_bench --quick --ptx stage.ptx --warmup 0 --runs 1 > $OUT/ncu_stage.log 2>&1; echo rc=$?
grep -E "Duration|Executed Ipc A|Executed Instructions  |Achieved Occ|Warp Cycles Per Issued|L2 Cache Throughput|DRAM Throughput|Mem Busy|Max Bandwidth|L1/TEX Hit|L2 Hit" $OUT/ncu_stage.log | head -30
echo "== ncu old (memory)"; timeout 100 ncu --clock-control none --kernel-name $K --launch-skip 1 --launch-count 1 \
  --section SpeedOfLight --section MemoryWorkloadAnalysis --section InstructionStats \
  ./gpu_resolvent_bench --quick --ptx old.ptx --warmup 0 --runs 1 > $OUT/ncu_old.log 2>&1; echo rc=$?
grep -E "Duration|Executed Instructions  |L2 Cache Throughput|DRAM Throughput|Mem Busy|Max Bandwidth|L1/TEX Hit|L2 Hit" $OUT/ncu_old.log | head -20
echo "== ncu stage source"; timeout 150 ncu --clock-control none --kernel-name $K --launch-skip 1 --launch-count 1 --section SourceCounters \
  --import-source no --page source --print-source sass --csv \
  ./gpu_resolvent_bench --quick --ptx stage.ptx --warmup 0 --runs 1 > $OUT/ncu_src.csv 2> $OUT/ncu_src.err; echo rc=$?
wc -l $OUT/ncu_src.csv; head -c 600 $OUT/ncu_src.csv; tail -3 $OUT/ncu_src.err
xz -f $OUT/ncu_src.csv

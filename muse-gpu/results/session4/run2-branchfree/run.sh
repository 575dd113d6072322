#!/bin/bash
# Session 4, run 2: branch-free tile normalisation/reciprocals + one chain of warp boundaries per block.
# Parity (resolvent, LM), then --quick benches of the new PTX, the new PTX with .maxnreg 64 on
# the diagonal tile kernels, and the committed (old) PTX, all in one call; ncu of new tile8.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity tests gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== probe"; timeout 60 ./gpu_parity --test-threads=1 tile > $OUT/probe.log 2>&1; rc=$?; echo rc=$rc; grep -E "^test |result" $OUT/probe.log | cut -c1-120
[ $rc = 124 ] && exit 1
echo "== resolvent parity"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; echo rc=$?
grep -E "^test |result|panicked" $OUT/resolvent_parity.log | cut -c1-120
echo "== lm gpu parity"; timeout 90 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "result" $OUT/lm_gpu.log
for v in new m64 old; do
  P=""; [ $v != new ] && P="--ptx $v.ptx"
  echo "== bench quick $v"; timeout 120 ./gpu_resolvent_bench --quick $P --json $OUT/bench_quick_$v.json > $OUT/bench_quick_$v.log 2>&1; echo rc=$?
  grep -E "tile|copy" $OUT/bench_quick_$v.log | cut -c1-150
done
echo "== ncu new tile8"; timeout 150 ncu --clock-control none --kernel-name regex:resolvent_diag_tile8_f32 --launch-count 3 \
  --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section InstructionStats --section LaunchStats --section Occupancy \
  ./gpu_resolvent_bench --quick --warmup 0 --runs 1 > $OUT/ncu_new.log 2>&1; echo rc=$?
grep -E "Grid Size|Duration|Executed Ipc A|Issue Slots Busy|Executed Instructions  |Registers Per|Achieved Occ|Warp Cycles Per Issued" $OUT/ncu_new.log | head -30

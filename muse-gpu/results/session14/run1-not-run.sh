#!/bin/bash
# Session 14, run 1: B16384 N4096 `Auto` for six PTX files alternated in one call, two rounds:
# base (committed), M (pairwise |.|-maximum normalisers, `least` by min), T (M + outputs stored
# by the tensor unit from a 128-byte-swizzled buffer: no register permutation), U (T + cheap first
# two steps of the tile transfers), memonly (M
# without the arithmetic: bulk loads, tile and k reads, output stores, barriers), componlyB /
# componly (base / M without the bulk loads after the first row and without the stores). The
# bench binary is T's host (tensor map arguments, which the older kernels ignore). Then GPU
# parity with T, then ncu of T's streaming kernel (source counters, summary).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench gpu_parity_*
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
M='op: Diag,;rows: 16384,;n: 4096,;"f32";Auto'
for r in 1 2; do for v in base M T U memonly componlyB componly; do echo "== $v round $r" >> $OUT/big.log; timeout 40 ./gpu_resolvent_bench --ptx $v.ptx --match "$M" >> $OUT/big.log 2>&1; grep -E "median" $OUT/big.log | tail -1 | cut -c1-60,75-110,150-230 | sed "s/^/$v: /"; done; done
for n in 512 1024 8192; do echo "== stream sweep T n=$n" >> $OUT/sweep.log; timeout 40 ./gpu_resolvent_bench --ptx T.ptx --stream --match "n: $n," >> $OUT/sweep.log 2>&1; done; grep -E "median" $OUT/sweep.log | cut -c1-60,75-110,150-230 | tail -12
echo "== parity T" >> $OUT/parity.log; timeout 70 ./gpu_parity_T --test-threads=1 >> $OUT/parity.log 2>&1; echo "parity T rc=$?"; grep -E "^test result" $OUT/parity.log | tail -1 | cut -c1-80
grep -E "panicked" -A3 $OUT/parity.log | head
echo "== ncu T"; timeout 150 ncu --clock-control none --kernel-name regex:stream16 --launch-count 1 --section SourceCounters --section WarpStateStats --section SchedulerStats --import-source no --page source --print-source sass --csv \
  ./gpu_resolvent_bench --ptx T.ptx --match "$M" --warmup 0 --runs 1 > $OUT/ncu_src.csv 2>&1; echo rc=$?; xz -f $OUT/ncu_src.csv
timeout 100 ncu --clock-control none --kernel-name regex:stream16 --launch-count 1 --section WarpStateStats --section SchedulerStats --section ComputeWorkloadAnalysis \
  ./gpu_resolvent_bench --ptx T.ptx --match "$M" --warmup 0 --runs 1 > $OUT/ncu_sum.txt 2>&1; echo rc=$?; grep -E "Issued Ipc|Stall|Warp Cycles|Active Warps|No Eligible|Eligible Warps|Issue Slot" $OUT/ncu_sum.txt | head -30

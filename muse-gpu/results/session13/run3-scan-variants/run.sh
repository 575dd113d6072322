#!/bin/bash
# Session 13, run 3: B16384 N4096 `Auto` for four PTX files alternated in one call, two rounds:
# base (committed), J (the streaming kernel takes both tile transfers from one recurrence,
# Tile::transfers), S (warp scans: both shuffles first, both products for every lane, kept by
# selects: no branches), JS (both). Then B16 `Auto` (N4096) for base, S, JS, and GPU parity
# binaries built with J, S, JS.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench gpu_parity_*
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
M='op: Diag,;rows: 16384,;n: 4096,;"f32";Auto'
for r in 1 2; do for v in base J S JS; do echo "== $v round $r" >> $OUT/big.log; timeout 40 ./gpu_resolvent_bench --ptx $v.ptx --match "$M" >> $OUT/big.log 2>&1; grep -E "median" $OUT/big.log | tail -1 | cut -c1-60,75-110,150-230 | sed "s/^/$v: /"; done; done
for v in base S JS; do echo "== $v" >> $OUT/small.log; timeout 40 ./gpu_resolvent_bench --ptx $v.ptx --match "Auto;rows: 16,;n: 4096," >> $OUT/small.log 2>&1; grep -E "median" $OUT/small.log | tail -3 | cut -c1-60,75-110 | sed "s/^/$v: /"; done
for v in JS S J; do echo "== parity $v" >> $OUT/parity.log; timeout 70 ./gpu_parity_$v --test-threads=1 >> $OUT/parity.log 2>&1; echo "parity $v rc=$?"; grep -E "^test result" $OUT/parity.log | tail -1 | cut -c1-80; done
grep -E "panicked" -A3 $OUT/parity.log | head

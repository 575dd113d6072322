#!/bin/bash
# Session 12, run 1: k read straight from the b/c spans (A), + swizzled output staging with a coalesced copy-out by the threads (Bp), vs the committed streaming kernel; parity of A.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cp *.ptx $W/; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
M='op: Diag,;rows: 16384,;n: 4096,;"f32";Auto'
for r in 1 2; do for v in old A Bp; do echo "== $v round $r" >> $OUT/bench.log; timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match "$M" >> $OUT/bench.log 2>&1; done; done
grep -E "^==|median" $OUT/bench.log | cut -c1-150
echo "== parity"; timeout 240 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head
for v in A Bp; do timeout 200 ./gpu_resolvent_bench --ptx $v.ptx --stream > $OUT/stream-$v.log 2>&1; grep median $OUT/stream-$v.log | cut -c1-150; done

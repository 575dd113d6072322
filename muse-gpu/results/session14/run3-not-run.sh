#!/bin/bash
# Session 14, run 3: the candidate U's bench binary (U's PTX embedded) at B16384 N4096 `Auto`.
# On an H200: U (embedded) and base (committed PTX) alternated, two rounds, then the
# compute-only variants; on an H100 (run 2 already timed U there): componlyU / componlyB (U / base
# without the bulk loads after the first row and without the stores), two rounds. The first
# use of each module includes the driver's JIT of the PTX (~35 s).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
M='op: Diag,;rows: 16384,;n: 4096,;"f32";Auto'
b() { echo "== $1 round $2" >> $OUT/big.log; if [ $1 = U ]; then P=""; else P="--ptx $1.ptx"; fi; timeout $3 ./gpu_resolvent_bench $P --match "$M" >> $OUT/big.log 2>&1; grep -E "median" $OUT/big.log | tail -1 | cut -c1-60,75-110,150-230 | sed "s/^/$1 r$2: /"; }
if grep -q H200 $OUT/device.txt; then
  b U 1 80; b base 1 80; b U 2 30; b base 2 30; b componlyU 1 80; b componlyB 1 80; b componlyU 2 30; b componlyB 2 30
else
  b componlyU 1 80; b componlyB 1 80; b componlyU 2 30; b componlyB 2 30
fi
grep -E "copy:" $OUT/big.log | head -1 | cut -c1-80

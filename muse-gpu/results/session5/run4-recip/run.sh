#!/bin/bash
# Session 5, run 4: + Real::recip_normal (the division's common path without its branch) in the
# tiles' reciprocals. Parity (resolvent, ODE); B=16384 tile benches of this build and of run 3's
# (pf2); B=16 N=4096 f32 cases.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_ode_parity gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== resolvent parity"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/parity.log 2>&1; echo rc=$?
grep -E "^test |result" $OUT/parity.log | cut -c1-100; grep -B2 -A6 "panicked" $OUT/parity.log | cut -c1-250
echo "== ode parity"; timeout 60 ./gpu_ode_parity --test-threads=1 > $OUT/ode_parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/ode_parity.log
for v in rcp pf2; do
  P=""; [ $v != rcp ] && P="--ptx $v.ptx"
  echo "== B16384 $v"; timeout 60 ./gpu_resolvent_bench --quick $P --match "rows: 16384,;Tile" > $OUT/b16384_$v.log 2>&1; echo rc=$?; grep -E "tile|copy" $OUT/b16384_$v.log | cut -c1-150
done
echo "== B16 rcp"; timeout 90 ./gpu_resolvent_bench --match "rows: 16,;n: 4096,;f32" > $OUT/b16.log 2>&1; echo rc=$?; grep -E "tile|split|auto" $OUT/b16.log | cut -c1-100

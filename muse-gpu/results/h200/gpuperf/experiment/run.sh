#!/bin/bash
# gpuperf device run: parity tests (new embedded PTX), quick target-shape benches of three PTX
# builds (old = before gpuperf, A = bit-level exponent/scalbn only, new = A + prefetch/streamed
# rows), then the full bench of the new build.
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,compute_cap,clocks.sm,clocks.mem --format=csv | tee $OUT/device.txt
set -o pipefail
echo "== parity"; timeout 150 ./gpu_parity --test-threads=1 --nocapture 2>&1 | tee $OUT/parity.log | grep -E "^test |result|panicked"; echo "parity rc=$?"
for v in new old A; do
  p=""; [ $v != new ] && p="--ptx $v.ptx"
  echo "== quick $v"; timeout 60 ./gpu_resolvent_bench --quick $p 2>&1 | tee $OUT/quick_$v.log | cut -c1-150
done
echo "== full bench (new)"; timeout 230 ./gpu_resolvent_bench --json $OUT/bench.json 2>&1 | tee $OUT/bench.log | cut -c1-150; echo "bench rc=$?"

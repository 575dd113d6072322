#!/bin/bash
# Session 7, run 3: the tile VJP with staged (coalesced) loads and stores (v3) and with d̄ parked in
# shared memory too (v4, built in) against run 2's PTX (v2: direct loads), alternating, two rounds;
# N = 8192 forward schedules; parity of v4; the LM GPU tests; the CLI bench (v4, Auto = tile8 at B16).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_resolvent_bench muse tests
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
for round in 1 2; do for v in v2 v3 v4; do
  echo "== round $round $v"
  for m in 'op: Vjp,;Auto' 'op: Diag,;rows: 16,;n: 4096,;"f32";Auto'; do
    timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match "$m" 2>&1 | grep -E "median" | cut -c1-110
  done
done; done | tee $OUT/variants.log
echo "== n 8192"; timeout 60 ./gpu_resolvent_bench --match 'n: 8192,' 2>&1 | grep -E "median" | cut -c1-110 | tee $OUT/n8192.log
echo "== resolvent parity (v4)"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; rc=$?; echo rc=$rc
grep -E "^test |result" $OUT/resolvent_parity.log | cut -c1-100; grep -B2 -A6 "panicked" $OUT/resolvent_parity.log | cut -c1-250
echo "== lm_gpu"; timeout 200 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/lm_gpu.log | cut -c1-100
echo "== muse bench resolvent --device gpu"; timeout 220 ./muse bench resolvent --device gpu --out-dir $OUT/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; tail -5 $OUT/cli_bench.log | cut -c1-600

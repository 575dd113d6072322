#!/bin/bash
# gpures final device run: parity of build A (experiment 3: shared-memory kernels, odd chunks,
# one-test normalisation) and build B (A + both directions interleaved, muse-core `paired`),
# a short B=16 sweep of each, then the full bench of the faster build that passed parity and
# the Python peers (PyTorch, JAX) in the same call.
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,compute_cap,clocks.sm,clocks.mem,memory.total --format=csv | tee $OUT/device.txt
for v in A B; do
  echo "== parity $v"; timeout 45 ./gpu_parity_$v --test-threads=1 --nocapture > $OUT/parity_$v.log 2>&1; echo "parity $v rc=$?"
  grep -E "^test |test result|panicked" $OUT/parity_$v.log | grep -v "^test .*kernel" 
done
echo "== sweep A"; timeout 30 ./gpu_resolvent_bench --sweep --small --runs 20 --warmup 3 --ptx A.ptx > $OUT/sweep_A.log 2>&1; cut -c1-100 $OUT/sweep_A.log
echo "== sweep B"; timeout 30 ./gpu_resolvent_bench --sweep --small --runs 20 --warmup 3 > $OUT/sweep_B.log 2>&1; cut -c1-100 $OUT/sweep_B.log
okA=$(grep -c "test result: ok" $OUT/parity_A.log); okB=$(grep -c "test result: ok" $OUT/parity_B.log)
dA=$(awk '$1=="diag" && $3=="B=16" && $4=="N=4096" {print $7; exit}' $OUT/sweep_A.log)
dB=$(awk '$1=="diag" && $3=="B=16" && $4=="N=4096" {print $7; exit}' $OUT/sweep_B.log)
if [ "$okB" = 1 ] && { [ "$okA" != 1 ] || awk -v a="${dA:-1e9}" -v b="${dB:-1e9}" 'BEGIN{exit !(b < a)}'; }; then
  CH=B; PTX=""; else CH=A; PTX="--ptx A.ptx"; fi
echo "choice: $CH (parity A=$okA B=$okB, diag B=16 N=4096 A=$dA us B=$dB us)" | tee $OUT/choice.txt
echo "== full bench ($CH)"; timeout 110 ./gpu_resolvent_bench $PTX --json $OUT/bench.json > $OUT/bench.log 2>&1; echo "bench rc=$?"; cut -c1-175 $OUT/bench.log
left=$((235 - SECONDS)); echo "== peers (limit ${left}s)"
XLA_PYTHON_CLIENT_PREALLOCATE=false XLA_PYTHON_CLIENT_ALLOCATOR=platform PYTHONUNBUFFERED=1 \
  timeout $left python3 ../../benches/peers/resolvent_peers.py --json $OUT/peers.json > $OUT/peers.log 2>&1; echo "peers rc=$?"
grep -E "B=|device" $OUT/peers.log | tail -8

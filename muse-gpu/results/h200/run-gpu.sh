#!/bin/bash
# muse-gpu device run (staged by the gpu helper): parity tests, GPU bench, Python peers.
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,compute_cap,clocks.sm,clocks.mem,memory.total --format=csv | tee $OUT/device.txt
echo "== parity tests"; set -o pipefail
timeout 240 ./gpu_parity --test-threads=1 --nocapture 2>&1 | tee $OUT/parity.log | grep -E "^test |result|error|GPU rel"; echo "parity rc=$?"
echo "== bench"
timeout 300 ./gpu_resolvent_bench --json $OUT/bench.json 2>&1 | tee $OUT/bench.log; echo "bench rc=$?"
echo "== peers"
XLA_PYTHON_CLIENT_PREALLOCATE=false XLA_PYTHON_CLIENT_ALLOCATOR=platform PYTHONUNBUFFERED=1 \
  timeout ${PEERS_TIMEOUT:-240} python3 resolvent_peers.py --json $OUT/peers.json ${PEERS_ARGS:-} 2>&1 | tee $OUT/peers.log; echo "peers rc=$?"

#!/bin/bash
# gpuode helper: parity tests + VRAM KPI bench (+ cust binary if present).
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
echo "libcublas: $F" | tee -a $OUT/device.txt
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so
export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== ode parity"; timeout 200 ./gpu_ode_parity --nocapture --test-threads=1 2>&1 | tee $OUT/ode_parity.log
echo "== resolvent parity (regression after PTX rebuild)"; timeout 120 ./gpu_parity 2>&1 | tail -4 | tee $OUT/resolvent_parity_tail.log
if [ -x ./cust_run ]; then echo "== cust"; timeout 60 ./cust_run 2>&1 | tee $OUT/cust.log; fi
echo "== bench"; timeout 300 ./gpu_ode_bench $OUT/ode_bench.json 2>&1 | tee $OUT/ode_bench.log

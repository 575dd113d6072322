#!/bin/bash
# gpufixed helper: the ODE parity suite incl. the fixed-point (bit-reversible) Leapfrog tests.
# Staged in /work/main/.device/gpufixed/: gpu_ode_parity (release test binary of branch gpufixed).
# Run: bash .device/gpufixed/run-fixed.sh   (carry: [".device/gpufixed"])
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
echo "libcublas: $F" | tee -a $OUT/device.txt
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so
export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== ode parity (all 11 tests; the fixed-point ones: 'fixed')"
timeout 120 ./gpu_ode_parity --nocapture --test-threads=1 2>&1 | tee $OUT/ode_parity.log

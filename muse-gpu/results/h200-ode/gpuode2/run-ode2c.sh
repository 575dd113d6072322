#!/bin/bash
# gpuode2 helper, run 3: the branch after merging main (gpures' shared-memory resolvent kernels,
# PTX rebuilt with both): ODE parity, resolvent parity (regression), `muse ode` CLI on the GPU.
# Staged in /work/main/.device/gpuode2/: gpu_ode_parity, gpu_parity, cli_ode, muse.
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
echo "libcublas: $F" | tee -a $OUT/device.txt
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so
export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== ode parity"; timeout 60 ./gpu_ode_parity --nocapture --test-threads=1 2>&1 | tee $OUT/ode_parity.log
echo "== resolvent parity"; timeout 90 ./gpu_parity 2>&1 | tail -15 | tee $OUT/resolvent_parity_tail.log
echo "== cli (--device gpu)"; MUSE_BIN=$PWD/muse timeout 30 ./cli_ode --nocapture --test-threads=1 2>&1 | tee $OUT/cli_ode.log

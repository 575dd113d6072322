#!/bin/bash
# gpuode2 helper: ODE parity (GPU vs CPU f64, incl. Checkpointed), `muse ode ... --device gpu`
# CLI check, VRAM KPI + Leapfrog step time (gpu_ode_bench), `muse bench adjoint --device gpu`.
# Staged in /work/main/.device/gpuode2/ with: gpu_ode_parity, cli_ode (test binaries), muse,
# gpu_ode_bench; run as `bash .device/gpuode2/run-ode2.sh` with carry [".device"].
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
echo "libcublas: $F" | tee -a $OUT/device.txt
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so
export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
T0=$(date +%s)
echo "== ode parity"; timeout 60 ./gpu_ode_parity --nocapture --test-threads=1 2>&1 | tee $OUT/ode_parity.log
echo "== cli (--device gpu)"; MUSE_BIN=$PWD/muse timeout 30 ./cli_ode --nocapture --test-threads=1 2>&1 | tee $OUT/cli_ode.log
echo "t=$(( $(date +%s) - T0 ))s"
echo "== bench (step time, VRAM KPI)"; timeout 70 ./gpu_ode_bench $OUT/ode_bench.json 2>&1 | tee $OUT/ode_bench.log
echo "t=$(( $(date +%s) - T0 ))s"
echo "== muse bench adjoint --device gpu"; timeout 50 ./muse bench adjoint --device gpu --out-dir $OUT/bench 2>&1 | tail -25 | tee $OUT/bench_adjoint.log
echo "== muse ode kpi adjoint --device gpu --quick"; timeout 15 ./muse ode kpi adjoint --device gpu --quick --out $OUT/ode_kpi_quick.json 2>&1 | tail -8 | tee $OUT/ode_kpi_quick.log
echo "t=$(( $(date +%s) - T0 ))s"

#!/bin/bash
# Session 4, run 3: fused multiply-adds in the tiles (Real::mul_add = fma.rn on the GPU),
# .maxnreg 64 on the tile8 kernels. Parity (resolvent, ODE, LM), the full bench of the new PTX,
# --quick of the new PTX without .maxnreg (nomax.ptx) and of the committed PTX (old.ptx).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_ode_parity tests gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so && export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== probe"; timeout 60 ./gpu_parity --test-threads=1 tile > $OUT/probe.log 2>&1; rc=$?; echo rc=$rc; grep -E "result" $OUT/probe.log
[ $rc = 124 ] && exit 1
echo "== resolvent parity"; timeout 120 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; echo rc=$?
grep -E "^test |result|panicked" $OUT/resolvent_parity.log | cut -c1-100
echo "== ode parity"; timeout 60 ./gpu_ode_parity --test-threads=1 > $OUT/ode_parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/ode_parity.log
echo "== lm gpu parity"; timeout 60 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "result" $OUT/lm_gpu.log
echo "== bench (new)"; timeout 200 ./gpu_resolvent_bench --json $OUT/bench.json > $OUT/bench.log 2>&1; echo rc=$?; grep -E "tile|copy|auto" $OUT/bench.log | cut -c1-118
for v in nomax old; do
  echo "== bench quick $v"; timeout 130 ./gpu_resolvent_bench --quick --ptx $v.ptx --json $OUT/bench_quick_$v.json > $OUT/bench_quick_$v.log 2>&1; echo rc=$?
  grep -E "tile|copy" $OUT/bench_quick_$v.log | cut -c1-118
done

#!/bin/bash
# Session 3, run 1: tile kernels parity + bench (H100/H200).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; chmod +x $W/${f%.xz}; done; cd $W
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so && export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== probe"; timeout 60 ./gpu_parity gpu_tile --nocapture > $OUT/probe.log 2>&1; rc=$?; echo rc=$rc; tail -5 $OUT/probe.log; [ $rc = 124 ] && exit 3
echo "== resolvent parity"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; echo rc=$?
grep -E "^test |result|panicked|assert" $OUT/resolvent_parity.log | head -30
grep -E "Tile" $OUT/resolvent_parity.log | grep "error median" | head -40
echo "== bench"; timeout 200 ./gpu_resolvent_bench --json $OUT/bench.json > $OUT/bench.log 2>&1; echo rc=$?
cat $OUT/bench.log | cut -c1-230
echo "== ode parity"; timeout 60 ./gpu_ode_parity --test-threads=1 > $OUT/ode_parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/ode_parity.log
echo "== lm gpu parity"; timeout 90 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "result" $OUT/lm_gpu.log

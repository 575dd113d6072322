#!/bin/bash
# gpulm helper: the language model on the GPU. Parity tests (tests binary, group lm_gpu),
# `muse lm eval --device gpu` (f32, f16) on a small CPU-trained checkpoint, and the memory and
# throughput KPIs (`muse bench ... --device gpu`). Staged in /work/main/.device/gpulm/.
cd "$(dirname "$0")"
exec > >(tee $OUT/all.log) 2>&1
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
echo "libcublas: $F" | tee -a $OUT/device.txt
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so
export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== parity (tests lm_gpu)"
timeout 120 ./tests lm_gpu --nocapture --test-threads=1 2>&1 | tee $OUT/parity.log
echo "== lm eval --device gpu"
for dt in f32 f16; do
  timeout 60 ./muse lm eval --checkpoint ck1 --data eval_small.txt --batch 4 --seq-len 256 --device gpu --dtype $dt
done 2>&1 | tee $OUT/eval.log
echo "== bench memory --device gpu (B=1, N=4096, f16, base)"
timeout 150 ./muse bench memory --device gpu --out-dir /tmp/res --export-json $OUT/memory.json | tail -5
echo "== bench throughput --device gpu (B=4, N=512, f16, base)"
timeout 150 ./muse bench throughput --device gpu --out-dir /tmp/res --export-json $OUT/throughput.json | tail -5
echo "== bench throughput --device gpu --dtype f32"
timeout 100 ./muse bench throughput --device gpu --dtype f32 --out-dir /tmp/res2 --export-json $OUT/throughput_f32.json | tail -5
echo "== done"

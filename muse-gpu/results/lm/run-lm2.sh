#!/bin/bash
# gpulm helper, run 2: GPU training. Parity tests (tests binary, group lm_gpu: forward and
# one training step's gradients vs the CPU f64 model, loss falls), `muse lm train --device
# gpu` (Stage 1 and 2, tiny, same settings as the CPU runs in results/lm/run2/cpu_train_s*.json),
# and `muse bench memory --device gpu` (now with the Stage 2 training step, Reversible vs
# StoreAll, B = 2, N = 2048).
cd "$(dirname "$0")"
exec > >(tee $OUT/all.log) 2>&1
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
echo "libcublas: $F" | tee -a $OUT/device.txt
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so
export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== parity (tests lm_gpu)"
timeout 150 ./tests lm_gpu --nocapture --test-threads=1 2>&1 | tee $OUT/parity.log
echo "== lm train --device gpu"
for s in 1 2; do
  timeout 120 ./muse lm train --stage $s --train eval_small.txt --valid eval_small.txt --out /tmp/gpu_s$s \
    --d-model 32 --layers 1 --channels 8 --seq-len 64 --batch 8 --tokens 20480 --eval-every 10 \
    --eval-tokens 4000 --quiet --device gpu
  timeout 60 ./muse lm eval --checkpoint /tmp/gpu_s$s --data eval_small.txt --batch 4 --seq-len 256 --device gpu
done 2>&1 | tee $OUT/train.log
echo "== bench memory --device gpu"
timeout 200 ./muse bench memory --device gpu --out-dir /tmp/res --export-json $OUT/memory.json | tail -5
echo "== done"

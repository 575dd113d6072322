#!/bin/bash
# gpulm helper, run 3 (stretch): Stage 1 vs Stage 2 trained on the GPU with the same data,
# token budget and seed (WikiText-2 valid.txt, as the perplexity KPI), each evaluated on the
# GPU on test.txt with B = 4, N = 1024.
cd "$(dirname "$0")"
exec > >(tee $OUT/all.log) 2>&1
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so
export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
ARGS="--train valid.txt --valid test.txt --d-model 256 --layers 2 --channels 64 --seq-len 128 --batch 16 --tokens 2000000 --lr 3e-3 --seed 0 --eval-every 0 --eval-tokens 20000 --quiet --device gpu"
for s in 1 2; do
  echo "== stage $s: train"
  timeout 85 ./muse lm train --stage $s --out /tmp/ppl_s$s $ARGS > $OUT/train_s$s.json
  echo "rc $?"; tail -c 600 $OUT/train_s$s.json
  echo "== stage $s: eval test.txt B=4 N=1024"
  timeout 30 ./muse lm eval --checkpoint /tmp/ppl_s$s --data test.txt --batch 4 --seq-len 1024 --device gpu > $OUT/eval_s$s.json
  echo "rc $?"; cat $OUT/eval_s$s.json
done
echo "== done"

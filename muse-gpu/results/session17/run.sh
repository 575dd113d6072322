#!/bin/bash
# Session 17: per-kernel module loading (muse_gpu::ptx), on the GPU. Binaries built from the
# session's tree (main's kernels, the split host), xz-compressed beside this script. Run with
# the device tool: `bash .device/s17/run.sh`, carry [".device/s17"] (plus ".device/s16" for
# `all.sh`). About 3 min.
cd "$(dirname "$0")"; W=/tmp/w17; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench gpu_parity gpu_ode_parity tests muse cust_resolvent
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device17.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so && export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
M16='op: Diag,;rows: 16,;n: 4096,;"f32";Auto'
M='op: Diag,;rows: 16384,;n: 4096,;"f32";Auto'
echo "== open + one case, JIT cache off: split (Gpu::new) vs whole (--ptx, the same sm_90 text)"
for r in 1 2; do for v in split whole; do
  P=""; [ $v = whole ] && P="--ptx full90.ptx"
  s=$SECONDS; CUDA_CACHE_DISABLE=1 timeout 120 ./gpu_resolvent_bench $P --match "$M16" > /tmp/o.log 2>&1
  echo "$v r$r: process $((SECONDS-s)) s; $(grep -m1 'ready in' /tmp/o.log); $(grep -E 'auto:.*median' /tmp/o.log | tail -1 | grep -oE 'median +[0-9.]+ us')"; cat /tmp/o.log >> $OUT/open.log
done; done
echo "== B16384 N4096 Auto, split host"; for r in 1 2; do timeout 60 ./gpu_resolvent_bench --match "$M" > /tmp/o.log 2>&1; cat /tmp/o.log >> $OUT/big17.log; grep -E "auto:.*median|copy" /tmp/o.log | cut -c1-200 | tail -2; done
echo "== gpu_parity"; s=$SECONDS; timeout 150 ./gpu_parity --test-threads=1 > $OUT/gpu_parity17.log 2>&1; echo "rc=$? $((SECONDS-s)) s"; grep -E "result" $OUT/gpu_parity17.log | cut -c1-120; grep -E "panicked" -A3 $OUT/gpu_parity17.log | head
echo "== gpu_ode_parity"; s=$SECONDS; timeout 120 ./gpu_ode_parity --test-threads=1 > $OUT/ode_parity17.log 2>&1; echo "rc=$? $((SECONDS-s)) s"; grep -E "result" $OUT/ode_parity17.log; grep -E "panicked" -A3 $OUT/ode_parity17.log | head
echo "== lm_gpu"; s=$SECONDS; timeout 120 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu17.log 2>&1; echo "rc=$? $((SECONDS-s)) s"; grep -E "result" $OUT/lm_gpu17.log; grep -E "panicked" -A3 $OUT/lm_gpu17.log | head
echo "== cust (one kernel's module)"; s=$SECONDS; timeout 60 ./cust_resolvent > $OUT/cust17.log 2>&1; echo "rc=$? $((SECONDS-s)) s"; tail -3 $OUT/cust17.log
echo "s17 done at ${SECONDS} s"

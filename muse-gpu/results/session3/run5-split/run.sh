#!/bin/bash
# Session 3, run 5: split-row kernels (cooperative launch) + everything else.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_ode_parity tests gpu_resolvent_bench muse
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== probe"; timeout 60 ./gpu_parity gpu_split --nocapture > $OUT/probe.log 2>&1; rc=$?; echo rc=$rc; grep -E "^test |result|panicked" $OUT/probe.log | cut -c1-300; [ $rc = 124 ] && exit 3
echo "== resolvent parity"; timeout 120 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; echo rc=$?
grep -E "^test |result|panicked" $OUT/resolvent_parity.log | cut -c1-200
grep -E "Split" $OUT/resolvent_parity.log | grep -E "error median|kernel" | cut -c1-200 | head -20
echo "== ode parity"; timeout 60 ./gpu_ode_parity --test-threads=1 > $OUT/ode_parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/ode_parity.log
echo "== lm gpu parity"; timeout 60 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "result" $OUT/lm_gpu.log
echo "== bench"; timeout 240 ./gpu_resolvent_bench --json $OUT/bench.json > $OUT/bench.log 2>&1; echo rc=$?; cut -c1-125 $OUT/bench.log
echo "== muse bench resolvent --device gpu"; timeout 200 ./muse bench resolvent --device gpu --out-dir $OUT/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; cp $OUT/cli/resolvent.json $OUT/cli_resolvent.json 2>/dev/null; rm -rf $OUT/cli; python3 -c "
import json; d=json.load(open('$OUT/cli_resolvent.json'))
def walk(x,p=''):
    if isinstance(x,dict):
        for k,v in x.items(): walk(v,p+'.'+k)
    elif isinstance(x,list): pass
    else:
        if any(s in p for s in ['check','forward_b','vjp_over','ratio_vs','status','copy_fraction']): print(p,x)
walk(d)" 2>&1 | head -40

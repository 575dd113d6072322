#!/bin/bash
# Session 7, run 4 (candidate commit, v5 built in): v5 (f16 staging loads batched) against v3
# (same f32 kernel), alternating; parity (incl. the new f16 VJP test); LM GPU tests; the Auto bench,
# tile8 at B16384; the Python peers; `muse bench resolvent --device gpu`; all in one call.
cd "$(dirname "$0")"; R=$PWD/../..; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_parity gpu_resolvent_bench muse tests
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
for round in 1 2; do for v in v3 v5; do
  echo "== round $round $v"; timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match 'op: Vjp,;rows: 16,;Auto' 2>&1 | grep -E "median" | cut -c1-110
done; done | tee $OUT/variants.log
echo "== resolvent parity (v5)"; timeout 150 ./gpu_parity --test-threads=1 --nocapture > $OUT/resolvent_parity.log 2>&1; rc=$?; echo rc=$rc
grep -E "^test |result" $OUT/resolvent_parity.log | cut -c1-100; grep -B2 -A6 "panicked" $OUT/resolvent_parity.log | cut -c1-250; grep "^f16 VJP" $OUT/resolvent_parity.log
echo "== lm_gpu"; timeout 200 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "result" $OUT/lm_gpu.log | cut -c1-100
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so && export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== bench (Auto; tile8 at B=16384)"; timeout 120 ./gpu_resolvent_bench --match "Auto" --json $OUT/bench.json > $OUT/bench.log 2>&1; echo rc=$?
timeout 60 ./gpu_resolvent_bench --match "rows: 16384,;Tile { len: 8 }" >> $OUT/bench.log 2>&1; echo rc=$?; grep -E "median|copy" $OUT/bench.log | cut -c1-120
echo "== peers"; timeout 200 python3 $R/benches/peers/resolvent_peers.py --json $OUT/peers.json > $OUT/peers.log 2>&1; echo rc=$?; grep -E "B=|device" $OUT/peers.log | tail -10 | cut -c1-140
echo "== muse bench resolvent --device gpu"; timeout 240 ./muse bench resolvent --device gpu --out-dir /tmp/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; cp /tmp/cli/resolvent.json $OUT/cli_resolvent.json; tail -3 $OUT/cli_bench.log | cut -c1-300
python3 -c "import json;d=json.load(open('$OUT/cli_resolvent.json'));g=d['gpu'];[print(k,g[k]) for k in g if k!='cases'];[print(c['metric'],c['value'],c['pass']) for c in d['checks']]"

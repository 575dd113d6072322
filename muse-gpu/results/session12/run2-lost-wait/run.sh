#!/bin/bash
# Session 12, run 2 (the commit: the streaming kernel reads its tiles' k = b·c straight from the
# bulk-copied spans; Auto streams from N = 512): GPU parity, LM GPU tests, B16384 N4096 against
# the committed (session 11) PTX in the same call, the Auto bench, the Python peers, `muse bench resolvent --device gpu`; one call.
cd "$(dirname "$0")"; R=$PWD/../..; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cp *.ptx $W/; cd $W; chmod +x gpu_resolvent_bench muse tests gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 240 ./gpu_parity --test-threads=1 --nocapture > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head; grep -E "Stream" $OUT/parity.log | cut -c1-200 | head -12
echo "== lm_gpu"; timeout 200 ./tests lm_gpu --test-threads=1 > $OUT/lm_gpu.log 2>&1; echo rc=$?; grep -E "result" $OUT/lm_gpu.log | cut -c1-100
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so && export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
M='op: Diag,;rows: 16384,;n: 4096,;"f32";Auto'
echo "== B16384 N4096 Auto: new / session 11 PTX, two rounds" > $OUT/ab.log
for r in 1 2; do for v in new old; do echo "== $v round $r" >> $OUT/ab.log; if [ $v = new ]; then P=; else P="--ptx old.ptx"; fi; timeout 60 ./gpu_resolvent_bench $P --match "$M" >> $OUT/ab.log 2>&1; done; done; grep -E "^==|median|copy" $OUT/ab.log | cut -c1-175
echo "== bench (Auto)"; timeout 120 ./gpu_resolvent_bench --match "Auto" --json $OUT/bench.json > $OUT/bench.log 2>&1; echo rc=$?; grep -E "median|copy" $OUT/bench.log | cut -c1-175
echo "== peers"; timeout 150 python3 $R/benches/peers/resolvent_peers.py --json $OUT/peers.json > $OUT/peers.log 2>&1; echo rc=$?; grep -E "B=|device" $OUT/peers.log | tail -10 | cut -c1-140
echo "== muse bench resolvent --device gpu"; timeout 240 ./muse bench resolvent --device gpu --out-dir /tmp/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; cp /tmp/cli/resolvent.json $OUT/cli_resolvent.json; tail -3 $OUT/cli_bench.log | cut -c1-300
python3 -c "import json;d=json.load(open('$OUT/cli_resolvent.json'));g=d['gpu'];[print(k,g[k]) for k in g if k!='cases'];[print(c['metric'],c['value'],c['pass']) for c in d['checks']]"
echo "== --stream sweep"; timeout 110 ./gpu_resolvent_bench --stream --json $OUT/stream.json > $OUT/stream.log 2>&1; echo rc=$?; grep -E "median|copy" $OUT/stream.log | cut -c1-175

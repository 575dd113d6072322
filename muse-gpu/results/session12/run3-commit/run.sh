#!/bin/bash
# Session 12, run 3 (the commit, after restoring the output buffer's wait_read and the final
# wait_all that run 2's binaries had lost): GPU parity, the Auto bench (B16384 N4096 twice),
# `muse bench resolvent --device gpu` last; one short call.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench muse gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 60 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head
M='op: Diag,;rows: 16384,;n: 4096,;"f32";Auto'
for r in 1 2; do timeout 30 ./gpu_resolvent_bench --match "$M" >> $OUT/bench.log 2>&1; done
timeout 40 ./gpu_resolvent_bench --match "Auto;rows: 16," >> $OUT/bench.log 2>&1; grep -E "median|copy" $OUT/bench.log | cut -c1-60,75-110,150-260
echo "== muse bench resolvent --device gpu"; timeout 100 ./muse bench resolvent --device gpu --out-dir /tmp/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; cp /tmp/cli/resolvent.json $OUT/cli_resolvent.json
python3 -c "import json;d=json.load(open('$OUT/cli_resolvent.json'));g=d['gpu'];[print(k,g[k]) for k in g if k!='cases'];[print(c['metric'],c['value'],c['pass']) for c in d['checks']]"

#!/bin/bash
# Session 11, run 9: `muse bench resolvent --device gpu` and the Python peers on the final
# commit (review fix: a failure word per parity).
cd "$(dirname "$0")"; R=$PWD/../..; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x muse
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== peers"; timeout 200 python3 $R/benches/peers/resolvent_peers.py --json $OUT/peers.json > $OUT/peers.log 2>&1; echo rc=$?; grep -E "B=|device" $OUT/peers.log | tail -10 | cut -c1-140
echo "== muse bench resolvent --device gpu"; timeout 300 ./muse bench resolvent --device gpu --out-dir /tmp/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; cp /tmp/cli/resolvent.json $OUT/cli_resolvent.json; tail -3 $OUT/cli_bench.log | cut -c1-300
python3 -c "import json;d=json.load(open('$OUT/cli_resolvent.json'));g=d['gpu'];[print(k,g[k]) for k in g if k!='cases'];[print(c['metric'],c['value'],c['pass']) for c in d['checks']]"

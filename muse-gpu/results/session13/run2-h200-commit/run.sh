#!/bin/bash
# Session 13, run 2: session 12's committed binaries (same files as run 1): GPU parity, the Auto
# bench (B16384 N4096 twice, B16), the stream-vs-tiles check at N = 512 / 1024, the Python peers,
# then `muse bench resolvent --device gpu --peers` (the JAX ratio checks inside the CLI's report,
# same call) and `muse report` on its JSON.
cd "$(dirname "$0")"; R=$PWD/../..; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench muse gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 60 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head
M='op: Diag,;rows: 16384,;n: 4096,;"f32";Auto'
for r in 1 2; do timeout 30 ./gpu_resolvent_bench --match "$M" >> $OUT/bench.log 2>&1; done
timeout 40 ./gpu_resolvent_bench --match "Auto;rows: 16," >> $OUT/bench.log 2>&1
for n in 512 1024; do timeout 40 ./gpu_resolvent_bench --stream --match "rows: 16384,;n: $n," >> $OUT/bench.log 2>&1; done
grep -E "median|copy" $OUT/bench.log | cut -c1-60,75-110,150-260
echo "== peers"; timeout 150 python3 $R/benches/peers/resolvent_peers.py --json $OUT/peers.json > /tmp/peers.log 2>&1; echo rc=$?; grep -E "B=|device" /tmp/peers.log | tail -6 | cut -c1-140
echo "== muse bench resolvent --device gpu --peers"; timeout 300 ./muse bench resolvent --device gpu --peers $OUT/peers.json --out-dir /tmp/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; cp /tmp/cli/resolvent.json $OUT/cli_resolvent.json; tail -3 $OUT/cli_bench.log | cut -c1-200
python3 -c "import json;d=json.load(open('$OUT/cli_resolvent.json'));g=d['gpu'];[print(k,g[k]) for k in g if k not in ('cases','peer_ratios')];[print(r) for r in g.get('peer_ratios',[])];[print(c['metric'],c['value'],c['pass']) for c in d['checks']]"
echo "== muse report"; ./muse report --in /tmp/cli --out /tmp/rep 2>&1 | tail -3; echo rc=$?; ls /tmp/rep; cp /tmp/rep/report.md $OUT/; head -8 $OUT/report.md | cut -c1-700

#!/bin/bash
# Session 14, run 2 (binaries of the candidate U: the working tree): B16384 N4096 `Auto` for six
# PTX files alternated in one call, two rounds: base (committed), T (pairwise |.|-maximum
# normalisers, `least` by min, outputs stored by the tensor unit from a 128-byte-swizzled
# buffer), U (T + cheap first two steps of the tile transfers: the candidate), memonly (T's
# parent without the arithmetic: bulk loads, tile and k reads, output stores, barriers),
# componlyB / componly (base / T's parent without the bulk loads after the first row and
# without the stores). Then GPU parity (U), B16 `Auto`, the Python peers, `muse bench resolvent
# --device gpu --peers` and `muse report`.
cd "$(dirname "$0")"; R=$PWD/../..; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench muse gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
M='op: Diag,;rows: 16384,;n: 4096,;"f32";Auto'
for r in 1 2; do for v in base T U memonly componlyB componly; do echo "== $v round $r" >> $OUT/big.log; timeout 40 ./gpu_resolvent_bench --ptx $v.ptx --match "$M" >> $OUT/big.log 2>&1; grep -E "median" $OUT/big.log | tail -1 | cut -c1-60,75-110,150-230 | sed "s/^/$v: /"; done; done
grep -E "copy" $OUT/big.log | head -2 | cut -c1-150
echo "== parity"; timeout 70 ./gpu_parity --test-threads=1 > $OUT/parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head
timeout 40 ./gpu_resolvent_bench --match "Auto;rows: 16," > $OUT/bench16.log 2>&1; grep -E "median" $OUT/bench16.log | cut -c1-60,75-110,150-230
echo "== peers"; timeout 150 python3 $R/benches/peers/resolvent_peers.py --json $OUT/peers.json > $OUT/peers.log 2>&1; echo rc=$?; grep -E "B=|device" $OUT/peers.log | tail -6 | cut -c1-140
echo "== muse bench resolvent --device gpu --peers"; timeout 300 ./muse bench resolvent --device gpu --peers $OUT/peers.json --out-dir /tmp/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; cp /tmp/cli/resolvent.json $OUT/cli_resolvent.json; tail -3 $OUT/cli_bench.log | cut -c1-200
python3 -c "import json;d=json.load(open('$OUT/cli_resolvent.json'));g=d['gpu'];[print(k,g[k]) for k in g if k not in ('cases','peer_ratios')];[print(r) for r in g.get('peer_ratios',[])];[print(c['metric'],c['value'],c['pass']) for c in d['checks']]"
echo "== muse report"; ./muse report --in /tmp/cli --out /tmp/rep 2>&1 | tail -3; echo rc=$?; cp /tmp/rep/report.md $OUT/; head -8 $OUT/report.md | cut -c1-700

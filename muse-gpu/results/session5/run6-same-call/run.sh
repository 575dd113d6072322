#!/bin/bash
# Session 5, run 6: the commit's binaries (run 5's, PTX byte-identical to the commit): Auto and tile8
# benches, the Python peers (JAX, PyTorch) and `muse bench resolvent --device gpu`, in one call.
cd "$(dirname "$0")"; R=$PWD/../..; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench muse
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
SP=$(python3 -c "import site;print(' '.join(site.getsitepackages()))" 2>/dev/null)
F=$(find $SP /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name 'libcublas.so.*' 2>/dev/null | grep -v Lt | head -1)
mkdir -p /tmp/cb && ln -sf "$F" /tmp/cb/libcublas.so && export LD_LIBRARY_PATH=/tmp/cb:$(dirname "$F"):$LD_LIBRARY_PATH
echo "== bench (Auto, tile8 at B=16384, split4)"; timeout 90 ./gpu_resolvent_bench --match "Auto" --json $OUT/bench.json > $OUT/bench.log 2>&1; echo rc=$?
timeout 60 ./gpu_resolvent_bench --match "rows: 16384,;Tile { len: 8 };Diag" >> $OUT/bench.log 2>&1; echo rc=$?; grep -E "median|copy" $OUT/bench.log | cut -c1-140
echo "== peers"; timeout 200 python3 $R/benches/peers/resolvent_peers.py --json $OUT/peers.json > $OUT/peers.log 2>&1; echo rc=$?; grep -E "B=|device" $OUT/peers.log | tail -10 | cut -c1-140
echo "== muse bench resolvent --device gpu"; timeout 240 ./muse bench resolvent --device gpu --out-dir /tmp/cli > $OUT/cli_bench.log 2>&1; echo rc=$?; cp /tmp/cli/resolvent.json $OUT/cli_resolvent.json; tail -5 $OUT/cli_bench.log | cut -c1-300
python3 -c "import json;d=json.load(open('$OUT/cli_resolvent.json'));print(json.dumps(d,indent=0)[:3000])"

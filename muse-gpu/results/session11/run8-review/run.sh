#!/bin/bash
# Session 11, run 8 (review: a failure word per parity of the row's iteration): GPU parity,
# the B16384 schedules and Auto cases, the --stream sweep; one call on the committed PTX.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity"; timeout 240 ./gpu_parity --test-threads=1 --nocapture > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test |result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head
echo "== bench"; timeout 120 ./gpu_resolvent_bench --match "op: Diag,;\"f32\";Auto" > $OUT/bench.log 2>&1; echo rc=$?
timeout 120 ./gpu_resolvent_bench --match "op: Diag,;rows: 16384,;\"f32\"" >> $OUT/bench.log 2>&1; echo rc=$?
timeout 200 ./gpu_resolvent_bench --stream >> $OUT/bench.log 2>&1; echo rc=$?; grep -E "median|copy" $OUT/bench.log | cut -c1-175

#!/bin/bash
# Session 16, run 2: built by prepare.sh into .device/s16/; run with the device tool:
# command `bash .device/s16/run.sh`, carry [".device/s16"]. About 3.5 min.
# B16384 N4096 `Auto`, variants alternated, ROUNDS rounds (default 2), all on one bench binary
# (the host does not change): U (the committed kernel), D (`Tile::diag`'s two recurrences meet
# in the middle), N (the row's last barrier a named barrier only the io warp waits at), ND
# (both), and their compute-only variants (after round 1 only U, ND and theirs), each PTX trimmed to the streaming kernel. GPU
# parity with ND after round 1. Then B16 N4096 `Auto` (tiles of 8) with U and ND, each PTX
# trimmed to `resolvent_diag_tile8_f32` (U8, ND8), alternated.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap,clocks.max.sm --format=csv,noheader | tee $OUT/device.txt
pick() { grep -E "auto:.*median" | tail -1 | sed -E 's/.*(median +[0-9.]+ us).*(GB\/s.*of copy\)).*err med ([0-9.e-]+) max ([0-9.e-]+).*/\1 \2 err \3 \4/'; }
one() { # $1 label, $2 PTX file, $3 match
  echo "== $1" >> $OUT/big.log; timeout 40 ./gpu_resolvent_bench --ptx $2 --match "$3" > /tmp/one.log 2>&1; cat /tmp/one.log >> $OUT/big.log
  echo "$1: $(pick < /tmp/one.log)"; }
M='op: Diag,;rows: 16384,;n: 4096,;"f32";Auto'
M16='op: Diag,;rows: 16,;n: 4096,;"f32";Auto'
for r in $(seq 1 ${ROUNDS:-2}); do
  V="U N D ND componlyU componlyN componlyD componlyND"; [ $r -gt 1 ] && V="U ND componlyU componlyND"
  for v in $V; do one "$v r$r" $v.t.ptx "$M"; done
  [ $r = 1 ] && { echo "== gpu_parity (ND)"; timeout 150 ./gpu_parity --test-threads=1 > $OUT/gpu_parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/gpu_parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/gpu_parity.log | head; }
done
grep -E "copy" $OUT/big.log | head -1 | cut -c1-100
for r in 1 2; do for v in U8 ND8; do one "B16 $v r$r" $v.t.ptx "$M16"; done; done
echo "done at ${SECONDS} s"

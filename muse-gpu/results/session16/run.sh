#!/bin/bash
# Session 16, run 2: built by prepare.sh into .device/s16/; run with the device tool:
# command `bash .device/s16/run.sh`, carry [".device/s16"]. About 7 min.
# B16384 N4096 `Auto`, variants alternated, three rounds (the third if time is left), all on
# one bench binary (the host does not change): U (the committed kernel), D (`Tile::diag`'s two
# recurrences meet in the middle), N (the row's last barrier a named barrier only the io warp
# waits at), ND (both), and their compute-only variants. Each PTX is trimmed to the streaming
# kernel. Then GPU parity with ND, B16 `Auto` with U (whole module) and ND (embedded), the
# `--stream` sweep at N = 512 and 1024 and ncu's launch metrics.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp *.t.ptx run.sh $W/ 2>/dev/null; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap,clocks.max.sm --format=csv,noheader | tee $OUT/device.txt
M='op: Diag,;rows: 16384,;n: 4096,;"f32";Auto'
pick() { grep -E "auto:.*median" | tail -1 | sed -E 's/.*(median +[0-9.]+ us).*(GB\/s.*of copy\)).*err med ([0-9.e-]+) max ([0-9.e-]+).*/\1 \2 err \3 \4/'; }
one() { # $1 label, $2 PTX file, $3 timeout
  echo "== $1" >> $OUT/big.log; timeout $3 ./gpu_resolvent_bench --ptx $2 --match "$M" > /tmp/one.log 2>&1; cat /tmp/one.log >> $OUT/big.log
  echo "$1: $(pick < /tmp/one.log)"; }
for r in $(seq 1 ${ROUNDS:-3}); do [ $r = 3 ] && [ $SECONDS -gt 300 ] && { echo "round 3 skipped (${SECONDS} s)"; break; }
  for v in U N D ND componlyU componlyN componlyD componlyND; do one "$v r$r" $v.t.ptx 40; done
  [ $r = 1 ] && { echo "== gpu_parity (ND)"; timeout 150 ./gpu_parity --test-threads=1 > $OUT/gpu_parity.log 2>&1; echo rc=$?; grep -E "result" $OUT/gpu_parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/gpu_parity.log | head; }
done
grep -E "copy" $OUT/big.log | head -1 | cut -c1-100
echo "== B16 Auto, U (whole module) then ND (embedded)"
timeout 90 ./gpu_resolvent_bench --ptx U.ptx --match "Auto;rows: 16,;n: 4096," > $OUT/bench16U.log 2>&1; grep -E "median" $OUT/bench16U.log | cut -c1-60,75-110,150-230
timeout 90 ./gpu_resolvent_bench --match "Auto;rows: 16,;n: 4096," > $OUT/bench16.log 2>&1; grep -E "median" $OUT/bench16.log | cut -c1-60,75-110,150-230
[ -n "$QUICK" ] && exit 0
for n in 512 1024; do timeout 60 ./gpu_resolvent_bench --stream --match "n: $n," >> $OUT/sweep.log 2>&1; done; grep -E "median" $OUT/sweep.log | cut -c1-60,75-110,150-230 | tail -8
timeout 60 ncu --kernel-name regex:stream16 --launch-count 1 --metrics launch__grid_size,launch__registers_per_thread,launch__occupancy_limit_registers,launch__shared_mem_per_block_dynamic,smsp__inst_executed.sum ./gpu_resolvent_bench --match "$M" --warmup 0 --runs 1 > $OUT/ncu.txt 2>&1; echo ncu rc=$?; grep -E "launch__|smsp__" $OUT/ncu.txt | head -6

#!/bin/bash
# Session 15, run 1 (prepared, not run: no device was lent in session 15). Built by
# prepare.sh into .device/s15r1/; run it with the device tool: command `bash .device/s15r1/run.sh`,
# carry [".device/s15r1"]. About 6 min; the CLI and the peers belong to another call.
# B16384 N4096 `Auto`, variants alternated, three rounds, each PTX with its own host (the
# streaming kernel's shared-memory size differs): U (committed) and componlyU on main's bench
# binary; S3 (three blocks per SM), S2g (S3's code at two blocks per SM), S3np (S3 without the
# L2 prefetch of `a`), S3c (S3 with two barriers per row: every warp chains its own boundaries)
# and the compute-only variants on the patched one. Every variant is a
# module trimmed to the streaming kernel (`*.t.ptx`: JIT in about a second); the whole U module
# is timed once as a cross-check of the trimming (its JIT takes ~35 s). GPU parity of S3 and
# of S3c after round 1 (the patched test binaries, whole embedded modules); round 3 only if
# the call has time left. Then B16 `Auto`, the `--stream` sweep at N = 512 and 1024 and the
# launch's occupancy (ncu).
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cp run.sh $OUT/; cd $W; chmod +x gpu_resolvent_bench gpu_resolvent_bench_old gpu_parity gpu_parity_c
nvidia-smi --query-gpu=name,driver_version,compute_cap,clocks.max.sm --format=csv,noheader | tee $OUT/device.txt
M='op: Diag,;rows: 16384,;n: 4096,;"f32";Auto'
one() { # $1 label, $2 PTX file, $3 timeout
  B=./gpu_resolvent_bench; case $1 in *U*) B=./gpu_resolvent_bench_old;; esac
  echo "== $1" >> $OUT/big.log; timeout $3 $B --ptx $2 --match "$M" >> $OUT/big.log 2>&1
  grep -E "median" $OUT/big.log | tail -1 | cut -c1-60,75-110,150-230 | sed "s/^/$1: /"; }
one "U-whole r0" U.ptx 120
for r in 1 2 3; do [ $r = 3 ] && [ $SECONDS -gt 330 ] && { echo "round 3 skipped (${SECONDS} s)"; break; }
  for v in U S3 S2g S3np S3c componlyU componly3 componly2g componly3c; do one "$v r$r" $v.t.ptx 40; done
  [ $r = 1 ] && for p in gpu_parity gpu_parity_c; do echo "== $p"; timeout 120 ./$p --test-threads=1 > $OUT/$p.log 2>&1; echo rc=$?; grep -E "result" $OUT/$p.log | cut -c1-120; grep -E "panicked" -A3 $OUT/$p.log | head; done
done
grep -E "copy" $OUT/big.log | head -2 | cut -c1-150
timeout 60 ./gpu_resolvent_bench --match "Auto;rows: 16,;n: 4096," > $OUT/bench16.log 2>&1; grep -E "median" $OUT/bench16.log | cut -c1-60,75-110,150-230
for n in 512 1024; do timeout 60 ./gpu_resolvent_bench --stream --match "n: $n," >> $OUT/sweep.log 2>&1; done; grep -E "median" $OUT/sweep.log | cut -c1-60,75-110,150-230 | tail -8
timeout 60 ncu --kernel-name regex:stream16 --launch-count 1 --metrics launch__grid_size,launch__registers_per_thread,launch__occupancy_limit_registers,launch__occupancy_limit_shared_mem,launch__shared_mem_per_block_dynamic,smsp__inst_executed.sum ./gpu_resolvent_bench --match "$M" --warmup 0 --runs 1 > $OUT/ncu.txt 2>&1; echo ncu rc=$?; grep -E "launch__|smsp__" $OUT/ncu.txt | head -8

#!/bin/bash
# Session 10, run 6: v2 (64-bit remote loads) vs v3a (16-byte remote loads, affine totals in
# 32-byte slots) vs v3b (v3a + a failed tile makes z̄ NaN: no failure words read from other
# CTAs; built in), alternating, two rounds; parity of v3b.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench gpu_parity
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
echo "== parity (all)"; timeout 240 ./gpu_parity --test-threads=1 --nocapture > $OUT/parity.log 2>&1; echo rc=$?; grep -E "^test result" $OUT/parity.log | cut -c1-120; grep -E "panicked" -A3 $OUT/parity.log | head
for round in 1 2; do for v in v2 v3a v3b; do
  echo "== round $round $v"
  for m in 'op: Vjp,;rows: 16,;n: 4096,;"f32";Cluster' 'op: Vjp,;rows: 16,;n: 4096,;"f32";Tile' 'op: Diag,;rows: 16,;n: 4096,;"f32";Auto' 'op: Vjp,;rows: 16384,;"f32";Auto'; do
    timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match "$m" 2>&1 | grep -E "median" | cut -c1-100
  done
done; done | tee $OUT/variants.log

#!/bin/bash
# Session 10, run 9: the forward tile16 kernel at B16384 with fewer registers (more blocks per
# SM): the committed PTX (v0, .maxnreg 128: 2 blocks) vs .maxnreg 80 / 72 (3 blocks) / 64 (4),
# only the register cap edited; alternating, two rounds.
cd "$(dirname "$0")"; W=/tmp/w; mkdir -p $W; for f in *.xz; do xz -dc $f > $W/${f%.xz}; done; cd $W; chmod +x gpu_resolvent_bench
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee $OUT/device.txt
for round in 1 2; do for v in v0 m80 m72 m64; do
  echo "== round $round $v"
  timeout 60 ./gpu_resolvent_bench --ptx $v.ptx --match 'op: Diag,;rows: 16384,;"f32";Tile { len: 16 }' 2>&1 | grep -E "median" | cut -c1-150
done; done | tee $OUT/variants.log

#!/bin/bash
# Session 17, call 1: session 16's prepared call, then session 17's checks of the split host.
# Device tool: `bash .device/all.sh`, carry [".device/s16", ".device/s17", ".device/all.sh"].
cd "$(dirname "$0")"; O=$OUT
mkdir -p $O/s16 $O/s17
OUT=$O/s16 bash s16/run.sh 2>&1 | tee $O/s16/stdout.txt
OUT=$O/s17 bash s17/run.sh 2>&1 | tee $O/s17/stdout.txt

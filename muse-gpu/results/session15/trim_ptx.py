#!/usr/bin/env python3
"""Keeps only the named kernels of a PTX module (every `.func` stays): a module the driver
JIT-compiles in about a second instead of the ~35 s of all ~100 kernels, for timing variants
of one kernel. Usage: trim_ptx.py IN.ptx OUT.ptx KERNEL [KERNEL ...]"""
import re, sys

src, dst, keep = sys.argv[1], sys.argv[2], set(sys.argv[3:])
lines = open(src).read().split('\n')
out, i, kept = [], 0, set()
while i < len(lines):
    m = re.match(r'\.visible \.entry (\w+)\(', lines[i])
    if m:
        # The entry runs to the first `}` in column 0 after its opening `{`.
        j = i
        while lines[j] != '{':
            j += 1
        while lines[j] != '}':
            j += 1
        if m.group(1) in keep:
            out.extend(lines[i:j + 1])
            kept.add(m.group(1))
        i = j + 1
        continue
    if re.match(r'\s*// \.globl\s', lines[i]):
        i += 1  # the entry's marker comment (kept entries do without it)
        continue
    out.append(lines[i])
    i += 1
missing = keep - kept
if missing:
    sys.exit(f'not in {src}: {sorted(missing)}')
open(dst, 'w').write('\n'.join(out))

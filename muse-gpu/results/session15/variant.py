#!/usr/bin/env python3
"""Builds a variant of the streaming kernel from the working tree's source and copies the
resulting sm_90 PTX to DEST, then restores the source and the tree's PTX.

componly:   the block's first row is loaded once (bulk loads and, for the S3 candidate, the
            threads' `a` reads of row g), then every later row reuses it: no further bulk
            loads, no output stores (the arithmetic and barriers alone).
noprefetch: (S3 only) without the L2 prefetch of the next row's `a`.
Usage: variant.py componly|noprefetch DEST.ptx  (from the repository root; PTXAS in the
environment)."""
import os, shutil, subprocess, sys

kind, dest = sys.argv[1], sys.argv[2]
p = 'muse-gpu/kernels/src/resolvent.rs'
orig = open(p).read()
s = orig


def rep(a, b, optional=False):
    global s
    if optional and s.count(a) == 0:
        return
    assert s.count(a) == 1, (a, s.count(a))
    s = s.replace(a, b)


if kind == 'noprefetch':
    rep("""        bulk::prefetch_l2(a.add(row * n) as *const u8, (4 * n) as u32);\n""", "")
elif kind == 'componly':
    rep("""        unsafe { bulk::wait(bars + 8 * s, (it >> 1) & 1) };""",
        """        if it == 0 { unsafe { bulk::wait(bars + 8 * s, (it >> 1) & 1) }; }""")
    # The committed kernel's double-buffered `a` (the first row's buffer every time).
    rep("""        let sa = sa0 + s * n4;""", """        let sa = sa0;""", optional=True)
    # The S3 candidate's global `a` reads (row g every time: L1/L2 hits).
    rep("""mem::load4_global(a.add(row * n + start as usize + 4 * j))""",
        """mem::load4_global(a.add(g * n + start as usize + 4 * j))""", optional=True)
    rep("            if next < rows {\n                // SAFETY: row `next` exists",
        "            if next < rows && rows == 0 {\n                // SAFETY: row `next` exists")
    rep("""                while k < lines {""", """                while k < lines && rows == 0 {""")
else:
    sys.exit(f'unknown variant {kind}')
ptx = 'muse-gpu/ptx/muse_kernels_sm90.ptx'
saved = {f: open(f).read() for f in [ptx, 'muse-gpu/ptx/SOURCES.sha256', 'muse-gpu/ptx/SOURCES.txt']}
open(p, 'w').write(s)
try:
    r = subprocess.run('bash muse-gpu/build-ptx.sh', shell=True, capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stderr[-3000:])
    shutil.copy(ptx, dest)
    print('built', dest)
finally:
    open(p, 'w').write(orig)
    for f, t in saved.items():
        open(f, 'w').write(t)

#!/usr/bin/env python3
"""Peers of MUSE's GPU resolvent, timed on the same GPU (SPEC §1.3-1.4; issue 5).

What a user would pick instead of MUSE for g = diag (T - zI)^-1 of a batch of tridiagonal
systems (a, b, c ~ N(0,1) non-symmetric, z = 0.1 + 0.1i, the KPI conditions):
  * torch_recurrence: the ratio (Riccati) recurrence, batched over rows, a Python loop over N
    (complex64 on the GPU);
  * torch_dense_inverse: torch.linalg.inv of the dense B x N x N complex64 matrices;
  * jax_scan: jit-compiled jax.lax.associative_scan over the normalised 2x2 transfer matrices
    M_i = [[a_i - z, -k_{i-1}], [1, 0]] (and the reverse direction), complex64.
Accuracy: relative L2 error per row against a float64 NumPy ratio recurrence.
Timing: CUDA events (torch) / block_until_ready + perf_counter (JAX), warm-up then timed runs,
median and IQR. Usage: resolvent_peers.py [--json FILE] [--quick]
"""
import json
import sys
import time

import numpy as np


def make(rows, n, seed=42):
    r = np.random.default_rng(seed)
    a = r.standard_normal((rows, n))
    b = r.standard_normal((rows, n - 1))
    c = r.standard_normal((rows, n - 1))
    return a, b, c, 0.1 + 0.1j


def ref_f64(a, b, c, z):
    """Ratio recurrence in float64 (exact up to rounding; SPEC §1.3)."""
    rows, n = a.shape
    al = a - z
    k = b * c
    r = np.empty((rows, n), complex)
    s = np.empty((rows, n), complex)
    r[:, 0] = al[:, 0]
    for i in range(1, n):
        r[:, i] = al[:, i] - k[:, i - 1] / r[:, i - 1]
    s[:, n - 1] = al[:, n - 1]
    for i in range(n - 2, -1, -1):
        s[:, i] = al[:, i] - k[:, i] / s[:, i + 1]
    return 1.0 / (r + s - al)


def rel_err(got, want):
    e = np.sqrt((np.abs(got - want) ** 2).sum(1) / (np.abs(want) ** 2).sum(1))
    return float(np.median(e)), float(e.max()), float(np.isfinite(got).mean())


def stats(v):
    v = np.sort(np.asarray(v))
    return {"runs": len(v), "median_us": float(np.median(v)), "p25_us": float(np.percentile(v, 25)),
            "p75_us": float(np.percentile(v, 75)), "min_us": float(v[0]), "max_us": float(v[-1])}


def time_torch(torch, f, warmup, runs):
    for _ in range(warmup):
        f()
    torch.cuda.synchronize()
    out = []
    for _ in range(runs):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        f()
        e.record()
        e.synchronize()
        out.append(s.elapsed_time(e) * 1e3)
    return stats(out)


def time_jax(f, warmup, runs):
    for _ in range(warmup):
        f().block_until_ready()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f().block_until_ready()
        out.append((time.perf_counter() - t0) * 1e6)
    return stats(out)


def torch_peers(results, shapes, quick):
    import torch
    dev = torch.device("cuda")
    # Copy bandwidth for reference (bytes read + written).
    x = torch.empty(1 << 28, dtype=torch.float32, device=dev)
    y = torch.empty_like(x)
    t = time_torch(torch, lambda: y.copy_(x), 5, 20)
    results["torch_copy_gbps"] = 2 * x.numel() * 4 / (t["median_us"] * 1e-6) / 1e9
    del x, y
    for rows, n in shapes:
        a, b, c, z = make(rows, n)
        want = ref_f64(a[:64], b[:64], c[:64], z) if rows > 64 else ref_f64(a, b, c, z)
        ta = torch.tensor(a, dtype=torch.float32, device=dev)
        tb = torch.tensor(b, dtype=torch.float32, device=dev)
        tc = torch.tensor(c, dtype=torch.float32, device=dev)
        zz = torch.tensor(z, dtype=torch.complex64, device=dev)

        def recurrence():
            al = ta.to(torch.complex64) - zz
            k = (tb * tc).to(torch.complex64)
            r = [al[:, 0]]
            for i in range(1, n):
                r.append(al[:, i] - k[:, i - 1] / r[-1])
            s = [al[:, n - 1]]
            for i in range(n - 2, -1, -1):
                s.append(al[:, i] - k[:, i] / s[-1])
            return 1.0 / (torch.stack(r, 1) + torch.stack(s[::-1], 1) - al)

        runs = (1, 3) if quick or rows > 16 else (2, 10)
        t = time_torch(torch, recurrence, *runs)
        g = recurrence()[: want.shape[0]].cpu().numpy()
        m, x_, fin = rel_err(g, want)
        results["cases"].append({"peer": "torch_recurrence", "rows": rows, "n": n, "timing": t,
                                 "rel_err_median": m, "rel_err_max": x_, "finite_fraction": fin})
        print(f"torch_recurrence B={rows} N={n}: median {t['median_us']:.1f} us, err med {m:.2e} max {x_:.2e}", flush=True)
        if rows * n * n * 8 <= 4 << 30:  # dense: B x N x N complex64
            def dense():
                A = torch.diag_embed(ta.to(torch.complex64) - zz)
                A = A + torch.diag_embed(tb.to(torch.complex64), 1) + torch.diag_embed(tc.to(torch.complex64), -1)
                return torch.diagonal(torch.linalg.inv(A), dim1=1, dim2=2)
            t = time_torch(torch, dense, *((1, 3) if quick else (2, 10)))
            g = dense()[: want.shape[0]].cpu().numpy()
            m, x_, fin = rel_err(g, want)
            results["cases"].append({"peer": "torch_dense_inverse", "rows": rows, "n": n, "timing": t,
                                     "rel_err_median": m, "rel_err_max": x_, "finite_fraction": fin})
            print(f"torch_dense_inverse B={rows} N={n}: median {t['median_us']:.1f} us, err med {m:.2e} max {x_:.2e}", flush=True)
        del ta, tb, tc
        torch.cuda.empty_cache()


def jax_peers(results, shapes, quick):
    import jax
    import jax.numpy as jnp

    def normalise(m):
        sc = jnp.max(jnp.maximum(jnp.abs(m.real), jnp.abs(m.imag)), axis=(-2, -1), keepdims=True)
        return m / sc

    def combine(x, y):  # x earlier, y later: y @ x, normalised
        return normalise(jnp.einsum("...ij,...jk->...ik", y, x))

    @jax.jit
    def solve(a, b, c, z):
        al = a.astype(jnp.complex64) - z
        k = (b * c).astype(jnp.complex64)
        rows, n = a.shape
        zero = jnp.zeros((rows, 1), jnp.complex64)
        one = jnp.ones((rows, n), jnp.complex64)
        kf = jnp.concatenate([zero, k], 1)           # k_{i-1}, k_{-1} = 0
        M = jnp.stack([jnp.stack([al, -kf], -1), jnp.stack([one, 0 * one], -1)], -2)
        P = jax.lax.associative_scan(combine, M, axis=1)
        r = P[..., 0, 0] / P[..., 1, 0]
        kb = jnp.concatenate([k, zero], 1)           # k_j, k_{N-1} = 0
        Mb = jnp.stack([jnp.stack([al, -kb], -1), jnp.stack([one, 0 * one], -1)], -2)[:, ::-1]
        Q = jax.lax.associative_scan(combine, Mb, axis=1)[:, ::-1]
        s = Q[..., 0, 0] / Q[..., 1, 0]
        return 1.0 / (r + s - al)

    for rows, n in shapes:
        a, b, c, z = make(rows, n)
        want = ref_f64(a[:64], b[:64], c[:64], z) if rows > 64 else ref_f64(a, b, c, z)
        ja, jb, jc = (jnp.asarray(x, jnp.float32) for x in (a, b, c))
        jz = jnp.asarray(z, jnp.complex64)
        f = lambda: solve(ja, jb, jc, jz)
        runs = (2, 5) if quick or rows > 16 else (10, 100)
        t = time_jax(f, *runs)
        g = np.asarray(f())[: want.shape[0]]
        m, x_, fin = rel_err(g, want)
        results["cases"].append({"peer": "jax_scan", "rows": rows, "n": n, "timing": t,
                                 "rel_err_median": m, "rel_err_max": x_, "finite_fraction": fin})
        print(f"jax_scan B={rows} N={n}: median {t['median_us']:.1f} us, err med {m:.2e} max {x_:.2e}", flush=True)


def main():
    quick = "--quick" in sys.argv
    out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    results = {"cases": []}
    try:
        import torch
        results["device"] = torch.cuda.get_device_name(0)
        results["torch"] = torch.__version__
    except Exception as e:  # noqa: BLE001
        results["torch_error"] = repr(e)
    shapes = [(16, 4096), (16384, 4096)]
    for name, fn in (("jax", jax_peers), ("torch", torch_peers)):
        try:
            fn(results, shapes, quick)
        except Exception as e:  # noqa: BLE001
            results[f"{name}_error"] = repr(e)
            print(f"{name} peers failed: {e!r}", flush=True)
        if out:
            with open(out, "w") as fh:
                json.dump(results, fh, indent=1)
    print(json.dumps({k: v for k, v in results.items() if k != "cases"}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Peer baseline for `muse lm` (issue 7): a small causal Transformer in PyTorch.

Same data, tokenizer, token budget, seeds, optimiser schedule and evaluation protocol as
`muse::lm::bench::perplexity` (reduced CPU configuration by default), so the perplexities
can be set side by side:

- word-level tokens, `<eos>` at line ends, vocabulary from the training file in order of
  first appearance after `<unk>` (0) and `<eos>` (1);
- training: random windows of N = 128 tokens, B = 16, AdamW (0.9, 0.95), weight decay 0.01
  on matrices, 5% linear warm-up then cosine decay to 10%, global gradient-norm clip 1.0;
- evaluation: non-overlapping windows of 1024 predictions, 4 per batch, every token after
  the first predicted once, perplexity = exp(sum CE / tokens); batches with NaN/Inf counted
  and excluded;
- model: pre-LN blocks (causal self-attention with rotary position embeddings, MLP d -> 4d
  -> d with exact GELU), final LN, untied head with bias. It is trained at N = 128; at
  evaluation (N = 1024) attention is restricted to the last 128 positions (a sliding
  window), so it only ever sees relative offsets it was trained on.

Usage: python3 lm_transformer.py --train valid.txt --test test.txt --out result.json
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def build_vocab(text):
    words = ["<unk>", "<eos>"]
    index = {w: i for i, w in enumerate(words)}
    for w in text.split():
        if w not in index:
            index[w] = len(words)
            words.append(w)
    return words, index


def encode(text, index):
    out = []
    for line in text.splitlines():
        out.extend(index.get(w, 0) for w in line.split())
        out.append(1)
    return out


def rope(x, base=10000.0):
    # x: (B, heads, N, hd)
    n, hd = x.shape[-2], x.shape[-1]
    half = hd // 2
    freqs = base ** (-torch.arange(half, device=x.device, dtype=torch.float32) / half)
    ang = torch.arange(n, device=x.device, dtype=torch.float32)[:, None] * freqs[None, :]
    cos, sin = ang.cos(), ang.sin()
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)

    def forward(self, x, mask):
        b, n, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        shape = (b, n, self.heads, d // self.heads)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        q, k = rope(q), rope(k)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Transformer(nn.Module):
    def __init__(self, vocab, d, layers, heads, window):
        super().__init__()
        self.window = window
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, idx):
        n = idx.shape[1]
        i = torch.arange(n, device=idx.device)
        rel = i[:, None] - i[None, :]
        mask = (rel >= 0) & (rel < self.window)
        x = self.emb(idx)
        for blk in self.blocks:
            x = blk(x, mask)
        return self.head(self.ln(x))


def eval_batches(length, bsz, n):
    preds = length - 1
    full = preds // n
    out, w = [], 0
    while w < full:
        k = min(bsz, full - w)
        out.append(([i * n for i in range(w, w + k)], n))
        w += k
    if preds % n:
        out.append(([full * n], preds % n))
    return out


@torch.no_grad()
def evaluate(model, ids, bsz, n, dev):
    model.eval()
    data = torch.tensor(ids, dtype=torch.long)
    nll, count, failed, batches = 0.0, 0, 0, 0
    for starts, m in eval_batches(len(ids), bsz, n):
        x = torch.stack([data[s:s + m] for s in starts]).to(dev)
        y = torch.stack([data[s + 1:s + m + 1] for s in starts]).to(dev)
        logits = model(x).float()
        lp = -F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
        batches += 1
        if not torch.isfinite(lp).all():
            failed += 1
            continue
        nll -= lp.double().sum().item()
        count += lp.numel()
    model.train()
    mean = nll / count if count else float("nan")
    return {"ppl": math.exp(mean), "mean_nll": mean, "tokens": count, "batches": batches,
            "failed_batches": failed, "ok": failed == 0 and count > 0}


def unigram(train, test, vocab):
    counts = torch.bincount(torch.tensor(train), minlength=vocab).double()
    preds = torch.tensor(test[1:])
    p = (counts[preds] + 1) / (len(train) + vocab)
    return math.exp(-p.log().mean().item())


def run(args, seed, words, train_ids, test_ids, dev):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = Transformer(len(words), args.d_model, args.layers, args.heads, args.seq_len).to(dev)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2 and p is not model.emb.weight]
    rest = [p for p in model.parameters() if not (p.dim() >= 2 and p is not model.emb.weight)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": rest, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    per_step = args.batch * args.seq_len
    steps = -(-args.tokens // per_step)
    warm = math.ceil(steps * 0.05)
    data = torch.tensor(train_ids, dtype=torch.long)
    curve = []
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for step in range(steps):
        starts = torch.randint(0, len(train_ids) - args.seq_len, (args.batch,), generator=gen)
        x = torch.stack([data[s:s + args.seq_len] for s in starts]).to(dev)
        y = torch.stack([data[s + 1:s + args.seq_len + 1] for s in starts]).to(dev)
        if step < warm:
            lr = args.lr * (step + 1) / warm
        else:
            t = (step - warm) / max(steps - warm, 1)
            lr = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))
        for g in opt.param_groups:
            g["lr"] = lr
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % 25 == 0 or step + 1 == steps:
            curve.append({"step": step + 1, "tokens": (step + 1) * per_step, "train_loss": loss.item()})
    if dev.type == "cuda":
        torch.cuda.synchronize()
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    ev = evaluate(model, test_ids, args.eval_batch, args.eval_seq_len, dev)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    eval_s = time.perf_counter() - t1
    return {"seed": seed, "params": params, "steps": steps, "train_seconds": train_s,
            "train_tokens_per_s": steps * per_step / train_s, "eval_seconds": eval_s,
            "eval_tokens_per_s": ev["tokens"] / eval_s, "eval": ev, "ppl": ev["ppl"], "curve": curve}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=150_000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--eval-batch", type=int, default=4)
    ap.add_argument("--eval-seq-len", type=int, default=1024)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    dev = torch.device(args.device)
    train_text = open(args.train, encoding="utf-8").read()
    test_text = open(args.test, encoding="utf-8").read()
    words, index = build_vocab(train_text)
    train_ids, test_ids = encode(train_text, index), encode(test_text, index)
    runs = [run(args, int(s), words, train_ids, test_ids, dev) for s in args.seeds.split(",")]
    ppl = [r["ppl"] for r in runs]
    mean = sum(ppl) / len(ppl)
    std = math.sqrt(sum((p - mean) ** 2 for p in ppl) / (len(ppl) - 1)) if len(ppl) > 1 else 0.0
    result = {"model": "causal Transformer (RoPE, pre-LN, sliding window = seq_len)",
              "config": vars(args), "device_name": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
              "torch": torch.__version__, "vocab": len(words), "train_file_tokens": len(train_ids),
              "test_file_tokens": len(test_ids), "unigram_ppl": unigram(train_ids, test_ids, len(words)),
              "ppl_mean": mean, "ppl_std": std, "runs": runs}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    for r in runs:
        print(f"seed {r['seed']}: ppl {r['ppl']:.2f}, params {r['params']}, "
              f"train {r['train_tokens_per_s']:.0f} tok/s, eval {r['eval_tokens_per_s']:.0f} tok/s")


if __name__ == "__main__":
    main()

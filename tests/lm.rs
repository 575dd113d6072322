//! The language model (issue 7): every layer's backward pass against central finite
//! differences in f64, the whole model's gradient, causality, training, checkpoints, the
//! tokenizer and the evaluation's handling of non-finite batches.

use muse::core::adjoint::Strategy;
use muse::lm::checkpoint;
use muse::lm::data::eval_batches;
use muse::lm::embedding::Embedding;
use muse::lm::eval::{evaluate, unigram_ppl};
use muse::lm::ffn::FeedForward;
use muse::lm::gelu;
use muse::lm::hamiltonian::HamiltonianBlock;
use muse::lm::layernorm::LayerNorm;
use muse::lm::linear::Linear;
use muse::lm::mixer::Mixer;
use muse::lm::train::{train, TrainConfig};
use muse::lm::{LmError, Model, ModelConfig, Stage, Tokenizer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const H: f64 = 1e-5;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn randn(n: usize, r: &mut ChaCha8Rng) -> Vec<f64> {
    (0..n).map(|_| r.gen_range(-1.0..1.0)).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Central difference of `loss_with(i, δ)` (the loss with entry `i` moved by `δ`).
fn numeric(len: usize, mut loss_with: impl FnMut(usize, f64) -> f64) -> Vec<f64> {
    (0..len)
        .map(|i| (loss_with(i, H) - loss_with(i, -H)) / (2.0 * H))
        .collect()
}

#[track_caller]
fn assert_close(name: &str, analytic: &[f64], fd: &[f64]) {
    assert_eq!(analytic.len(), fd.len(), "{name}: lengths");
    let scale = fd.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    for (i, (a, n)) in analytic.iter().zip(fd).enumerate() {
        assert!(
            (a - n).abs() <= 1e-7 * scale + 1e-6 * n.abs(),
            "{name}[{i}]: analytic {a:e} vs finite difference {n:e}"
        );
    }
    // The check must be able to fail: the gradient is not identically zero.
    assert!(fd.iter().any(|v| v.abs() > 1e-8), "{name}: zero gradient");
}

#[test]
fn linear_backward_matches_finite_differences_f64() {
    let mut r = rng(1);
    let (rows, di, dout) = (5, 4, 3);
    let lin = Linear::<f64>::new("l", di, dout, true, 0.7, &mut r);
    let x = randn(rows * di, &mut r);
    let w = randn(rows * dout, &mut r);
    let loss = |l: &Linear<f64>, x: &[f64]| {
        let mut y = vec![0.0; rows * dout];
        l.forward(x, rows, &mut y);
        dot(&y, &w)
    };
    let mut l = lin.clone();
    let mut dx = vec![0.0; rows * di];
    l.backward(&x, &w, rows, Some(&mut dx));
    let fd_x = numeric(x.len(), |i, d| {
        let mut xp = x.clone();
        xp[i] += d;
        loss(&lin, &xp)
    });
    assert_close("linear dx", &dx, &fd_x);
    let fd_w = numeric(lin.weight.len(), |i, d| {
        let mut lp = lin.clone();
        lp.weight.value[i] += d;
        loss(&lp, &x)
    });
    assert_close("linear dW", &l.weight.grad, &fd_w);
    let fd_b = numeric(dout, |i, d| {
        let mut lp = lin.clone();
        lp.bias.as_mut().unwrap().value[i] += d;
        loss(&lp, &x)
    });
    assert_close("linear db", &l.bias.as_ref().unwrap().grad, &fd_b);
}

#[test]
fn layernorm_backward_matches_finite_differences_f64() {
    let mut r = rng(2);
    let (rows, d) = (4, 6);
    let mut ln = LayerNorm::<f64>::new("ln", d);
    ln.gain.value = randn(d, &mut r);
    ln.shift.value = randn(d, &mut r);
    let x: Vec<f64> = randn(rows * d, &mut r)
        .iter()
        .map(|v| 3.0 * v + 0.5)
        .collect();
    let w = randn(rows * d, &mut r);
    let loss = |l: &LayerNorm<f64>, x: &[f64]| {
        let (mut y, mut m, mut s) = (vec![0.0; rows * d], vec![0.0; rows], vec![0.0; rows]);
        l.forward(x, rows, &mut y, &mut m, &mut s);
        dot(&y, &w)
    };
    let (mut y, mut m, mut s) = (vec![0.0; rows * d], vec![0.0; rows], vec![0.0; rows]);
    ln.forward(&x, rows, &mut y, &mut m, &mut s);
    let mut l = ln.clone();
    let mut dx = vec![0.0; rows * d];
    l.backward(&x, &w, &m, &s, rows, &mut dx);
    let fd_x = numeric(x.len(), |i, dd| {
        let mut xp = x.clone();
        xp[i] += dd;
        loss(&ln, &xp)
    });
    assert_close("layernorm dx", &dx, &fd_x);
    let fd_g = numeric(d, |i, dd| {
        let mut lp = ln.clone();
        lp.gain.value[i] += dd;
        loss(&lp, &x)
    });
    assert_close("layernorm dgain", &l.gain.grad, &fd_g);
    let fd_b = numeric(d, |i, dd| {
        let mut lp = ln.clone();
        lp.shift.value[i] += dd;
        loss(&lp, &x)
    });
    assert_close("layernorm dshift", &l.shift.grad, &fd_b);
}

#[test]
fn gelu_backward_matches_finite_differences_f64() {
    let mut r = rng(3);
    let x: Vec<f64> = randn(40, &mut r).iter().map(|v| 4.0 * v).collect();
    let w = randn(40, &mut r);
    let loss = |x: &[f64]| {
        let mut y = vec![0.0; x.len()];
        gelu::forward(x, &mut y);
        dot(&y, &w)
    };
    let mut dx = vec![0.0; x.len()];
    gelu::backward(&x, &w, &mut dx);
    let fd = numeric(x.len(), |i, d| {
        let mut xp = x.clone();
        xp[i] += d;
        loss(&xp)
    });
    assert_close("gelu dx", &dx, &fd);
    // gelu(x) = x Φ(x): Φ(1) = 0.841344746068543.
    assert!((gelu::gelu(1.0f64) - 0.841_344_746_068_543).abs() < 1e-15);
}

#[test]
fn embedding_backward_scatters_into_the_rows_used() {
    let mut r = rng(4);
    let mut e = Embedding::<f64>::new("e", 5, 3, 1.0, &mut r);
    let tokens = [2u32, 4, 2];
    let dout = randn(9, &mut r);
    e.backward(&tokens, &dout);
    for j in 0..3 {
        assert_eq!(e.table.grad[2 * 3 + j], dout[j] + dout[6 + j]);
        assert_eq!(e.table.grad[4 * 3 + j], dout[3 + j]);
        assert_eq!(e.table.grad[j], 0.0);
    }
    let mut out = vec![0.0; 6];
    assert!(matches!(
        e.forward(&[1, 5], &mut out),
        Err(LmError::Input(_))
    ));
}

fn mixer_loss(m: &Mixer<f64>, x: &[f64], w: &[f64], bsz: usize, n: usize) -> f64 {
    let mut m = m.clone();
    let mut out = vec![0.0; x.len()];
    m.forward(x, bsz, n, &mut out).unwrap();
    dot(&out, w)
}

#[test]
fn mixer_backward_matches_finite_differences_f64() {
    let mut r = rng(5);
    let (bsz, n, d, h) = (2, 6, 4, 3);
    let mut mixer = Mixer::<f64>::new("m", d, h, 1, &mut r);
    // Move every resolvent parameter off its initial value (non-symmetric b ≠ c, Re z ≠ 0).
    for p in [
        &mut mixer.coupling_b,
        &mut mixer.coupling_c,
        &mut mixer.shift_re,
        &mut mixer.shift_im,
    ] {
        for v in &mut p.value {
            *v += r.gen_range(-0.5..0.5);
        }
    }
    let x = randn(bsz * n * d, &mut r);
    let w = randn(bsz * n * d, &mut r);
    let mut m = mixer.clone();
    let mut out = vec![0.0; x.len()];
    m.forward(&x, bsz, n, &mut out).unwrap();
    let mut dx = vec![0.0; x.len()];
    m.backward(&x, &w, bsz, n, &mut dx).unwrap();
    let fd_x = numeric(x.len(), |i, dd| {
        let mut xp = x.clone();
        xp[i] += dd;
        mixer_loss(&mixer, &xp, &w, bsz, n)
    });
    assert_close("mixer dx", &dx, &fd_x);
    let analytic: Vec<(String, Vec<f64>)> = m
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.grad.clone()))
        .collect();
    for (k, (name, grad)) in analytic.iter().enumerate() {
        let fd = numeric(grad.len(), |i, dd| {
            let mut mp = mixer.clone();
            mp.params_mut()[k].value[i] += dd;
            mixer_loss(&mp, &x, &w, bsz, n)
        });
        assert_close(name, grad, &fd);
    }
}

#[test]
fn mixer_output_is_causal() {
    let mut r = rng(6);
    let (n, d, h) = (7, 4, 3);
    let mut mixer = Mixer::<f64>::new("m", d, h, 1, &mut r);
    let x = randn(n * d, &mut r);
    let mut x2 = x.clone();
    for v in &mut x2[4 * d..] {
        *v += 1.0;
    }
    let (mut o1, mut o2) = (vec![0.0; n * d], vec![0.0; n * d]);
    mixer.forward(&x, 1, n, &mut o1).unwrap();
    mixer.forward(&x2, 1, n, &mut o2).unwrap();
    assert_eq!(o1[..4 * d], o2[..4 * d]);
    assert!(o1[4 * d..].iter().zip(&o2[4 * d..]).all(|(a, b)| a != b));
}

#[test]
fn ffn_backward_matches_finite_differences_f64() {
    let mut r = rng(7);
    let (rows, d) = (5, 3);
    let ffn = FeedForward::<f64>::new("f", d, 1, &mut r);
    let x = randn(rows * d, &mut r);
    let w = randn(rows * d, &mut r);
    let loss = |f: &FeedForward<f64>, x: &[f64]| {
        let mut f = f.clone();
        let mut out = vec![0.0; x.len()];
        f.forward(x, rows, &mut out);
        dot(&out, &w)
    };
    let mut f = ffn.clone();
    let mut out = vec![0.0; x.len()];
    f.forward(&x, rows, &mut out);
    let mut dx = vec![0.0; x.len()];
    f.backward(&x, &w, rows, &mut dx);
    let fd_x = numeric(x.len(), |i, dd| {
        let mut xp = x.clone();
        xp[i] += dd;
        loss(&ffn, &xp)
    });
    assert_close("ffn dx", &dx, &fd_x);
    let analytic: Vec<(String, Vec<f64>)> = f
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.grad.clone()))
        .collect();
    for (k, (name, grad)) in analytic.iter().enumerate() {
        let fd = numeric(grad.len(), |i, dd| {
            let mut fp = ffn.clone();
            fp.params_mut()[k].value[i] += dd;
            loss(&fp, &x)
        });
        assert_close(name, grad, &fd);
    }
}

fn tiny_config(stage: Stage) -> ModelConfig {
    let mut c = ModelConfig::new(stage, 7, 4, 2, 3);
    c.seed = 11;
    c
}

fn model_loss(m: &Model<f64>, x: &[u32], y: &[u32], bsz: usize, n: usize) -> f64 {
    let mut m = m.clone();
    m.forward(x, bsz, n).unwrap();
    let lp = m.log_probs(y).unwrap();
    -lp.iter().sum::<f64>() / lp.len() as f64
}

fn model_gradient_matches_finite_differences(stage: Stage) {
    let mut r = rng(8);
    let (bsz, n) = (2, 5);
    let model = Model::<f64>::new(tiny_config(stage)).unwrap();
    let x: Vec<u32> = (0..bsz * n).map(|_| r.gen_range(0..7)).collect();
    let y: Vec<u32> = (0..bsz * n).map(|_| r.gen_range(0..7)).collect();
    let mut m = model.clone();
    m.zero_grad();
    m.forward(&x, bsz, n).unwrap();
    let loss = m.backward(&y).unwrap();
    assert!((loss - model_loss(&model, &x, &y, bsz, n)).abs() < 1e-12);
    let analytic: Vec<(String, Vec<f64>)> = m
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.grad.clone()))
        .collect();
    for (k, (name, grad)) in analytic.iter().enumerate() {
        let fd = numeric(grad.len(), |i, dd| {
            let mut mp = model.clone();
            mp.params_mut()[k].value[i] += dd;
            model_loss(&mp, &x, &y, bsz, n)
        });
        if name.starts_with("embedding") || name.ends_with(".b2") {
            // Rows of tokens that do not occur, and the energy offset b₂, have zero gradient.
            let scale = fd.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
            for (a, f) in grad.iter().zip(&fd) {
                assert!((a - f).abs() <= 1e-7 * scale + 1e-6 * f.abs(), "{name}");
            }
        } else {
            assert_close(name, grad, &fd);
        }
    }
}

#[test]
fn stage1_model_gradient_matches_finite_differences_f64() {
    model_gradient_matches_finite_differences(Stage::One);
}

fn causal_prefix_is_unchanged(stage: Stage) {
    let mut model = Model::<f64>::new(tiny_config(stage)).unwrap();
    let x1 = [1u32, 4, 2, 6, 0, 3, 5, 2];
    let mut x2 = x1;
    x2[5] = 1;
    x2[7] = 6;
    let y = [4u32, 2, 6, 0, 3, 5, 2, 1];
    model.forward(&x1, 1, 8).unwrap();
    let lp1 = model.log_probs(&y).unwrap();
    model.forward(&x2, 1, 8).unwrap();
    let lp2 = model.log_probs(&y).unwrap();
    assert_eq!(
        lp1[..5],
        lp2[..5],
        "a later token changed an earlier log-probability"
    );
    assert_ne!(lp1[5], lp2[5]);
    // The prefix alone (a different N) gives the same log-probabilities.
    model.forward(&x1[..5], 1, 5).unwrap();
    let lp3 = model.log_probs(&y[..5]).unwrap();
    for (a, b) in lp1[..5].iter().zip(&lp3) {
        assert!((a - b).abs() <= 1e-13, "{a} vs {b}");
    }
}

#[test]
fn stage1_log_probs_of_a_prefix_ignore_later_tokens() {
    causal_prefix_is_unchanged(Stage::One);
}

fn small_corpus() -> String {
    let lines = [
        "the cat sat on the mat .",
        "the dog sat on the log .",
        "a cat saw a dog on the mat .",
        "the dog saw the cat .",
    ];
    let mut s = String::new();
    for i in 0..60 {
        s.push_str(lines[i % lines.len()]);
        s.push('\n');
    }
    s
}

fn quick_train_config() -> TrainConfig {
    TrainConfig {
        seq_len: 16,
        batch: 4,
        tokens: 64 * 60,
        lr: 1e-2,
        eval_every: 0,
        eval_tokens: 200,
        progress: false,
        ..TrainConfig::default()
    }
}

fn loss_falls(stage: Stage) {
    let text = small_corpus();
    let tok = Tokenizer::from_text(&text);
    let ids = tok.encode(&text);
    let mut cfg = ModelConfig::new(stage, tok.len(), 16, 1, 8);
    cfg.seed = 3;
    let mut model = Model::<f32>::new(cfg).unwrap();
    let before = evaluate(&mut model, &ids, 4, 16).unwrap();
    let report = train(&mut model, &ids, &ids, &quick_train_config()).unwrap();
    let after = evaluate(&mut model, &ids, 4, 16).unwrap();
    assert!(before.ok && after.ok);
    // The corpus has ~2 bits of uncertainty per token at most; a uniform model has ln V.
    assert!(
        after.mean_nll < 0.5 * before.mean_nll && after.ppl < 3.0,
        "loss {} → {} (ppl {})",
        before.mean_nll,
        after.mean_nll,
        after.ppl
    );
    assert_eq!(report.steps, 60);
    assert!(report.curve.last().unwrap().valid_loss.is_some());
}

#[test]
fn stage1_loss_falls_on_a_small_corpus() {
    loss_falls(Stage::One);
}

#[test]
fn checkpoint_round_trip_reproduces_logits_exactly() {
    let text = small_corpus();
    let tok = Tokenizer::from_text(&text);
    let ids = tok.encode(&text);
    let mut cfg = ModelConfig::new(Stage::One, tok.len(), 8, 2, 4);
    cfg.seed = 9;
    let mut model = Model::<f32>::new(cfg).unwrap();
    let mut tc = quick_train_config();
    tc.tokens = 64 * 5;
    train(&mut model, &ids, &ids, &tc).unwrap();
    let dir = std::env::temp_dir().join(format!("muse-lm-ckpt-{}", std::process::id()));
    checkpoint::save(&dir, &model, &tok, serde_json::json!({"note": "test"})).unwrap();
    let (mut loaded, tok2, cfg2) = checkpoint::load(&dir).unwrap();
    assert_eq!(tok2, tok);
    assert_eq!(cfg2.model, model.config);
    let x = &ids[..24];
    model.forward(x, 2, 12).unwrap();
    loaded.forward(x, 2, 12).unwrap();
    assert_eq!(model.logits(), loaded.logits());
    // A corrupted file is an error, not a panic.
    std::fs::write(dir.join("model.safetensors"), b"garbage").unwrap();
    assert!(matches!(
        checkpoint::load(&dir),
        Err(LmError::Checkpoint(_))
    ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tokenizer_round_trip() {
    let text = "the cat sat\n\n = heading = \nthe mat , 3 @.@ 5\n";
    let tok = Tokenizer::from_text(text);
    let ids = tok.encode(text);
    // Whitespace is normalised to single spaces, lines end with <eos>.
    assert_eq!(
        tok.decode(&ids).unwrap(),
        "the cat sat\n\n= heading =\nthe mat , 3 @.@ 5\n"
    );
    assert_eq!(tok.encode(&tok.decode(&ids).unwrap()), ids);
    assert_eq!(ids.iter().filter(|&&i| i == 1).count(), 4);
    // Unknown words map to <unk>, which decodes as itself.
    assert_eq!(tok.encode("cat dog\n"), vec![tok.id("cat"), 0, 1]);
    assert_eq!(tok.decode(&[0]).unwrap(), "<unk>");
    assert!(tok.decode(&[tok.len() as u32]).is_err());
    let again = Tokenizer::from_words(tok.words().to_vec()).unwrap();
    assert_eq!(again, tok);
}

#[test]
fn eval_windows_predict_every_token_once() {
    for (len, b, n) in [(2, 4, 3), (10, 2, 3), (13, 4, 4), (100, 3, 7)] {
        let mut seen = vec![0; len];
        for batch in eval_batches(len, b, n) {
            assert!(batch.starts.len() <= b);
            for s in batch.starts {
                for c in &mut seen[s + 1..s + batch.n + 1] {
                    *c += 1;
                }
            }
        }
        assert_eq!(seen[0], 0);
        assert!(seen[1..].iter().all(|&c| c == 1), "{len} {b} {n}");
    }
}

#[test]
fn eval_counts_and_excludes_non_finite_batches() {
    let text = small_corpus();
    let tok = Tokenizer::from_text(&text);
    let ids = tok.encode(&text);
    let mut model = Model::<f32>::new(ModelConfig::new(Stage::One, tok.len(), 8, 1, 4)).unwrap();
    let clean = evaluate(&mut model, &ids, 2, 16).unwrap();
    assert!(clean.ok && clean.failed_batches == 0 && clean.tokens == ids.len() - 1);
    // Poison one word's embedding: every batch that reads it fails.
    let bad = tok.id("log") as usize;
    let d = model.config.d_model;
    model.embedding.table.value[bad * d] = f32::NAN;
    let r = evaluate(&mut model, &ids, 2, 16).unwrap();
    assert!(!r.ok && r.failed_batches > 0 && r.failed_batches < r.batches);
    assert_eq!(r.tokens + r.failed_tokens, ids.len() - 1);
    assert!(r.ppl.is_finite());
}

#[test]
fn unigram_floor_matches_hand_count() {
    let train = [0u32, 1, 1, 2];
    let test = [2u32, 1, 1];
    let (ppl, oracle) = unigram_ppl(&train, &test, 3);
    // p(1) = (2 + 1)/(4 + 3).
    assert!((ppl - 7.0 / 3.0).abs() < 1e-12);
    assert!((oracle - 1.0).abs() < 1e-12);
}

fn ham_block(strategy: Strategy, seed: u64) -> HamiltonianBlock<f64> {
    let mut r = rng(seed);
    let mut b = HamiltonianBlock::<f64>::new("h", 3, 10, 0.1, strategy, &mut r);
    b.b1.value = randn(b.hidden, &mut r);
    b.ln.gain.value = randn(3, &mut r);
    b.ln.shift.value = randn(3, &mut r);
    b
}

fn ham_loss(b: &HamiltonianBlock<f64>, x: &[f64], w: &[f64], rows: usize) -> f64 {
    let mut b = b.clone();
    let mut out = vec![0.0; x.len()];
    b.forward(x, rows, &mut out).unwrap();
    dot(&out, w)
}

fn ham_grads(b: &mut HamiltonianBlock<f64>, x: &[f64], w: &[f64], rows: usize) -> Vec<Vec<f64>> {
    let mut out = vec![0.0; x.len()];
    b.forward(x, rows, &mut out).unwrap();
    let mut dx = vec![0.0; x.len()];
    b.backward(x, w, rows, &mut dx).unwrap();
    let mut g: Vec<Vec<f64>> = b.params().iter().map(|p| p.grad.clone()).collect();
    g.push(dx);
    g
}

#[test]
fn hamiltonian_block_backward_matches_finite_differences_f64() {
    let mut r = rng(21);
    let rows = 4;
    let block = ham_block(Strategy::Reversible, 22);
    let x = randn(rows * 3, &mut r);
    let w = randn(rows * 3, &mut r);
    let mut b = block.clone();
    let g = ham_grads(&mut b, &x, &w, rows);
    assert_eq!(b.stats.calls, 1);
    assert!(
        b.stats.max_recon_error < 1e-12,
        "{}",
        b.stats.max_recon_error
    );
    let fd_x = numeric(x.len(), |i, dd| {
        let mut xp = x.clone();
        xp[i] += dd;
        ham_loss(&block, &xp, &w, rows)
    });
    assert_close("ham dx", &g[g.len() - 1], &fd_x);
    let names: Vec<String> = block.params().iter().map(|p| p.name.clone()).collect();
    for (k, name) in names.iter().enumerate() {
        let fd = numeric(g[k].len(), |i, dd| {
            let mut bp = block.clone();
            bp.params_mut()[k].value[i] += dd;
            ham_loss(&bp, &x, &w, rows)
        });
        if name.ends_with(".b2") {
            // b₂ shifts the energy, not the flow.
            assert_eq!(g[k], vec![0.0]);
            assert!(fd[0].abs() < 1e-9);
        } else {
            assert_close(name, &g[k], &fd);
        }
    }
}

#[test]
fn hamiltonian_block_strategies_and_fallback_agree() {
    let mut r = rng(23);
    let rows = 5;
    let x = randn(rows * 3, &mut r);
    let w = randn(rows * 3, &mut r);
    let reference = ham_grads(&mut ham_block(Strategy::StoreAll, 24), &x, &w, rows);
    let mut rev = ham_block(Strategy::Reversible, 24);
    let g_rev = ham_grads(&mut rev, &x, &w, rows);
    // A zero threshold forces the fallback whenever the rebuilt q₀ differs at all.
    let mut forced = ham_block(Strategy::Reversible, 24);
    forced.threshold = 0.0;
    let g_fb = ham_grads(&mut forced, &x, &w, rows);
    assert!(forced.stats.max_recon_error > 0.0);
    assert!(forced.stats.fallbacks > 0);
    assert_eq!(rev.stats.fallbacks, 0);
    for ((a, b), c) in reference.iter().zip(&g_rev).zip(&g_fb) {
        for ((x, y), z) in a.iter().zip(b).zip(c) {
            assert!((x - y).abs() <= 1e-12 * (1.0 + x.abs()), "{x} vs {y}");
            assert_eq!(x, z, "fallback gradient must equal StoreAll's");
        }
    }
}

#[test]
fn stage2_model_gradient_matches_finite_differences_f64() {
    model_gradient_matches_finite_differences(Stage::Two);
}

#[test]
fn stage2_log_probs_of_a_prefix_ignore_later_tokens() {
    causal_prefix_is_unchanged(Stage::Two);
}

#[test]
fn stage2_loss_falls_on_a_small_corpus() {
    loss_falls(Stage::Two);
}

#[test]
fn exp_f32_matches_f64_exp_to_two_ulp_and_handles_the_edges() {
    use muse::lm::exp_f32;
    // A dense grid over the whole normal range, plus random points.
    let mut r = rng(21);
    let mut worst = 0.0f64;
    let grid = (0..400_001).map(|i| -87.3 + 176.0 * i as f64 / 400_000.0);
    let random = (0..100_000).map(|_| r.gen_range(-87.3..88.7));
    for x in grid.chain(random) {
        let xf = x as f32;
        let exact = (xf as f64).exp();
        let got = exp_f32(xf) as f64;
        worst = worst.max(((got - exact) / exact).abs());
    }
    // f32 unit roundoff is 2⁻²⁴ ≈ 6·10⁻⁸: two units of the last place.
    assert!(
        worst < 2.0 * f32::EPSILON as f64,
        "worst relative error {worst:e}"
    );
    assert_eq!(exp_f32(0.0), 1.0);
    assert_eq!(exp_f32(-100.0), 0.0);
    assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp_f32(100.0), f32::INFINITY);
    assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
    assert!(exp_f32(f32::NAN).is_nan());
}

#[test]
fn log_sum_exp_matches_f64_and_flags_non_finite_rows() {
    use muse::lm::model::{exp_shift_sum, finite_max, log_sum_exp};
    let mut r = rng(22);
    for len in [1usize, 7, 8, 9, 100, 1003] {
        let x: Vec<f32> = (0..len).map(|_| r.gen_range(-30.0..30.0)).collect();
        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let m = x64.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let exact = m + x64.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        let got = log_sum_exp(&x) as f64;
        assert!(
            (got - exact).abs() < 1e-5 * (1.0 + exact.abs()),
            "{len}: {got} vs {exact}"
        );
        assert_eq!(finite_max(&x), Some(m as f32));
        let mut e = vec![0.0f32; len];
        let s = exp_shift_sum(&x, m as f32, Some(&mut e)) as f64;
        for (ei, xi) in e.iter().zip(&x64) {
            assert!((*ei as f64 - (xi - m).exp()).abs() < 1e-6);
        }
        assert!((s - e.iter().map(|&v| v as f64).sum::<f64>()).abs() < 1e-4 * s);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut y = x.clone();
            y[len / 2] = bad;
            assert_eq!(finite_max(&y), None);
            assert!(log_sum_exp(&y).is_nan());
        }
    }
}

fn f16_test_model(stage: Stage) -> Model<f32> {
    // A vocabulary above two head tiles, so that the tiled output projection has a partial
    // last tile.
    let mut c = ModelConfig::new(stage, 2 * muse::lm::f16::HEAD_TILE + 77, 16, 2, 4);
    c.seed = 5;
    Model::<f32>::new(c).unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).abs())
        .fold(0.0, f64::max)
}

fn f16_model_checks(stage: Stage) {
    use muse::lm::F16Model;
    let model = f16_test_model(stage);
    let (bsz, n) = (2, 9);
    let mut r = rng(31);
    let v = model.config.vocab as u32;
    let x: Vec<u32> = (0..bsz * n).map(|_| r.gen_range(0..v)).collect();
    let mut f16m = F16Model::from_model(&model).unwrap();
    // Storage: two bytes per parameter, half the f32 model's.
    assert_eq!(f16m.num_params(), model.num_params());
    assert_eq!(f16m.weight_bytes(), 2 * model.num_params());
    assert_eq!(2 * f16m.weight_bytes(), 4 * model.num_params());
    f16m.forward(&x, bsz, n).unwrap();
    let l16 = f16m.logits().to_vec();
    // 1. The same computation as the f32 model on f16-rounded weights: only the f32
    // summation order of the tiled output projection may differ, a relative 2·d·2⁻²⁴ of
    // Σ|x_i w_i| = O(1) here; 1e-5 bounds it with a wide margin.
    let mut rounded = model.clone();
    rounded.round_weights_to_f16();
    rounded.forward(&x, bsz, n).unwrap();
    let dr = max_abs_diff(&l16, rounded.logits());
    assert!(dr <= 1e-5, "f16 storage vs f16-rounded f32 weights: {dr:e}");
    // 2. Against the unrounded f32 model: rounding to f16 perturbs each weight by a relative
    // error of at most 2⁻¹¹. The same model with every weight perturbed by exactly ±2⁻¹¹
    // (random signs) shows the size of such a perturbation's effect on the logits; f16
    // rounding (|ε| ≤ 2⁻¹¹, mostly smaller) must stay within twice that, and be non-zero.
    let mut exact = model.clone();
    exact.forward(&x, bsz, n).unwrap();
    let d16 = max_abs_diff(&l16, exact.logits());
    let mut pert = model.clone();
    let mut rp = rng(32);
    for p in pert.params_mut() {
        for w in &mut p.value {
            let s = if rp.gen::<bool>() { 1.0 } else { -1.0 };
            *w *= 1.0 + s * 2f32.powi(-11);
        }
    }
    pert.forward(&x, bsz, n).unwrap();
    let dp = max_abs_diff(pert.logits(), exact.logits());
    assert!(d16 > 0.0, "the f16 weights must actually be rounded");
    assert!(
        d16 <= 2.0 * dp,
        "f16 deviation {d16:e} vs ±2⁻¹¹ perturbation {dp:e}"
    );
    // Log-probabilities and evaluation go through the same path.
    let y: Vec<u32> = (0..bsz * n).map(|_| r.gen_range(0..v)).collect();
    let lp16 = muse::lm::Forward::target_log_probs(&f16m, &y).unwrap();
    let lpr = rounded.log_probs(&y).unwrap();
    assert!(max_abs_diff(&lp16, &lpr) <= 1e-5);
    let toks: Vec<u32> = (0..200).map(|_| r.gen_range(0..v)).collect();
    let e16 = evaluate(&mut f16m, &toks, 2, 16).unwrap();
    let e32 = evaluate(&mut exact, &toks, 2, 16).unwrap();
    assert!(
        e16.ok && (e16.ppl / e32.ppl - 1.0).abs() < 1e-3,
        "{} vs {}",
        e16.ppl,
        e32.ppl
    );
    // Bad input is an error.
    assert!(f16m.forward(&[v], 1, 1).is_err());
    assert!(f16m.forward(&x, bsz, n + 1).is_err());
}

#[test]
fn stage1_f16_storage_halves_the_weights_and_matches_f32_logits() {
    f16_model_checks(Stage::One);
}

#[test]
fn stage2_f16_storage_halves_the_weights_and_matches_f32_logits() {
    f16_model_checks(Stage::Two);
}

#[test]
fn ham_lr_mult_scales_only_the_stage2_potential() {
    let text = small_corpus();
    let tok = Tokenizer::from_text(&text);
    let ids = tok.encode(&text);
    let mut cfg = ModelConfig::new(Stage::Two, tok.len(), 8, 2, 4);
    cfg.seed = 4;
    let model = Model::<f32>::new(cfg.clone()).unwrap();
    let mask = model.potential_mask();
    assert_eq!(mask.len(), model.params().len());
    let marked: Vec<&str> = model
        .params()
        .iter()
        .zip(&mask)
        .filter(|(_, &m)| m)
        .map(|(p, _)| p.name.as_str())
        .collect();
    assert_eq!(
        marked,
        [
            "blocks.0.ham.w1",
            "blocks.0.ham.b1",
            "blocks.0.ham.w2",
            "blocks.0.ham.b2",
            "blocks.1.ham.w1",
            "blocks.1.ham.b1",
            "blocks.1.ham.w2",
            "blocks.1.ham.b2"
        ]
    );
    let s1 = Model::<f32>::new(ModelConfig::new(Stage::One, tok.len(), 8, 1, 4)).unwrap();
    assert!(s1.potential_mask().iter().all(|&m| !m));
    // Multiplier 0: the potential does not move (update and decay both scaled), the rest does.
    let mut trained = model.clone();
    let tc = TrainConfig {
        ham_lr_mult: 0.0,
        tokens: 64 * 4,
        ..quick_train_config()
    };
    train(&mut trained, &ids, &ids, &tc).unwrap();
    for ((p0, p1), &m) in model.params().iter().zip(trained.params()).zip(&mask) {
        if m {
            assert_eq!(p0.value, p1.value, "{} moved", p0.name);
        } else if p0.name.contains("mixer.in.weight") {
            assert_ne!(p0.value, p1.value, "{} did not move", p0.name);
        }
    }
    // Bad values are rejected.
    let bad = TrainConfig {
        ham_lr_mult: f64::NAN,
        ..quick_train_config()
    };
    assert!(train(&mut model.clone(), &ids, &ids, &bad).is_err());
    let mut bad_init = cfg;
    bad_init.ham_w1_gain = 0.0;
    assert!(Model::<f32>::new(bad_init).is_err());
}

//! `muse lm train|eval|score|generate`: the causal MUSE language model (issue 7).

use crate::error::usage;
use clap::{Args, Subcommand, ValueEnum};
use muse::lm::checkpoint;
use muse::lm::data::{read_text, tokenizer_from_file};
use muse::lm::eval::evaluate;
use muse::lm::generate::generate;
use muse::lm::score::score_text;
use muse::lm::train::{train, TrainConfig};
use muse::lm::{F16Model, Forward, LmError, Model, ModelConfig, Stage};
use std::path::PathBuf;
use std::process::ExitCode;

/// Language-model subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model on a text file and write a checkpoint directory.
    Train(TrainArgs),
    /// Perplexity of a checkpoint on a text file.
    Eval(EvalArgs),
    /// Per-token log-probabilities of a text, as a 1-D f32 .npy array.
    Score(ScoreArgs),
    /// Continue a prompt.
    Generate(GenerateArgs),
    /// The language-model KPIs directly (`muse bench` runs the same functions).
    #[command(subcommand)]
    Kpi(KpiCommand),
}

/// `muse lm kpi perplexity|memory|throughput`.
#[derive(Debug, Subcommand)]
pub enum KpiCommand {
    /// Train Stage 1 and Stage 2 (same data, budget, seeds) and compare test perplexity.
    Perplexity {
        /// Training text.
        #[arg(long)]
        train: PathBuf,
        /// Test text.
        #[arg(long)]
        test: PathBuf,
        /// Seeds (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
        seeds: Vec<u64>,
        /// Token budget per model (default: the reduced CPU configuration's).
        #[arg(long)]
        tokens: Option<usize>,
        /// Training windows per step (default: the reduced configuration's).
        #[arg(long)]
        batch: Option<usize>,
        /// Peak learning rate (default: the reduced configuration's).
        #[arg(long)]
        lr: Option<f64>,
        /// Write the JSON result here (also printed).
        #[arg(long)]
        export_json: Option<PathBuf>,
        /// Show progress bars.
        #[arg(long)]
        progress: bool,
    },
    /// Host peak memory of the base model (forward; training, Stage 2 Reversible vs StoreAll).
    Memory {
        /// Smaller Stage 2 training measurement (B = 1, N = 256) that fits a CPU budget.
        #[arg(long)]
        quick: bool,
        /// Write the JSON result here.
        #[arg(long)]
        export_json: Option<PathBuf>,
    },
    /// Tokens/s of the base model.
    Throughput {
        /// Write the JSON result here.
        #[arg(long)]
        export_json: Option<PathBuf>,
    },
}

/// Where to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Device {
    /// The CPU (gemm + rayon).
    Cpu,
    /// A CUDA GPU (cuBLAS + muse-gpu kernels).
    #[value(alias = "gpu")]
    Cuda,
}

/// Weight storage for evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dtype {
    /// f32 weights.
    F32,
    /// Weights stored as f16 (2 bytes each), widened next to each product; f32 compute.
    F16,
}

/// `muse lm train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// 1 (mixer + feed-forward) or 2 (mixer + Hamiltonian block).
    #[arg(long)]
    stage: u8,
    /// Training text (its words make the vocabulary).
    #[arg(long)]
    train: PathBuf,
    /// Validation text (monitoring only).
    #[arg(long)]
    valid: PathBuf,
    /// Checkpoint directory to write.
    #[arg(long)]
    out: PathBuf,
    /// Model width d.
    #[arg(long, default_value_t = 64)]
    d_model: usize,
    /// Number of blocks L.
    #[arg(long, default_value_t = 1)]
    layers: usize,
    /// Resolvent channels H per mixer.
    #[arg(long, default_value_t = 64)]
    channels: usize,
    /// Training window length.
    #[arg(long, default_value_t = 128)]
    seq_len: usize,
    /// Windows per step.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Token budget.
    #[arg(long, default_value_t = 400_000)]
    tokens: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 2e-2)]
    lr: f64,
    /// Seed (initialisation and batches).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Learning-rate multiplier of the Stage 2 potential (W1, b1, w2, b2).
    #[arg(long, default_value_t = 1.0)]
    ham_lr_mult: f64,
    /// Stage 2 initialisation: W1 ~ N(0, (gain/sqrt(d))^2).
    #[arg(long, default_value_t = muse::lm::model::HAM_W1_GAIN)]
    ham_w1_gain: f64,
    /// Stage 2 initialisation: w2 ~ N(0, std^2) (0: zero, the block starts as the identity).
    #[arg(long, default_value_t = muse::lm::model::HAM_W2_STD)]
    ham_w2_std: f64,
    /// Fraction of the steps used for linear warm-up.
    #[arg(long, default_value_t = 0.05)]
    warmup_frac: f64,
    /// The cosine decay ends at this fraction of the peak learning rate.
    #[arg(long, default_value_t = 0.1)]
    final_lr_frac: f64,
    /// AdamW weight decay (matrices only).
    #[arg(long, default_value_t = 0.01)]
    weight_decay: f64,
    /// Global gradient-norm clip.
    #[arg(long, default_value_t = 1.0)]
    grad_clip: f64,
    /// Validate every this many steps (0: at the end only).
    #[arg(long, default_value_t = 50)]
    eval_every: usize,
    /// Validation tokens per validation.
    #[arg(long, default_value_t = 20_000)]
    eval_tokens: usize,
    /// Device.
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    device: Device,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

/// `muse lm eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Checkpoint directory.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Text to evaluate on.
    #[arg(long)]
    data: PathBuf,
    /// Windows per batch.
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Window length.
    #[arg(long, default_value_t = 1024)]
    seq_len: usize,
    /// Weight storage.
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    dtype: Dtype,
    /// Device (`gpu` or `cuda`: the forward pass on the GPU, cuBLAS + muse-gpu kernels).
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    device: Device,
}

/// `muse lm score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Checkpoint directory.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Text to score.
    #[arg(long)]
    text: PathBuf,
    /// Output .npy file (f32, one log-probability per token after the first).
    #[arg(long)]
    out: PathBuf,
    /// Weight storage.
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    dtype: Dtype,
    /// Window length.
    #[arg(long, default_value_t = 1024)]
    seq_len: usize,
}

/// `muse lm generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Checkpoint directory.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Prompt text (words outside the vocabulary become `<unk>`).
    #[arg(long)]
    prompt: String,
    /// Tokens to generate.
    #[arg(long, default_value_t = 40)]
    max_tokens: usize,
    /// 0 = greedy; otherwise sample from softmax(logits / temperature).
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Context window (tokens).
    #[arg(long, default_value_t = 1024)]
    context: usize,
    /// Weight storage.
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    dtype: Dtype,
}

/// Bad input (files, values, checkpoints) exits with 2, a failure of the model with 1.
fn lm_err(e: LmError) -> anyhow::Error {
    match e {
        LmError::Io { .. } | LmError::Config(_) | LmError::Input(_) | LmError::Checkpoint(_) => {
            usage(e.to_string())
        }
        other => anyhow::Error::new(other),
    }
}

fn print_json(v: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Runs a language-model subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Train(a) => run_train(a)?,
        Command::Eval(a) => run_eval(a)?,
        Command::Score(a) => run_score(a)?,
        Command::Generate(a) => run_generate(a)?,
        Command::Kpi(k) => run_kpi(k)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn run_train(a: TrainArgs) -> anyhow::Result<()> {
    let stage = Stage::from_number(a.stage).map_err(lm_err)?;
    let (tok, train_ids) = tokenizer_from_file(&a.train).map_err(lm_err)?;
    let valid_ids = tok.encode(&read_text(&a.valid).map_err(lm_err)?);
    let mut mc = ModelConfig::new(stage, tok.len(), a.d_model, a.layers, a.channels);
    mc.seed = a.seed;
    mc.ham_w1_gain = a.ham_w1_gain;
    mc.ham_w2_std = a.ham_w2_std;
    let mut model = Model::<f32>::new(mc).map_err(lm_err)?;
    let tc = TrainConfig {
        seq_len: a.seq_len,
        batch: a.batch,
        tokens: a.tokens,
        lr: a.lr,
        ham_lr_mult: a.ham_lr_mult,
        warmup_frac: a.warmup_frac,
        final_lr_frac: a.final_lr_frac,
        weight_decay: a.weight_decay,
        grad_clip: a.grad_clip,
        seed: a.seed,
        eval_every: a.eval_every,
        eval_tokens: a.eval_tokens,
        progress: !a.quiet,
    };
    eprintln!(
        "muse lm train: stage {}, {} parameters, vocabulary {} from {}, {} training tokens",
        stage.number(),
        model.num_params(),
        tok.len(),
        a.train.display(),
        train_ids.len()
    );
    let report = if a.device == Device::Cuda {
        train_on_gpu(&mut model, &train_ids, &valid_ids, &tc)?
    } else {
        train(&mut model, &train_ids, &valid_ids, &tc).map_err(lm_err)?
    };
    let meta = serde_json::json!({
        "train_file": a.train.display().to_string(),
        "valid_file": a.valid.display().to_string(),
        "train_config": tc,
        "report": report,
    });
    checkpoint::save(&a.out, &model, &tok, meta.clone()).map_err(lm_err)?;
    print_json(&meta)
}

fn load(
    dir: &std::path::Path,
    dtype: Dtype,
) -> anyhow::Result<(Box<dyn Forward>, muse::lm::Tokenizer)> {
    let (m, t, _) = checkpoint::load(dir).map_err(lm_err)?;
    let model: Box<dyn Forward> = match dtype {
        Dtype::F32 => Box::new(m),
        // The f32 weights are dropped here: only the f16 copy stays resident.
        Dtype::F16 => Box::new(F16Model::from_model(&m).map_err(lm_err)?),
    };
    Ok((model, t))
}

fn run_eval(a: EvalArgs) -> anyhow::Result<()> {
    if a.device == Device::Cuda {
        return run_eval_gpu(a);
    }
    let (mut model, tok) = load(&a.checkpoint, a.dtype)?;
    let ids = tok.encode(&read_text(&a.data).map_err(lm_err)?);
    let t0 = std::time::Instant::now();
    let r = evaluate(model.as_mut(), &ids, a.batch, a.seq_len).map_err(lm_err)?;
    let secs = t0.elapsed().as_secs_f64();
    print_json(&serde_json::json!({
        "checkpoint": a.checkpoint.display().to_string(),
        "data": a.data.display().to_string(),
        "dtype": format!("{:?}", a.dtype).to_lowercase(),
        "seconds": secs,
        "tokens_per_s": r.tokens as f64 / secs,
        "result": r,
    }))?;
    if !r.ok {
        anyhow::bail!(
            "{} of {} batches had non-finite log-probabilities (excluded)",
            r.failed_batches,
            r.batches
        );
    }
    Ok(())
}

/// `muse lm train --device gpu`: the same loop on the GPU (f32, cuBLAS + muse-gpu kernels,
/// Stage 2 through muse-gpu's adjoint); the weights come back for the checkpoint.
fn train_on_gpu(
    model: &mut Model<f32>,
    train_ids: &[u32],
    valid_ids: &[u32],
    tc: &TrainConfig,
) -> anyhow::Result<muse::lm::train::TrainReport> {
    use muse::lm::gpu::GpuLmError;
    let gpu = muse_gpu::Gpu::new(0).map_err(|e| {
        usage(format!(
            "--device gpu: no usable GPU ({e}); use --device cpu"
        ))
    })?;
    eprintln!("muse lm train: on {}", gpu.device_name());
    muse::lm::gpu::train::train(&gpu, model, train_ids, valid_ids, tc).map_err(|e| match e {
        GpuLmError::Lm(e) => lm_err(e),
        other => anyhow::Error::new(other),
    })
}

/// `muse lm eval --device gpu`: the checkpoint's weights uploaded (f32, or f16 storage
/// with f16 × f16 → f32 GEMMs), perplexity as on the CPU.
fn run_eval_gpu(a: EvalArgs) -> anyhow::Result<()> {
    use muse::lm::gpu::{evaluate as evaluate_gpu, GpuDtype, GpuLmError, GpuModel};
    let (model, tok, _) = checkpoint::load(&a.checkpoint).map_err(lm_err)?;
    let ids = tok.encode(&read_text(&a.data).map_err(lm_err)?);
    let gpu = muse_gpu::Gpu::new(0).map_err(|e| {
        usage(format!(
            "--device gpu: no usable GPU ({e}); use --device cpu"
        ))
    })?;
    let dtype = match a.dtype {
        Dtype::F32 => GpuDtype::F32,
        Dtype::F16 => GpuDtype::F16,
    };
    let gerr = |e: GpuLmError| match e {
        GpuLmError::Lm(e) => lm_err(e),
        other => anyhow::Error::new(other),
    };
    let mut g = GpuModel::new(&gpu, &model, dtype).map_err(gerr)?;
    let t0 = std::time::Instant::now();
    let r = evaluate_gpu(&mut g, &ids, a.batch, a.seq_len).map_err(gerr)?;
    let secs = t0.elapsed().as_secs_f64();
    print_json(&serde_json::json!({
        "checkpoint": a.checkpoint.display().to_string(),
        "data": a.data.display().to_string(),
        "dtype": dtype.as_str(),
        "device": gpu.device_name(),
        "seconds": secs,
        "tokens_per_s": r.tokens as f64 / secs,
        "result": r,
    }))?;
    if !r.ok {
        anyhow::bail!(
            "{} of {} batches had non-finite log-probabilities (excluded)",
            r.failed_batches,
            r.batches
        );
    }
    Ok(())
}

fn run_score(a: ScoreArgs) -> anyhow::Result<()> {
    let (mut model, tok) = load(&a.checkpoint, a.dtype)?;
    let text = read_text(&a.text).map_err(lm_err)?;
    let lp = score_text(model.as_mut(), &tok, &text, a.seq_len, &a.out).map_err(lm_err)?;
    let bad = lp.iter().filter(|v| !v.is_finite()).count();
    eprintln!(
        "muse lm score: {} log-probabilities → {}",
        lp.len(),
        a.out.display()
    );
    if bad > 0 {
        anyhow::bail!("{bad} log-probabilities are not finite");
    }
    Ok(())
}

fn run_generate(a: GenerateArgs) -> anyhow::Result<()> {
    let (mut model, tok) = load(&a.checkpoint, a.dtype)?;
    let mut prompt = tok.encode(&a.prompt);
    // `encode` ends every line with <eos>; continue the prompt's line instead.
    prompt.pop();
    if prompt.is_empty() {
        return Err(usage("the prompt has no words"));
    }
    let new = generate(
        model.as_mut(),
        &prompt,
        a.max_tokens,
        a.temperature,
        a.context,
        a.seed,
    )
    .map_err(lm_err)?;
    let text = tok.decode(&new).map_err(lm_err)?;
    println!("{} {}", tok.decode(&prompt).map_err(lm_err)?, text);
    Ok(())
}

fn export(v: serde_json::Value, path: Option<PathBuf>) -> anyhow::Result<()> {
    if let Some(p) = path {
        std::fs::write(&p, serde_json::to_string_pretty(&v)?)
            .map_err(|e| usage(format!("{}: {e}", p.display())))?;
    }
    print_json(&v)
}

fn run_kpi(k: KpiCommand) -> anyhow::Result<()> {
    use muse::lm::bench;
    match k {
        KpiCommand::Perplexity {
            train,
            test,
            seeds,
            tokens,
            batch,
            lr,
            export_json,
            progress,
        } => {
            let mut cfg = bench::PerplexityConfig::reduced_cpu(train, test);
            cfg.seeds = seeds;
            cfg.progress = progress;
            if let Some(t) = tokens {
                cfg.tokens = t;
            }
            if let Some(b) = batch {
                cfg.batch = b;
            }
            if let Some(l) = lr {
                cfg.lr = l;
            }
            let r = bench::perplexity(&cfg).map_err(lm_err)?;
            export(serde_json::to_value(r)?, export_json)
        }
        KpiCommand::Memory { quick, export_json } => {
            let cfg = if quick {
                bench::MemoryConfig::quick()
            } else {
                bench::MemoryConfig::default()
            };
            let r = bench::memory(&cfg).map_err(lm_err)?;
            export(serde_json::to_value(r)?, export_json)
        }
        KpiCommand::Throughput { export_json } => {
            let r = bench::throughput(&bench::ThroughputConfig::default()).map_err(lm_err)?;
            export(serde_json::to_value(r)?, export_json)
        }
    }
}

//! KPI `perplexity`: Stage 2 (Hamiltonian ODE block) against Stage 1 on held-out text
//! (seed 003, SPEC §5, §6, §7.5).
//!
//! Seed conditions: WikiText-2 raw test split, GPT-2 tokenizer, chunks of 1025 tokens; B4,
//! N1024, fp16, 10 ODE steps of dt 0.1; target `PPL₂/PPL₁ ≤ 1.02`. MUSE trains both stages
//! on the same data, token budget and seeds before evaluating (the seed compared untrained
//! models).
//!
//! JSON contract for plots: `curves` is an object mapping a series name (`stage1`,
//! `stage2`, …) to an array of `[step, perplexity]` pairs.

use super::energy::{set_device, to_fields};
use super::error::ensure;
use super::{BenchError, Check, Cmp, Ctx, Kpi, KpiReport};
use crate::lm;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The seed's field names this KPI fills (`ppl_target` is always filled).
pub const SEED_FIELDS: &[&str] = &[
    "stage1_ppl",
    "stage1_loss",
    "stage2_ppl",
    "stage2_loss",
    "stage2_valid_batches",
    "ppl_ratio",
    "ppl_diff_pct",
    "ppl_pass",
];

/// Conditions of the perplexity KPI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerplexityConfig {
    /// Evaluation text (WikiText-2 raw test split); `None` means the runner's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// Batch B.
    pub batch_size: usize,
    /// Tokens per sequence N.
    pub seq_len: usize,
    /// ODE steps of Stage 2.
    pub ode_steps: usize,
    /// ODE step size (≠ 0).
    pub dt: f64,
    /// Target: `ppl_ratio` at most this.
    pub ppl_target: f64,
    /// RNG seed.
    pub seed: u64,
    /// Training text (default: WikiText-2 `valid.txt`, the train split is not available).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_data: Option<PathBuf>,
    /// Seeds per stage (mean and spread over them): `seed, seed + 1, …`.
    pub num_seeds: usize,
}

impl Default for PerplexityConfig {
    fn default() -> Self {
        PerplexityConfig {
            data: None,
            batch_size: 4,
            seq_len: 1024,
            ode_steps: 10,
            dt: 0.1,
            ppl_target: 1.02,
            seed: 42,
            train_data: None,
            num_seeds: 3,
        }
    }
}

impl PerplexityConfig {
    /// A version that runs in seconds.
    pub fn quick() -> Self {
        PerplexityConfig {
            batch_size: 1,
            seq_len: 32,
            num_seeds: 1,
            ..Self::default()
        }
    }

    /// The runner's configuration: the documented reduced CPU configuration
    /// ([`lm::bench::PerplexityConfig::reduced_cpu`]) with this evaluation batch, length and
    /// seeds.
    pub fn to_lm(&self, train: PathBuf, test: PathBuf) -> lm::bench::PerplexityConfig {
        lm::bench::PerplexityConfig {
            eval_batch: self.batch_size,
            eval_seq_len: self.seq_len,
            seeds: (0..self.num_seeds as u64).map(|k| self.seed + k).collect(),
            ..lm::bench::PerplexityConfig::reduced_cpu(train, test)
        }
    }

    /// A model and budget that train in about a second (quick mode, on the first words of
    /// the files).
    pub fn to_lm_quick(&self, train: PathBuf, test: PathBuf) -> lm::bench::PerplexityConfig {
        lm::bench::PerplexityConfig {
            d_model: 16,
            layers: 1,
            channels: 8,
            seq_len: 32,
            batch: 4,
            tokens: 4096,
            eval_every: 8,
            curve_tokens: 512,
            ..self.to_lm(train, test)
        }
    }

    /// Checks every value.
    ///
    /// # Errors
    /// [`BenchError::InvalidConfig`] naming the first bad value, [`BenchError::MissingInput`]
    /// for a data file that cannot be opened.
    pub fn validate(&self) -> Result<(), BenchError> {
        ensure(self.batch_size >= 1, || "batch_size must be >= 1".into())?;
        ensure(self.seq_len >= 2, || "seq_len must be >= 2".into())?;
        ensure(self.ode_steps >= 1, || "ode_steps must be >= 1".into())?;
        ensure(self.num_seeds >= 1, || "num_seeds must be >= 1".into())?;
        ensure(self.ode_steps == 10 && self.dt == 0.1, || {
            "the language model's Hamiltonian block uses 10 steps of 0.1 (other --ode-steps/--dt \
             are not supported by the runner yet)"
                .into()
        })?;
        ensure(self.dt.is_finite() && self.dt != 0.0, || {
            format!("dt must be finite and non-zero, got {}", self.dt)
        })?;
        ensure(self.ppl_target > 0.0, || "ppl_target must be > 0".into())?;
        for path in self.data.iter().chain(&self.train_data) {
            std::fs::File::open(path)
                .and_then(|f| {
                    if f.metadata()?.is_file() {
                        Ok(())
                    } else {
                        Err(std::io::Error::other("not a regular file"))
                    }
                })
                .map_err(|e| BenchError::MissingInput {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
        }
        Ok(())
    }
}

/// The perplexity KPI.
#[derive(Clone, Debug)]
pub struct PerplexityKpi {
    config: PerplexityConfig,
}

impl PerplexityKpi {
    /// A KPI with a validated configuration.
    ///
    /// # Errors
    /// As [`PerplexityConfig::validate`].
    pub fn new(config: PerplexityConfig) -> Result<Self, BenchError> {
        config.validate()?;
        Ok(PerplexityKpi { config })
    }

    /// The configuration.
    pub fn config_ref(&self) -> &PerplexityConfig {
        &self.config
    }
}

impl Kpi for PerplexityKpi {
    fn name(&self) -> &'static str {
        "perplexity"
    }

    fn target(&self) -> String {
        format!(
            "ppl_ratio = stage2_ppl / stage1_ppl <= {} (both stages trained alike)",
            self.config.ppl_target
        )
    }

    fn seed_fields(&self) -> &'static [&'static str] {
        SEED_FIELDS
    }

    fn config(&self) -> Value {
        serde_json::to_value(&self.config).unwrap_or(Value::Null)
    }

    fn dtype(&self) -> String {
        "f16".to_owned()
    }

    fn run(&self, ctx: &Ctx) -> Result<KpiReport, BenchError> {
        let c = &self.config;
        let cpu = ctx.on_cpu();
        let (Some(train_file), Some(test_file)) = (
            c.train_data.clone().or_else(|| default_data("valid.txt")),
            c.data.clone().or_else(|| default_data("test.txt")),
        ) else {
            let mut r = ctx.unavailable(
                self,
                "not available: no WikiText-2 text found (pass --data TEST.txt and \
                 --train-data TRAIN.txt, or set MUSE_DATA_DIR to a directory with valid.txt \
                 and test.txt)",
            );
            r.fields.insert("ppl_target".into(), json!(c.ppl_target));
            return Ok(r);
        };
        let lm_cfg = if ctx.quick {
            let dir = std::env::temp_dir().join(format!("muse-bench-ppl-{}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .map_err(|e| BenchError::Other(format!("{}: {e}", dir.display())))?;
            let train = head_words(&train_file, &dir.join("train.txt"), 6000)?;
            let test = head_words(&test_file, &dir.join("test.txt"), 2000)?;
            c.to_lm_quick(train, test)
        } else {
            c.to_lm(train_file, test_file)
        };
        let mut lm_cfg = lm_cfg;
        lm_cfg.progress = cpu.progress && std::io::stderr().is_terminal();
        let r = cpu
            .install(|| lm::bench::perplexity(&lm_cfg))?
            .map_err(|e| match e {
                lm::LmError::Io { .. } | lm::LmError::Input(_) => BenchError::MissingInput {
                    path: lm_cfg.test_file.clone(),
                    reason: e.to_string(),
                },
                e => BenchError::Other(format!("perplexity: {e}")),
            })?;
        let Some(stage2) = r.stage2.as_ref() else {
            return Err(BenchError::Other(format!(
                "perplexity: Stage 2 failed: {}",
                r.stage2_error.as_deref().unwrap_or("unknown error")
            )));
        };
        let loss = |s: &lm::bench::StageSummary| {
            s.runs.iter().map(|r| r.eval.mean_nll).sum::<f64>() / s.runs.len() as f64
        };
        let ratio = stage2.ppl_mean / r.stage1.ppl_mean;
        let finite = r.stage1.all_finite && stage2.all_finite;
        let valid_batches = stage2
            .runs
            .iter()
            .map(|x| x.eval.batches - x.eval.failed_batches)
            .min()
            .unwrap_or(0);
        let mut fields = to_fields(&r)?;
        fields.remove("config");
        fields.insert("lm_config".into(), serde_json::to_value(&lm_cfg)?);
        fields.insert("stage1_ppl".into(), json!(r.stage1.ppl_mean));
        fields.insert("stage1_loss".into(), json!(loss(&r.stage1)));
        fields.insert("stage2_ppl".into(), json!(stage2.ppl_mean));
        fields.insert("stage2_loss".into(), json!(loss(stage2)));
        fields.insert("stage2_valid_batches".into(), json!(valid_batches));
        fields.insert("ppl_ratio".into(), json!(ratio));
        fields.insert("ppl_diff_pct".into(), json!((ratio - 1.0) * 100.0));
        fields.insert("ppl_pass".into(), json!(finite && ratio <= c.ppl_target));
        fields.insert("ppl_target".into(), json!(c.ppl_target));
        fields.insert(
            "curves".into(),
            json!({"stage1": curve(&r.stage1), "stage2": curve(stage2)}),
        );
        if lm_cfg.reduced {
            fields.insert("reduced".into(), json!(r.note));
        }
        let checks = vec![
            Check::new("ppl_ratio", ratio, Cmp::Le, c.ppl_target),
            Check::new(
                "evaluation_finite",
                f64::from(u8::from(finite)),
                Cmp::Ge,
                1.0,
            ),
            Check::new("stage1_ppl", r.stage1.ppl_mean, Cmp::Lt, r.unigram_ppl),
            Check::new("stage2_ppl", stage2.ppl_mean, Cmp::Lt, r.unigram_ppl),
        ];
        let mut report = KpiReport::measured(
            self.name(),
            self.target(),
            self.config(),
            fields,
            checks,
            cpu.provenance(&self.dtype()),
        );
        set_device(&mut report, "cpu");
        Ok(report)
    }
}

/// The learning curve of a stage: `[step, perplexity]` of the mean validation loss over seeds
/// at each point where every seed validated.
fn curve(s: &lm::bench::StageSummary) -> Vec<[f64; 2]> {
    let Some(first) = s.runs.first() else {
        return Vec::new();
    };
    (0..first.train.curve.len())
        .filter_map(|i| {
            let losses: Option<Vec<f64>> = s
                .runs
                .iter()
                .map(|r| r.train.curve.get(i).and_then(|p| p.valid_loss))
                .collect();
            let losses = losses?;
            let mean = losses.iter().sum::<f64>() / losses.len() as f64;
            Some([first.train.curve[i].step as f64, mean.exp()])
        })
        .filter(|p| p[1].is_finite())
        .collect()
}

/// `$MUSE_DATA_DIR/NAME`, `data/wikitext-2/NAME` or `../shared/data/wikitext-2/NAME`, the
/// first that is a file.
fn default_data(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("MUSE_DATA_DIR") {
        dirs.push(PathBuf::from(d));
    }
    dirs.push(PathBuf::from("data/wikitext-2"));
    dirs.push(PathBuf::from("../shared/data/wikitext-2"));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// Copies the first lines of `src` holding about `words` words into `dst` (quick mode).
fn head_words(src: &Path, dst: &Path, words: usize) -> Result<PathBuf, BenchError> {
    let missing = |e: std::io::Error| BenchError::MissingInput {
        path: src.to_path_buf(),
        reason: e.to_string(),
    };
    let text = std::fs::read_to_string(src).map_err(missing)?;
    let mut out = String::new();
    let mut n = 0;
    for line in text.lines() {
        if n >= words {
            break;
        }
        n += line.split_whitespace().count();
        out.push_str(line);
        out.push('\n');
    }
    std::fs::write(dst, out).map_err(|source| BenchError::Write {
        path: dst.to_path_buf(),
        source,
    })?;
    Ok(dst.to_path_buf())
}

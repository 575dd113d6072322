//! Result types: one [`KpiReport`] per KPI (written as `<kpi>.json`), [`Stats`] over raw
//! samples, [`Check`]s against targets, and the [`Summary`] wrapper of an export
//! (hyperfine's `HyperfineSummary { results }`, with room for provenance).

use super::provenance::Provenance;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Milliseconds (units live in field names: `median_ms`, `samples_ms`).
pub type Millis = f64;

/// Outcome of a KPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KpiStatus {
    /// Every check met its target.
    Pass,
    /// At least one check missed its target (or the run hit a numerical error).
    Fail,
    /// The backend this KPI needs is not available; no number was produced.
    Unavailable,
}

impl KpiStatus {
    /// `"pass"`, `"fail"` or `"unavailable"`.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiStatus::Pass => "pass",
            KpiStatus::Fail => "fail",
            KpiStatus::Unavailable => "unavailable",
        }
    }
}

/// Comparison of a [`Check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmp {
    /// value < target.
    #[serde(rename = "<")]
    Lt,
    /// value ≤ target.
    #[serde(rename = "<=")]
    Le,
    /// value ≥ target.
    #[serde(rename = ">=")]
    Ge,
}

impl Cmp {
    /// The operator as text.
    pub fn as_str(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Ge => ">=",
        }
    }
}

/// One metric compared with its target. A non-finite value never passes and is stored as
/// `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Field name of the metric in the KPI's JSON (`speedup`, `max_drift`, …).
    pub metric: String,
    /// The measured value (`None` if it was not finite).
    pub value: Option<f64>,
    /// How value and target compare.
    pub cmp: Cmp,
    /// The target.
    pub target: f64,
    /// Whether the target is met.
    pub pass: bool,
}

impl Check {
    /// Compares `value` with `target`.
    pub fn new(metric: &str, value: f64, cmp: Cmp, target: f64) -> Self {
        let pass = value.is_finite()
            && match cmp {
                Cmp::Lt => value < target,
                Cmp::Le => value <= target,
                Cmp::Ge => value >= target,
            };
        Check {
            metric: metric.to_owned(),
            value: value.is_finite().then_some(value),
            cmp,
            target,
            pass,
        }
    }

    /// `"speedup = 1.23 (>= 1)"`.
    pub fn describe(&self) -> String {
        let v = self.value.map_or("non-finite".to_owned(), fmt_num);
        format!(
            "{} = {v} ({} {})",
            self.metric,
            self.cmp.as_str(),
            fmt_num(self.target)
        )
    }
}

/// Formats a number with 4 significant digits (scientific outside [1e-3, 1e5)).
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 || (x.abs() >= 1e-3 && x.abs() < 1e5) {
        let s = format!("{x:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_owned()
    } else {
        format!("{x:.3e}")
    }
}

/// Median, spread and extremes of raw samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Number of samples.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one sample).
    pub std: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Median.
    pub median: f64,
    /// Interquartile range `q3 − q1` (linear interpolation between order statistics).
    pub iqr: f64,
}

impl Stats {
    /// Statistics of `xs`; all zeros for an empty slice.
    pub fn of(xs: &[f64]) -> Stats {
        let n = xs.len();
        if n == 0 {
            return Stats {
                n,
                mean: 0.0,
                std: 0.0,
                min: 0.0,
                max: 0.0,
                median: 0.0,
                iqr: 0.0,
            };
        }
        let mut s = xs.to_vec();
        s.sort_by(f64::total_cmp);
        let mean = s.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            s.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Stats {
            n,
            mean,
            std: var.sqrt(),
            min: s[0],
            max: s[n - 1],
            median: quantile(&s, 0.5),
            iqr: quantile(&s, 0.75) - quantile(&s, 0.25),
        }
    }
}

/// Quantile `q` of sorted, non-empty `s` (linear interpolation, numpy's default).
pub fn quantile(s: &[f64], q: f64) -> f64 {
    let pos = q * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

/// Timing of one implementation, with the seed's field names (`available`, `mean_ms`,
/// `std_ms`, `min_ms`, `max_ms`) plus median, IQR and the raw samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Always true when present (the seed's field).
    pub available: bool,
    /// What was timed, in words.
    pub implementation: String,
    /// Mean (ms).
    pub mean_ms: Millis,
    /// Sample standard deviation (ms).
    pub std_ms: Millis,
    /// Fastest run (ms).
    pub min_ms: Millis,
    /// Slowest run (ms).
    pub max_ms: Millis,
    /// Median (ms).
    pub median_ms: Millis,
    /// Interquartile range (ms).
    pub iqr_ms: Millis,
    /// Every timed run (ms), in order.
    pub samples_ms: Vec<Millis>,
}

impl Timing {
    /// Summarises `samples_ms`.
    pub fn new(implementation: impl Into<String>, samples_ms: Vec<Millis>) -> Self {
        let s = Stats::of(&samples_ms);
        Timing {
            available: true,
            implementation: implementation.into(),
            mean_ms: s.mean,
            std_ms: s.std,
            min_ms: s.min,
            max_ms: s.max,
            median_ms: s.median,
            iqr_ms: s.iqr,
            samples_ms,
        }
    }
}

/// The result of one KPI: the JSON file `<kpi>.json`.
///
/// The seed's fields (SPEC §6) are in [`KpiReport::fields`], flattened into the top level
/// of the JSON; when the KPI is unavailable they are all present with value `null`, never
/// a made-up number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KpiReport {
    /// The KPI's name (`resolvent`, `energy`, …): also the file stem.
    pub kpi: String,
    /// `pass`, `fail` or `unavailable` (the seed's field).
    pub kpi_status: KpiStatus,
    /// Why the KPI is unavailable or failed, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The target, in words.
    pub target: String,
    /// Every metric compared with its target; `kpi_status` is `pass` iff all pass.
    pub checks: Vec<Check>,
    /// When the run finished (UTC, RFC 3339; the seed's field).
    pub timestamp: String,
    /// The conditions the KPI ran under (the seed's `config`).
    pub config: Value,
    /// Seed fields and MUSE's own metrics.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
    /// Where and how the numbers were produced.
    pub provenance: Provenance,
}

impl KpiReport {
    /// A measured report: status from the checks.
    pub fn measured(
        kpi: &str,
        target: String,
        config: Value,
        fields: Map<String, Value>,
        checks: Vec<Check>,
        provenance: Provenance,
    ) -> Self {
        let failed: Vec<String> = checks
            .iter()
            .filter(|c| !c.pass)
            .map(Check::describe)
            .collect();
        let (kpi_status, reason) = if failed.is_empty() {
            (KpiStatus::Pass, None)
        } else {
            (
                KpiStatus::Fail,
                Some(format!("missed: {}", failed.join("; "))),
            )
        };
        KpiReport {
            kpi: kpi.to_owned(),
            kpi_status,
            reason,
            target,
            checks,
            timestamp: provenance.timestamp.clone(),
            config,
            fields,
            provenance,
        }
    }

    /// An unavailable report: every seed field is `null`, `reason` says why.
    pub fn unavailable(
        kpi: &str,
        target: String,
        config: Value,
        seed_fields: &[&str],
        reason: impl Into<String>,
        provenance: Provenance,
    ) -> Self {
        let fields = seed_fields
            .iter()
            .map(|f| ((*f).to_owned(), Value::Null))
            .collect();
        KpiReport {
            kpi: kpi.to_owned(),
            kpi_status: KpiStatus::Unavailable,
            reason: Some(reason.into()),
            target,
            checks: Vec::new(),
            timestamp: provenance.timestamp.clone(),
            config,
            fields,
            provenance,
        }
    }

    /// A report for a run that stopped on an error (status `fail`, the error as reason).
    pub fn errored(
        kpi: &str,
        target: String,
        config: Value,
        seed_fields: &[&str],
        error: &str,
        provenance: Provenance,
    ) -> Self {
        let mut r = Self::unavailable(kpi, target, config, seed_fields, error, provenance);
        r.kpi_status = KpiStatus::Fail;
        r
    }

    /// The first check, formatted, or the reason: one cell of the summary table.
    pub fn headline(&self) -> String {
        match (self.kpi_status, self.checks.first()) {
            (KpiStatus::Unavailable, _) | (_, None) => self.reason.clone().unwrap_or_default(),
            (_, Some(_)) => self
                .checks
                .iter()
                .map(Check::describe)
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

impl KpiReport {
    /// A few lines for a terminal: status, each check (or the reason), the commit.
    pub fn describe(&self) -> String {
        let mut s = match self.kpi_status {
            KpiStatus::Unavailable => format!("{}: NOT AVAILABLE\n", self.kpi),
            st => format!("{}: {}\n", self.kpi, st.as_str().to_uppercase()),
        };
        if let Some(reason) = &self.reason {
            s.push_str(&format!("  {reason}\n"));
        }
        for c in &self.checks {
            s.push_str(&format!(
                "  {} {}\n",
                if c.pass { "ok  " } else { "MISS" },
                c.describe()
            ));
        }
        s.push_str(&format!(
            "  target: {}\n  device {} ({}), {} threads, {} build, commit {}\n",
            self.target,
            self.provenance.device,
            self.provenance.device_name,
            self.provenance.threads,
            self.provenance.build_profile,
            self.provenance.git_commit
        ));
        s
    }
}

/// What an export holds: the provenance of the session and every KPI report so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Provenance of the session (device, commit, …).
    pub provenance: Provenance,
    /// One report per KPI, in run order.
    pub results: Vec<KpiReport>,
}

impl Summary {
    /// True when no KPI failed (unavailable ones do not fail).
    pub fn all_pass(&self) -> bool {
        self.results.iter().all(|r| r.kpi_status != KpiStatus::Fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_match_hand_computed_order_statistics() {
        let s = Stats::of(&[4.0, 1.0, 3.0, 2.0, 5.0]);
        assert_eq!(s.median, 3.0);
        assert_eq!(s.iqr, 2.0); // q1 = 2, q3 = 4
        assert_eq!((s.min, s.max, s.mean), (1.0, 5.0, 3.0));
        assert!((s.std - 2.5f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn non_finite_value_never_passes() {
        assert!(!Check::new("x", f64::NAN, Cmp::Le, 1.0).pass);
        assert!(!Check::new("x", f64::INFINITY, Cmp::Ge, 1.0).pass);
        assert!(Check::new("x", 1.0, Cmp::Le, 1.0).pass);
        assert!(!Check::new("x", 1.0, Cmp::Lt, 1.0).pass);
    }
}

//! Provenance: which code, on which machine, in which build, produced a number (SPEC §7.8).

use serde::{Deserialize, Serialize};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where and how a result was produced. Every field is filled; what cannot be found is
/// `"unknown"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Version of the `muse` crate.
    pub muse_version: String,
    /// `git rev-parse HEAD` of the source tree (or `$MUSE_GIT_COMMIT`, or `"unknown"`).
    pub git_commit: String,
    /// Whether the source tree had uncommitted changes (`None` when git is unavailable).
    #[serde(default)]
    pub git_dirty: Option<bool>,
    /// `"release"` or `"debug"` (timings from a debug build mean little).
    pub build_profile: String,
    /// The device the KPI ran on: `"cpu"` or `"gpu"`.
    pub device: String,
    /// Device name: the CPU model (from `/proc/cpuinfo`) or the GPU name.
    pub device_name: String,
    /// GPU driver version, `"none"` on the CPU.
    pub driver: String,
    /// The CPU model (also on GPU runs: the host matters for launch overheads).
    pub cpu_model: String,
    /// Worker threads used for CPU parallel work.
    pub threads: usize,
    /// Hardware threads the OS offers.
    pub available_parallelism: usize,
    /// Operating system and architecture.
    pub os: String,
    /// Storage / compute types of the measured implementation.
    pub dtype: String,
    /// UTC time, RFC 3339.
    pub timestamp: String,
}

impl Provenance {
    /// Collects provenance now.
    pub fn collect(device: &str, device_name: Option<String>, threads: usize, dtype: &str) -> Self {
        let cpu_model = cpu_model();
        let (git_commit, git_dirty) = git_commit();
        Provenance {
            muse_version: env!("CARGO_PKG_VERSION").to_owned(),
            git_commit,
            git_dirty,
            build_profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_owned(),
            device: device.to_owned(),
            device_name: device_name.unwrap_or_else(|| cpu_model.clone()),
            driver: "none".to_owned(),
            cpu_model,
            threads,
            available_parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            dtype: dtype.to_owned(),
            timestamp: now_rfc3339(),
        }
    }
}

/// The `model name` line of `/proc/cpuinfo`, else `"unknown"`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The commit: `$MUSE_GIT_COMMIT`, else `git rev-parse HEAD` in the source tree this binary
/// was built from, else in the working directory, else `"unknown"`.
pub fn git_commit() -> (String, Option<bool>) {
    if let Ok(c) = std::env::var("MUSE_GIT_COMMIT") {
        if !c.is_empty() {
            return (c, None);
        }
    }
    for dir in [env!("CARGO_MANIFEST_DIR"), "."] {
        let head = Command::new("git")
            .args(["-C", dir, "rev-parse", "HEAD"])
            .output();
        if let Ok(out) = head {
            if out.status.success() {
                let commit = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                let dirty = Command::new("git")
                    .args(["-C", dir, "status", "--porcelain", "--untracked-files=no"])
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|o| !o.stdout.is_empty());
                return (commit, dirty);
            }
        }
    }
    ("unknown".to_owned(), None)
}

/// Current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the Unix epoch as RFC 3339 UTC (Howard Hinnant's `civil_from_days`).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2000-02-29 12:34:56 UTC (a leap day in a century leap year): date -d @951827696
        assert_eq!(rfc3339(951_827_696), "2000-02-29T12:34:56Z");
        // 2026-11-21 22:25:19 UTC: date -u -d '2026-11-21 22:25:19' +%s
        assert_eq!(rfc3339(1_795_299_919), "2026-11-21T22:25:19Z");
    }
}

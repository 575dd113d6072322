//! End-to-end tests of `muse bench` and `muse report`: the JSON schema of every KPI file
//! (the seed's field names from SPEC §6, provenance, finite numbers), the Markdown table,
//! the SVG plots, and one-line errors with exit code 2 for bad input.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn muse() -> Command {
    Command::new(env!("CARGO_BIN_EXE_muse"))
}

/// A fresh, empty temporary directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("muse-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn read_json(p: &Path) -> Value {
    let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The seed's field names per KPI (SPEC §6), measured fields first, then fields that are
/// always filled from the configuration.
fn seed_fields(kpi: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match kpi {
        "resolvent" => (&["muse", "baseline", "speedup", "numerical_error"], &[]),
        "energy" => (
            &[
                "mean_energy",
                "max_drift",
                "mean_drift",
                "energy_trajectory",
                "monotonic_violation",
                "energy_pass",
            ],
            &[],
        ),
        "adjoint" => (
            &[
                "vram_symplectic_gb",
                "vram_full_backprop_gb",
                "vram_reduction_ratio",
                "vram_reduction_pct",
                "vram_pass",
            ],
            &[],
        ),
        "memory" => (
            &["memory_bytes", "memory_mb", "memory_gb"],
            &[
                "batch_size",
                "seq_len",
                "dtype",
                "device",
                "target_memory_gb",
            ],
        ),
        "throughput" => (
            &["total_tokens", "forward_time", "forward_throughput"],
            &[
                "batch_size",
                "seq_len",
                "num_iterations",
                "target_throughput",
            ],
        ),
        "perplexity" => (
            &[
                "stage1_ppl",
                "stage1_loss",
                "stage2_ppl",
                "stage2_loss",
                "stage2_valid_batches",
                "ppl_ratio",
                "ppl_diff_pct",
                "ppl_pass",
            ],
            &["ppl_target"],
        ),
        other => panic!("unknown KPI {other}"),
    }
}

const KPIS: [&str; 6] = [
    "resolvent",
    "energy",
    "adjoint",
    "memory",
    "throughput",
    "perplexity",
];

fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && s.chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19].contains(&i) || c.is_ascii_digit())
}

/// Every number finite and no `null` anywhere inside `v` (serde_json writes NaN as null).
fn assert_no_null(v: &Value, path: &str) {
    match v {
        Value::Null => panic!("{path} is null in a measured report"),
        Value::Number(n) => assert!(n.as_f64().is_some_and(f64::is_finite), "{path}"),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| assert_no_null(x, &format!("{path}[{i}]"))),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| assert_no_null(x, &format!("{path}.{k}"))),
        _ => {}
    }
}

/// Checks one `<kpi>.json` against the schema; returns its status.
fn check_kpi_file(kpi: &str, v: &Value) -> String {
    let o = v
        .as_object()
        .unwrap_or_else(|| panic!("{kpi}: not an object"));
    assert_eq!(o["kpi"], kpi);
    let status = o["kpi_status"].as_str().unwrap().to_owned();
    assert!(
        ["pass", "fail", "unavailable"].contains(&status.as_str()),
        "{kpi}: status {status}"
    );
    assert!(!o["target"].as_str().unwrap().is_empty());
    assert!(
        is_rfc3339(o["timestamp"].as_str().unwrap()),
        "{kpi} timestamp"
    );
    let cfg = o["config"].as_object().expect("config object");
    assert!(cfg.contains_key("device"), "{kpi}: config.device");
    assert!(o["checks"].is_array());

    let p = o["provenance"].as_object().expect("provenance");
    for key in [
        "muse_version",
        "git_commit",
        "build_profile",
        "device",
        "device_name",
        "driver",
        "cpu_model",
        "os",
        "dtype",
    ] {
        let s = p[key]
            .as_str()
            .unwrap_or_else(|| panic!("{kpi}: provenance.{key}"));
        assert!(!s.is_empty(), "{kpi}: provenance.{key} empty");
    }
    assert!(is_rfc3339(p["timestamp"].as_str().unwrap()));
    assert!(p["threads"].as_u64().unwrap() >= 1);
    assert!(p["available_parallelism"].as_u64().unwrap() >= 1);
    // The tests run inside the git checkout: the commit must be found.
    let commit = p["git_commit"].as_str().unwrap();
    assert!(
        commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "{kpi}: git_commit {commit}"
    );

    let (measured, fixed) = seed_fields(kpi);
    for f in measured.iter().chain(fixed) {
        assert!(o.contains_key(*f), "{kpi}: seed field {f} missing");
    }
    for f in fixed {
        assert!(
            !o[*f].is_null(),
            "{kpi}: {f} must be filled from the config"
        );
    }
    match status.as_str() {
        "unavailable" => {
            assert!(!o["reason"].as_str().unwrap().is_empty());
            // Never a made-up number.
            for f in measured {
                assert!(o[*f].is_null(), "{kpi}: unavailable but {f} = {}", o[*f]);
            }
            assert!(o["checks"].as_array().unwrap().is_empty());
        }
        _ => {
            let checks = o["checks"].as_array().unwrap();
            assert!(!checks.is_empty(), "{kpi}: measured without checks");
            let all_pass = checks.iter().all(|c| c["pass"] == true);
            assert_eq!(all_pass, status == "pass", "{kpi}: status vs checks");
            for (k, x) in o {
                if k != "reason" {
                    assert_no_null(x, k);
                }
            }
        }
    }
    status
}

/// A small XML well-formedness check: balanced, properly nested tags, quoted attributes,
/// valid entities, one root element. Returns the root's name and the number of elements.
fn xml_well_formed(s: &str) -> Result<(String, usize), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut root: Option<String> = None;
    let mut count = 0usize;
    let mut i = 0usize;
    let b = s.as_bytes();
    let check_entities = |text: &str| -> Result<(), String> {
        let mut rest = text;
        while let Some(p) = rest.find('&') {
            let after = &rest[p + 1..];
            let end = after.find(';').ok_or("unterminated entity")?;
            let name = &after[..end];
            let ok = ["lt", "gt", "amp", "quot", "apos"].contains(&name)
                || (name.starts_with('#') && name.len() > 1);
            if !ok {
                return Err(format!("bad entity &{name};"));
            }
            rest = &after[end + 1..];
        }
        Ok(())
    };
    while i < b.len() {
        if b[i] != b'<' {
            let next = s[i..].find('<').map_or(s.len(), |p| i + p);
            let text = &s[i..next];
            if stack.is_empty() && !text.trim().is_empty() {
                return Err("text outside the root element".into());
            }
            check_entities(text)?;
            i = next;
            continue;
        }
        let rest = &s[i..];
        if rest.starts_with("<?") {
            i += rest.find("?>").ok_or("unterminated <?")? + 2;
        } else if rest.starts_with("<!--") {
            i += rest.find("-->").ok_or("unterminated comment")? + 3;
        } else if rest.starts_with("<!") {
            i += rest.find('>').ok_or("unterminated <!")? + 1;
        } else if let Some(close) = rest.strip_prefix("</") {
            let end = close.find('>').ok_or("unterminated end tag")?;
            let name = close[..end].trim();
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            i += 2 + end + 1;
        } else {
            // Start tag: find the closing '>' outside quotes.
            let mut j = 1;
            let mut quote: Option<u8> = None;
            let rb = rest.as_bytes();
            while j < rb.len() {
                match (quote, rb[j]) {
                    (None, b'"') | (None, b'\'') => quote = Some(rb[j]),
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), b'<') => return Err("'<' inside an attribute".into()),
                    (None, b'>') => break,
                    _ => {}
                }
                j += 1;
            }
            if j >= rb.len() {
                return Err("unterminated start tag".into());
            }
            let inner = &rest[1..j];
            let self_closing = inner.ends_with('/');
            let name: String = inner
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            if name.is_empty() {
                return Err("empty tag name".into());
            }
            check_entities(inner)?;
            if stack.is_empty() {
                if root.is_some() {
                    return Err("two root elements".into());
                }
                root = Some(name.clone());
            }
            count += 1;
            if !self_closing {
                stack.push(name);
            }
            i += j + 1;
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements {stack:?}"));
    }
    root.map(|r| (r, count))
        .ok_or_else(|| "no root element".into())
}

fn assert_valid_svg(p: &Path) {
    let s = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let (root, elements) =
        xml_well_formed(&s).unwrap_or_else(|e| panic!("{}: not well-formed: {e}", p.display()));
    assert_eq!(root, "svg", "{}", p.display());
    // Axes, labels and the data (a polyline per series plus point markers).
    assert!(elements > 20, "{}: only {elements} elements", p.display());
    assert!(
        s.contains("<polyline") || s.contains("<path"),
        "{}: no line data",
        p.display()
    );
    assert!(s.contains("<circle"), "{}: no data points", p.display());
}

#[test]
fn xml_checker_rejects_malformed_documents() {
    assert!(xml_well_formed("<svg><g></g></svg>").is_ok());
    assert!(xml_well_formed("<svg a=\"x>y\"><g/></svg>").is_ok());
    assert!(xml_well_formed("<svg><g></svg>").is_err());
    assert!(xml_well_formed("<svg></svg><svg></svg>").is_err());
    assert!(xml_well_formed("<svg>a & b</svg>").is_err());
    assert!(xml_well_formed("<svg>").is_err());
}

#[test]
fn bench_all_quick_writes_valid_json_markdown_report_and_svgs() {
    let dir = temp_dir("all");
    let summary_json = dir.join("summary.json");
    let summary_md = dir.join("summary.md");
    let out = muse()
        .args(["bench", "all", "--quick", "--device", "cpu", "--out-dir"])
        .arg(&dir)
        .arg("--export-json")
        .arg(&summary_json)
        .arg("--export-markdown")
        .arg(&summary_md)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    // Every KPI file against the schema.
    let mut any_fail = false;
    for kpi in KPIS {
        let v = read_json(&dir.join(format!("{kpi}.json")));
        any_fail |= check_kpi_file(kpi, &v) == "fail";
    }
    // Exit code 1 exactly when a target failed.
    let code = out.status.code().unwrap();
    assert_eq!(code, i32::from(any_fail), "stderr: {stderr}");
    // The summary table is printed last, one row per KPI.
    let last: Vec<&str> = stdout.lines().rev().take(KPIS.len() + 1).collect();
    assert!(last.last().unwrap().starts_with("KPI"), "stdout: {stdout}");
    for kpi in KPIS {
        assert!(
            last.iter().any(|l| l.starts_with(kpi)),
            "{kpi} not in table"
        );
    }

    // The resolvent KPI was measured on the CPU: internal consistency.
    let r = read_json(&dir.join("resolvent.json"));
    assert_ne!(r["kpi_status"], "unavailable");
    let runs = r["config"]["num_runs"].as_u64().unwrap() as usize;
    for side in ["muse", "baseline", "muse_single_thread", "vjp"] {
        let t = &r[side];
        assert_eq!(t["samples_ms"].as_array().unwrap().len(), runs, "{side}");
        let (min, med, max) = (
            t["min_ms"].as_f64().unwrap(),
            t["median_ms"].as_f64().unwrap(),
            t["max_ms"].as_f64().unwrap(),
        );
        assert!(0.0 < min && min <= med && med <= max, "{side}");
    }
    let speedup = r["speedup"].as_f64().unwrap();
    let ratio =
        r["baseline"]["median_ms"].as_f64().unwrap() / r["muse"]["median_ms"].as_f64().unwrap();
    assert!((speedup / ratio - 1.0).abs() < 1e-12);
    // f32 against the f64 truth: small but not zero (a zero would mean f64 compared to itself).
    let err = r["numerical_error"].as_f64().unwrap();
    assert!(err > 0.0 && err < 1e-3, "numerical_error {err}");
    assert_eq!(r["numerical_error_detail"]["finite_nonzero_fraction"], 1.0);
    let sweep = r["sweep"].as_array().unwrap();
    let lens: Vec<u64> = sweep
        .iter()
        .map(|p| p["seq_len"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = r["config"]["sweep_seq_lens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(lens, want);

    // Exports: JSON summary with every result, Markdown with the table.
    let s = read_json(&summary_json);
    assert_eq!(s["results"].as_array().unwrap().len(), KPIS.len());
    let md = std::fs::read_to_string(&summary_md).unwrap();
    assert!(md.contains("| KPI | status | result | target |"));
    for kpi in KPIS {
        assert!(md.contains(&format!("| {kpi} |")), "{kpi} row");
    }

    // The report: JSON, Markdown, and the plots it names, which are valid SVG.
    let rep = read_json(&dir.join("report.json"));
    assert_eq!(rep["kpi_summary"].as_array().unwrap().len(), KPIS.len());
    assert_eq!(rep["all_pass"], !any_fail);
    let report_md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report_md.contains("| KPI | status | result | target |"));
    let plots: Vec<&str> = rep["plots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(plots.contains(&"resolvent_time.svg"));
    assert!(plots.contains(&"resolvent_bandwidth.svg"));
    for p in &plots {
        assert_valid_svg(&dir.join(p));
        assert!(report_md.contains(&format!("]({p})")), "{p} not linked");
    }
    // No plot for data that is missing (energy, adjoint, perplexity are unavailable here).
    for (kpi, svg) in [
        ("energy", "energy_trajectory.svg"),
        ("adjoint", "adjoint_memory.svg"),
        ("perplexity", "perplexity.svg"),
    ] {
        if read_json(&dir.join(format!("{kpi}.json")))["kpi_status"] == "unavailable" {
            assert!(!dir.join(svg).exists(), "{svg} drawn without data");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_draws_energy_adjoint_and_perplexity_plots_when_data_is_present() {
    let dir = temp_dir("report");
    let out = muse()
        .args(["bench", "energy", "--quick", "--out-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Fill a report with the data layout the runners will write (SPEC §6 field names).
    let base = read_json(&dir.join("energy.json"));
    let mut energy = base.clone();
    energy["energy_trajectory"] = (0..50).map(|k| 1.0 + 1e-3 * f64::sin(k as f64)).collect();
    let mut adjoint = base.clone();
    adjoint["kpi"] = "adjoint".into();
    adjoint["memory_vs_steps"] = serde_json::json!([
        {"steps": 10, "reversible_gb": 0.1, "store_all_gb": 1.0},
        {"steps": 20, "reversible_gb": 0.1, "store_all_gb": 2.0},
        {"steps": 40, "reversible_gb": 0.1, "store_all_gb": 4.0}
    ]);
    let mut ppl = base;
    ppl["kpi"] = "perplexity".into();
    ppl["curves"] = serde_json::json!({"stage1": [[0, 900.0], [100, 300.0]], "stage2": [[0, 950.0], [100, 290.0]]});
    let input = temp_dir("report-in");
    for (name, v) in [
        ("energy", energy),
        ("adjoint", adjoint),
        ("perplexity", ppl),
    ] {
        std::fs::write(
            input.join(format!("{name}.json")),
            serde_json::to_vec(&v).unwrap(),
        )
        .unwrap();
    }
    std::fs::write(input.join("notes.json"), b"{\"not\": \"a report\"}").unwrap();
    let out_dir = dir.join("rep");
    let out = muse()
        .arg("report")
        .arg("--in")
        .arg(&input)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for svg in [
        "energy_trajectory.svg",
        "adjoint_memory.svg",
        "perplexity.svg",
    ] {
        assert_valid_svg(&out_dir.join(svg));
    }
    assert!(!out_dir.join("resolvent_time.svg").exists());
    let rep = read_json(&out_dir.join("report.json"));
    assert_eq!(rep["skipped_files"], serde_json::json!(["notes.json"]));
    assert_eq!(rep["benchmark_files"].as_array().unwrap().len(), 3);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&input);
}

#[test]
fn export_json_to_stdout_is_a_parseable_summary() {
    let dir = temp_dir("stdout");
    let out = muse()
        .args([
            "bench",
            "memory",
            "--quick",
            "--export-json",
            "-",
            "--out-dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is the JSON summary");
    assert_eq!(v["results"][0]["kpi"], "memory");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `args` and asserts: exit code 2, exactly one line on stderr, containing `needle`.
fn assert_usage_error(args: &[&str], needle: &str) -> Output {
    let out = muse().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("muse: error: "), "{args:?}: {stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: {stderr} lacks {needle:?}"
    );
    out
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let dir = temp_dir("bad");
    let d = dir.to_str().unwrap();
    let file = dir.join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let under_file = file.join("sub");
    let under_file = under_file.to_str().unwrap();
    let missing = dir.join("missing.txt");
    let missing = missing.to_str().unwrap();
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();

    assert_usage_error(&["bench", "nosuchkpi"], "nosuchkpi");
    assert_usage_error(&["bench"], "subcommand");
    assert_usage_error(
        &["bench", "resolvent", "--seq-len", "-5", "--out-dir", d],
        "--seq-len",
    );
    assert_usage_error(
        &["bench", "resolvent", "--batch-size=0", "--out-dir", d],
        "--batch-size",
    );
    assert_usage_error(
        &["bench", "resolvent", "--sweep", "256,-1", "--out-dir", d],
        "--sweep",
    );
    assert_usage_error(
        &["bench", "resolvent", "--num-runs", "abc", "--out-dir", d],
        "abc",
    );
    assert_usage_error(&["bench", "energy", "--dt", "0", "--out-dir", d], "--dt");
    assert_usage_error(&["bench", "adjoint", "--dt", "0.0", "--out-dir", d], "--dt");
    assert_usage_error(
        &["bench", "perplexity", "--dt", "0", "--out-dir", d],
        "--dt",
    );
    assert_usage_error(
        &["bench", "energy", "--steps", "-3", "--out-dir", d],
        "--steps",
    );
    assert_usage_error(
        &[
            "bench",
            "energy",
            "--half-step-particles",
            "0",
            "--out-dir",
            d,
        ],
        "--half-step-particles",
    );
    assert_usage_error(
        &["bench", "memory", "--preset", "huge", "--out-dir", d],
        "preset",
    );
    assert_usage_error(
        &["bench", "throughput", "--dtype", "f8", "--out-dir", d],
        "dtype",
    );
    assert_usage_error(
        &["bench", "resolvent", "--quick", "--out-dir", under_file],
        "cannot write",
    );
    let export = format!("{d}/no/such/dir/x.json");
    assert_usage_error(
        &[
            "bench",
            "resolvent",
            "--quick",
            "--out-dir",
            d,
            "--export-json",
            &export,
        ],
        "cannot write",
    );
    assert_usage_error(
        &["bench", "perplexity", "--data", missing, "--out-dir", d],
        "missing.txt",
    );
    assert_usage_error(&["report", "--in", missing], "missing input");
    assert_usage_error(
        &["report", "--in", empty.to_str().unwrap()],
        "no KPI result files",
    );
    // Bad flags are rejected before anything runs: no result file was written.
    assert!(!dir.join("resolvent.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn device_gpu_without_a_driver_is_one_line_and_exit_code_2() {
    if muse_gpu::driver_present() {
        eprintln!("skipped: a CUDA driver is present here");
        return;
    }
    let dir = temp_dir("nogpu");
    let d = dir.to_str().unwrap();
    for kpi in ["resolvent", "energy", "all"] {
        assert_usage_error(
            &["bench", kpi, "--quick", "--device", "gpu", "--out-dir", d],
            "--device gpu",
        );
    }
    // Nothing ran: no result file.
    assert!(!dir.join("resolvent.json").exists());
    // `auto` falls back to the CPU.
    let out = muse()
        .args([
            "bench",
            "energy",
            "--quick",
            "--device",
            "auto",
            "--out-dir",
            d,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = read_json(&dir.join("energy.json"));
    assert_eq!(v["provenance"]["device"], "cpu");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_perplexity_quick_measures_both_stages_on_wikitext() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/wikitext-2");
    let alt = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/wikitext-2");
    let Some(data) = [data, alt]
        .into_iter()
        .find(|d| d.join("test.txt").is_file())
    else {
        eprintln!("skipped: no WikiText-2 data beside the checkout");
        return;
    };
    let dir = temp_dir("ppl");
    let out = muse()
        .args(["bench", "perplexity", "--quick", "--out-dir"])
        .arg(&dir)
        .arg("--data")
        .arg(data.join("test.txt"))
        .arg("--train-data")
        .arg(data.join("valid.txt"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v = read_json(&dir.join("perplexity.json"));
    let status = check_kpi_file("perplexity", &v);
    assert_ne!(status, "unavailable", "{stderr}");
    assert_eq!(out.status.code(), Some(i32::from(status == "fail")));
    for s in ["stage1", "stage2"] {
        let c = v["curves"][s].as_array().unwrap();
        assert!(!c.is_empty(), "{s} curve");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

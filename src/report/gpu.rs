//! The resolvent KPI's GPU block in `report.md`: the headline figures of
//! `muse bench resolvent --device gpu`, the peers timed on the same device (every peer of the
//! peers file, with its error beside ours), and for each measured case the kernel of the
//! default schedule (`auto`) and the fastest one measured.

use super::markdown::cell;
use crate::bench::fmt_num;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The headline rows of the block: label, field of `gpu` (rows whose field is absent are left
/// out).
const HEADLINE: [(&str, &str); 6] = [
    (
        "forward B = 16, N = 4096 (median, µs)",
        "forward_b16_n4096_median_us",
    ),
    (
        "VJP / forward, B = 16, N = 4096",
        "vjp_over_forward_b16_n4096",
    ),
    (
        "forward B = 16384, N = 4096 (median, µs)",
        "forward_b16384_n4096_median_us",
    ),
    (
        "B = 16384: effective bandwidth / copy bandwidth",
        "forward_b16384_n4096_copy_fraction",
    ),
    (
        "speedup vs the earlier system's reference (3.4 s)",
        "ratio_vs_original_reference_3_4s",
    ),
    (
        "speedup vs the earlier system's default path (26 ms)",
        "ratio_vs_original_default_26ms",
    ),
];

/// A number of `v` at `key`, formatted, or `–` when absent.
fn num(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_f64)
        .map_or_else(|| "–".to_owned(), fmt_num)
}

/// The string of `v` at `key`, table-escaped, or `?` when absent.
fn text(v: &Value, key: &str) -> String {
    cell(v.get(key).and_then(Value::as_str).unwrap_or("?"))
}

/// The Markdown block for the `gpu` field of a resolvent report (`None` when the report has
/// none: a CPU-only run).
pub(super) fn section(fields: &Map<String, Value>) -> Option<String> {
    let gv = fields.get("gpu")?;
    let g = gv.as_object()?;
    let mut s = format!(
        "#### GPU ({}, device-to-device copy {} GB/s)\n\n",
        cell(
            g.get("device")
                .and_then(Value::as_str)
                .unwrap_or("unknown device")
        ),
        num(gv, "copy_gbps")
    );
    let mut head = String::new();
    for (what, key) in HEADLINE {
        if let Some(x) = g.get(key).and_then(Value::as_f64) {
            head.push_str(&format!("| {what} | {} |\n", fmt_num(x)));
        }
    }
    if !head.is_empty() {
        s.push_str("| measure | value |\n|---|---|\n");
        s.push_str(&head);
        s.push('\n');
    }
    if let Some(peers) = g.get("peer_ratios").and_then(Value::as_array) {
        s.push_str(&format!(
            "Peers timed on the same device (`{}`); errors are the worst per-row relative L2 \
             error against float64:\n\n",
            text(gv, "peers_file")
        ));
        s.push_str(
            "| peer | B | N | peer median (µs) | MUSE median (µs) | MUSE speedup | peer error | MUSE error |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for p in peers {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                text(p, "peer"),
                num(p, "rows"),
                num(p, "n"),
                num(p, "peer_median_us"),
                num(p, "muse_median_us"),
                num(p, "muse_speedup"),
                num(p, "peer_rel_err_max"),
                num(p, "muse_rel_err_max"),
            ));
        }
        s.push('\n');
    }
    if let Some(cases) = g.get("cases").and_then(Value::as_array) {
        // For each (op, dtype, B, N): the default schedule's case and the fastest one.
        type Key = (String, String, u64, u64);
        let mut by: BTreeMap<Key, (Option<&Value>, &Value)> = BTreeMap::new();
        let time = |c: &Value| c.get("median_us").and_then(Value::as_f64);
        for c in cases {
            let (Some(op), Some(dt), Some(rows), Some(n), Some(t)) = (
                c.get("op").and_then(Value::as_str),
                c.get("dtype").and_then(Value::as_str),
                c.get("rows").and_then(Value::as_u64),
                c.get("n").and_then(Value::as_u64),
                time(c),
            ) else {
                continue;
            };
            let slot = by
                .entry((op.to_owned(), dt.to_owned(), rows, n))
                .or_insert((None, c));
            if c.get("schedule").and_then(Value::as_str) == Some("auto") {
                slot.0 = Some(c);
            }
            if time(slot.1).unwrap_or(f64::INFINITY) > t {
                slot.1 = c;
            }
        }
        if !by.is_empty() {
            s.push_str(
                "Each measured case: the default schedule's kernel (`auto`) and, where another \
                 measured schedule is faster, that one too (medians of the timed runs; errors: \
                 worst row against float64, the GPU's and the CPU f32 path's):\n\n\
                 | op | dtype | B | N | schedule | kernel | median (µs) | GB/s | of copy | error | CPU f32 error |\n\
                 |---|---|---|---|---|---|---|---|---|---|---|\n",
            );
            for ((op, dt, rows, n), (auto, fastest)) in &by {
                let mut shown = Vec::new();
                shown.extend(*auto);
                if auto.is_none_or(|a| !std::ptr::eq(a, *fastest)) {
                    shown.push(fastest);
                }
                for c in shown {
                    s.push_str(&format!(
                        "| {} | {} | {rows} | {n} | {} | `{}` | {} | {} | {} | {} | {} |\n",
                        cell(op),
                        cell(dt),
                        text(c, "schedule"),
                        text(c, "kernel"),
                        num(c, "median_us"),
                        num(c, "effective_gbps"),
                        num(c, "copy_fraction"),
                        num(c, "rel_err_max"),
                        num(c, "cpu_rel_err_max"),
                    ));
                }
            }
            s.push('\n');
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(g: Value) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("gpu".into(), g);
        m
    }

    #[test]
    fn no_gpu_field_gives_no_section() {
        assert!(section(&Map::new()).is_none());
        assert!(section(&fields(json!("not an object"))).is_none());
    }

    #[test]
    fn every_peer_is_a_row_with_both_errors() {
        let peers = [
            ("jax_scan", 16, 1565.6, 10.4, 5.6e-3, 1.5e-5),
            ("torch_recurrence", 16, 328_700.0, 10.4, 9.9e-6, 1.5e-5),
            ("jax_scan", 16384, 1_031_392.0, 485.7, 1.3e-4, 2.7e-5),
        ];
        let g = json!({
            "device": "NVIDIA H200",
            "copy_gbps": 4220.4,
            "forward_b16384_n4096_copy_fraction": 0.6547,
            "peers_file": "peers.json",
            "peer_ratios": peers.iter().map(|&(p, rows, pt, mt, pe, me)| json!({
                "peer": p, "rows": rows, "n": 4096, "peer_median_us": pt, "muse_median_us": mt,
                "muse_speedup": pt / mt, "peer_rel_err_max": pe, "muse_rel_err_max": me,
            })).collect::<Vec<_>>(),
        });
        let s = section(&fields(g)).unwrap();
        assert!(s.contains("#### GPU (NVIDIA H200, device-to-device copy 4220.4 GB/s)"));
        assert!(s.contains("| B = 16384: effective bandwidth / copy bandwidth | 0.6547 |"));
        // Absent headline figures are left out, not printed as placeholders.
        assert!(!s.contains("VJP / forward"));
        for (p, rows, pt, mt, pe, me) in peers {
            let line = format!(
                "| {p} | {rows} | 4096 | {} | {} | {} | {} | {} |",
                fmt_num(pt),
                fmt_num(mt),
                fmt_num(pt / mt),
                fmt_num(pe),
                fmt_num(me)
            );
            assert!(s.contains(&line), "missing `{line}` in\n{s}");
        }
    }

    #[test]
    fn each_case_shows_its_default_and_its_fastest_schedule() {
        let case = |sched: &str, kernel: &str, rows: u64, t: f64| {
            json!({"op": "diag", "dtype": "f32", "rows": rows, "n": 4096, "schedule": sched,
                   "kernel": kernel, "median_us": t, "rel_err_max": 2.7e-5})
        };
        let g = json!({"cases": [
            case("tile/16", "tile16", 16384, 558.3),
            case("auto", "stream16", 16384, 485.8),
            case("stream", "stream16", 16384, 485.7),
            case("tile/8", "tile8", 16384, 710.0),
            case("split/4", "split", 16, 20.5),
            case("block/256", "smem", 16, 46.5),
            case("auto", "tile8", 8, 10.7),
            {"op": "diag", "rows": 16},
        ]});
        let s = section(&fields(g)).unwrap();
        let row = |sched: &str, kernel: &str, rows: u64, t: &str| {
            format!("| diag | f32 | {rows} | 4096 | {sched} | `{kernel}` | {t} |")
        };
        // B = 16384: `auto`, then the (slightly) faster explicit schedule.
        let auto = s.find(&row("auto", "stream16", 16384, "485.8")).unwrap();
        let fast = s.find(&row("stream", "stream16", 16384, "485.7")).unwrap();
        assert!(auto < fast);
        // No `auto` case: the fastest only. `auto` the fastest: listed once.
        assert!(s.contains(&row("split/4", "split", 16, "20.5")));
        assert_eq!(s.matches("`tile8`").count(), 1);
        assert!(s.contains(&row("auto", "tile8", 8, "10.7")));
        for slower in ["`tile16`", "`smem`"] {
            assert!(
                !s.contains(slower),
                "{slower} is neither the default nor the fastest"
            );
        }
        // A peer-less run has no peers table.
        assert!(!s.contains("| peer |"));
    }
}

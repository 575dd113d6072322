//! SVG line charts (plotters) of the KPI data: each function returns `None` when its data
//! is missing from the report, so absent KPIs simply have no plot.

use crate::bench::{BenchError, KpiReport};
use plotters::prelude::*;
use serde_json::Value;

/// A named series of `(x, y)` points.
pub type Series = (String, Vec<(f64, f64)>);

fn plot_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Other(format!("plot: {e}"))
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if hi > lo {
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { 0.05 * lo.abs() };
        (lo - pad, hi + pad)
    }
}

/// A line chart with points, one colour per series, as an SVG document.
///
/// # Errors
/// When no series has a finite point, or plotters fails.
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<String, BenchError> {
    let pts = || {
        series
            .iter()
            .flat_map(|(_, p)| p.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    if pts().next().is_none() {
        return Err(BenchError::Other(format!("plot {title:?}: no data")));
    }
    let (xmin, xmax) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (x, _)| {
        (a.min(*x), b.max(*x))
    });
    let (ymin, ymax) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, y)| {
        (a.min(*y), b.max(*y))
    });
    let (x0, x1) = padded(xmin, xmax);
    let (y0, y1) = padded(ymin, ymax);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .y_label_formatter(&|v| crate::bench::fmt_num(*v))
            .draw()
            .map_err(plot_err)?;
        for (i, (name, p)) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let p: Vec<(f64, f64)> = p
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(p.clone(), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart
                .draw_series(p.iter().map(|&xy| Circle::new(xy, 3, color.filled())))
                .map_err(plot_err)?;
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

fn num_array(v: &Value) -> Option<Vec<f64>> {
    let a = v.as_array()?;
    let xs: Option<Vec<f64>> = a.iter().map(Value::as_f64).collect();
    xs.filter(|x| x.len() >= 2)
}

/// `energy_trajectory` of the energy KPI: `e_k` against step k.
pub fn energy_trajectory(r: &KpiReport) -> Option<Series> {
    let e = num_array(r.fields.get("energy_trajectory")?)?;
    Some((
        "mean energy".into(),
        e.iter().enumerate().map(|(k, &v)| (k as f64, v)).collect(),
    ))
}

/// Series `key` of the resolvent sweep against `seq_len`.
pub fn sweep_series(r: &KpiReport, key: &str, name: &str) -> Option<Series> {
    let sweep = r.fields.get("sweep")?.as_array()?;
    let p: Option<Vec<(f64, f64)>> = sweep
        .iter()
        .map(|pt| Some((pt.get("seq_len")?.as_f64()?, pt.get(key)?.as_f64()?)))
        .collect();
    p.filter(|p| !p.is_empty()).map(|p| (name.to_owned(), p))
}

/// Every `*_gb` series of the adjoint KPI's `memory_vs_steps` against `steps`.
pub fn adjoint_memory(r: &KpiReport) -> Vec<Series> {
    let Some(rows) = r.fields.get("memory_vs_steps").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = rows
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|o| o.keys().filter(|k| k.ends_with("_gb")).cloned())
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let p: Vec<(f64, f64)> = rows
                .iter()
                .filter_map(|o| Some((o.get("steps")?.as_f64()?, o.get(&k)?.as_f64()?)))
                .collect();
            (!p.is_empty()).then(|| (k.trim_end_matches("_gb").to_owned(), p))
        })
        .collect()
}

/// The perplexity KPI's `curves`: `{name: [[step, ppl], …]}`.
pub fn perplexity_curves(r: &KpiReport) -> Vec<Series> {
    let Some(curves) = r.fields.get("curves").and_then(Value::as_object) else {
        return Vec::new();
    };
    curves
        .iter()
        .filter_map(|(name, pts)| {
            let p: Option<Vec<(f64, f64)>> = pts
                .as_array()?
                .iter()
                .map(|xy| {
                    let xy = xy.as_array()?;
                    Some((xy.first()?.as_f64()?, xy.get(1)?.as_f64()?))
                })
                .collect();
            p.filter(|p| !p.is_empty()).map(|p| (name.clone(), p))
        })
        .collect()
}

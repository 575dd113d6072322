//! The GPU branches of the `memory` and `throughput` KPIs (`--device gpu`): the language
//! model's forward pass on the GPU ([`crate::lm::gpu`]), peak device memory by muse-gpu's
//! tracker, tokens/s by wall time of synchronised forward passes.

use super::energy::{set_device, to_fields};
use super::memory::{preset_model, MemoryKpi};
use super::throughput::ThroughputKpi;
use super::{BenchError, Check, Cmp, Ctx, Kpi, KpiReport};
use crate::lm::gpu::{kpi, GpuDtype};
use muse_core::adjoint::Strategy;
use serde_json::json;

/// The GPU and the dtype, or the reason the KPI is unavailable.
fn open(dtype: &str) -> Result<(muse_gpu::Gpu, GpuDtype), String> {
    let dt = match dtype {
        "f16" => GpuDtype::F16,
        "f32" => GpuDtype::F32,
        other => {
            return Err(format!(
                "dtype {other} is not implemented on the GPU (f16, f32)"
            ))
        }
    };
    let gpu = muse_gpu::Gpu::new(0).map_err(|e| e.to_string())?;
    Ok((gpu, dt))
}

/// `muse bench memory --device gpu`.
pub(crate) fn memory(k: &MemoryKpi, ctx: &Ctx) -> Result<KpiReport, BenchError> {
    let c = k.config_ref();
    let (gpu, dt) = match open(&c.dtype) {
        Ok(v) => v,
        Err(reason) => return Ok(ctx.unavailable(k, reason)),
    };
    let model = preset_model(&c.preset, c.vocab);
    let err = |e| BenchError::Other(format!("memory (GPU): {e}"));
    let s1 = kpi::memory(&gpu, &model, c.batch_size, c.seq_len, dt, c.seed).map_err(err)?;
    let mut m2 = model.clone();
    m2.stage = 2;
    let s2 = kpi::memory(&gpu, &m2, c.batch_size, c.seq_len, dt, c.seed).map_err(err)?;
    let mut training = Vec::new();
    for strategy in [Strategy::Reversible, Strategy::StoreAll] {
        let r = crate::lm::gpu::train::train_step_memory(
            &gpu,
            &m2,
            c.train_batch_size,
            c.train_seq_len,
            strategy,
            c.seed,
        );
        training.push(match r {
            Ok((peak, stats, loss)) => json!({
                "strategy": format!("{strategy:?}"),
                "batch": c.train_batch_size,
                "seq_len": c.train_seq_len,
                "peak_bytes": peak,
                "peak_gb": peak as f64 / 1e9,
                "loss": loss,
                "adjoint": stats,
            }),
            Err(e) => json!({"strategy": format!("{strategy:?}"), "error": e.to_string()}),
        });
    }
    let bytes = s1.peak_bytes;
    let mut fields = to_fields(&s1)?;
    fields.insert("stage2_forward".into(), serde_json::to_value(&s2)?);
    fields.insert("memory_bytes".into(), json!(bytes));
    fields.insert("memory_mb".into(), json!(bytes as f64 / 1e6));
    fields.insert("memory_gb".into(), json!(bytes as f64 / 1e9));
    fields.insert("batch_size".into(), json!(c.batch_size));
    fields.insert("seq_len".into(), json!(c.seq_len));
    fields.insert("dtype".into(), json!(c.dtype));
    fields.insert("device".into(), json!(gpu.device_name()));
    fields.insert("target_memory_gb".into(), json!(c.target_memory_gb));
    fields.insert(
        "memory_kind".into(),
        json!(
            "peak device memory allocated through muse-gpu (memory tracker: weights, \
               activations, logits, resolvent and Leapfrog scratch) during upload + one \
               forward pass of the Stage 1 model; device_used_bytes is the driver's total − \
               free after the pass (context, module, cuBLAS workspace included); \
               stage2_forward: the same for the Stage 2 model"
        ),
    );
    fields.insert(
        "stage2_training_step".into(),
        json!({
            "what": "tracker peak of one f32 training step (forward with every activation \
                     kept, backward, AdamW; parameters, gradients and both Adam moments \
                     included) of the Stage 2 base model, Reversible vs StoreAll in its \
                     Hamiltonian blocks",
            "runs": training,
        }),
    );
    let checks = vec![Check::new(
        "memory_gb",
        bytes as f64 / 1e9,
        Cmp::Lt,
        c.target_memory_gb,
    )];
    let mut report = KpiReport::measured(
        k.name(),
        k.target(),
        k.config(),
        fields,
        checks,
        ctx.provenance(&k.dtype()),
    );
    set_device(&mut report, "gpu");
    Ok(report)
}

/// `muse bench throughput --device gpu`.
pub(crate) fn throughput(k: &ThroughputKpi, ctx: &Ctx) -> Result<KpiReport, BenchError> {
    let c = k.config_ref();
    let (gpu, dt) = match open(&c.dtype) {
        Ok(v) => v,
        Err(reason) => return Ok(ctx.unavailable(k, reason)),
    };
    let model = preset_model(&c.preset, c.vocab);
    let r = kpi::throughput(
        &gpu,
        &model,
        c.batch_size,
        c.seq_len,
        dt,
        (c.warmup_iterations, c.num_iterations),
        &c.batch_sweep,
        c.seed,
    )
    .map_err(|e| BenchError::Other(format!("throughput (GPU): {e}")))?;
    let total_tokens = c.num_iterations * c.batch_size * c.seq_len;
    let mut fields = to_fields(&r)?;
    fields.insert("total_tokens".into(), json!(total_tokens));
    fields.insert(
        "forward_time".into(),
        json!(r.forward_samples_s.iter().sum::<f64>()),
    );
    fields.insert("forward_throughput".into(), json!(r.forward_tokens_per_s));
    fields.insert("batch_size".into(), json!(c.batch_size));
    fields.insert("seq_len".into(), json!(c.seq_len));
    fields.insert("num_iterations".into(), json!(c.num_iterations));
    fields.insert("target_throughput".into(), json!(c.target_throughput));
    fields.insert("device".into(), json!(gpu.device_name()));
    fields.insert(
        "note".into(),
        json!(
            "GPU: cuBLAS GEMMs (f16 weights and f16 GEMM inputs, f32 accumulation, with \
               dtype f16), muse-gpu kernels (one causal-resolvent launch per channel); wall \
               time of synchronised forward passes including the token upload; untrained \
               Stage 1 model, fresh random tokens each iteration; forward + backward not \
               measured (GPU training not implemented)"
        ),
    );
    let checks = vec![Check::new(
        "forward_throughput",
        r.forward_tokens_per_s,
        Cmp::Ge,
        c.target_throughput,
    )];
    let mut report = KpiReport::measured(
        k.name(),
        k.target(),
        k.config(),
        fields,
        checks,
        ctx.provenance(&k.dtype()),
    );
    set_device(&mut report, "gpu");
    Ok(report)
}

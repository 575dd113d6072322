//! The MLP Hamiltonian and float Leapfrog on the GPU (f32).
//!
//! $H(q, p) = \tfrac12\lVert p\rVert^2 + V(q)$ with muse-core's
//! [`muse_core::hamiltonian::MlpPotential`]
//! $V(q) = w_2\cdot\mathrm{gelu}(W_1q + b_1) + b_2$ on a batch of `m` particles (`m × d`,
//! row-major), and Leapfrog (kick–drift–kick) as in `muse_core::integrator`.
//!
//! **Split of the work.** The matrix products go through cuBLAS (f32, default math mode:
//! no TF32), everything element-wise through the kernels of `muse-gpu/kernels/src/ode.rs`,
//! which call muse-core's per-element functions (`force_coef`, `hvp_coefs`, `gelu`,
//! `kinetic`, `kick_one`). With $U = QW_1^\top$ (`m × h`):
//! $$F = -\bigl(w_2\odot\mathrm{gelu}'(U + b_1)\bigr)W_1,\qquad
//!   K\Lambda = \bigl(w_2\odot g_2\odot \Lambda W_1^\top\bigr)W_1,$$
//! and the parameter gradients of $\sum_i\langle\nabla V(q_i),\lambda_i\rangle$ as two
//! rank-`m` products into $\nabla W_1$ and two matrix–vector products into
//! $\nabla b_1, \nabla w_2$ (see [`crate::adjoint`]).
//!
//! **Tiles.** The `m × h` hidden values are processed in tiles of [`OdeGpu::tile`]
//! particles, so the hidden scratch is `3·tile·h + tile·d` floats whatever `m` is.
//!
//! **Fused passes** ([`OdeGpu::pass`], used by the adjoint). Every particle evolves on its
//! own (only the parameter gradient sums over particles), so the two half-kicks that share a
//! force, `p += ½h F(q_k)` at the end of step `k` and at the start of step `k + 1`, and the
//! following drift can run tile by tile right after `F(q_k)` of the tile is computed: the
//! force lives in a `tile × d` buffer instead of a batch-sized `f`, with the same operations
//! in the same order per element as [`OdeGpu::step`] (bit-identical results). The adjoint's
//! Hessian–vector product at `q_k` runs in the same tile loop and reuses `W1 q_k + b1` from
//! the force stage.
//!
//! **Fixed point** ([`OdeGpu::integrate_fixed`], [`integrate_fixed`]): muse-core's
//! bit-reversible Leapfrog (`muse_core::integrator::fixed`) with `i64` states on the device,
//! $P \mathrel{+}= \bigl[\tfrac h2 F(Q2^{-f})2^f\bigr]$, $Q \mathrel{+}= \bigl[hP\bigr]$,
//! through the kernels `ode_fixed_{to_real,kick,drift}_f32` (muse-core's `fixed_to_real`,
//! `fixed_kick_one`, `fixed_drift_one`, in f32 as the CPU's `leapfrog_fixed::<f32>`), the
//! force by the same cuBLAS path as the float integrator. The increments are odd functions of `h` computed
//! from the other variable only, and cuBLAS returns the same bits for the same inputs and
//! configuration, so `h` then `−h` restores `(Q, P)` bit for bit. The trajectory agrees with
//! the CPU's up to the force's rounding (another summation order): an increment can differ by
//! one unit when that rounding crosses a half-unit boundary.
//!
//! Host API: [`integrate`] (host slices in, [`Integrated`] out), [`integrate_fixed`].
//! Device API: [`OdeGpu`].

use cudarc::cublas::sys::cublasOperation_t;
use cudarc::cublas::{CudaBlas, Gemm, GemmConfig, Gemv, GemvConfig};
use cudarc::driver::{
    CudaSlice, CudaView, CudaViewMut, DevicePtr, DevicePtrMut, LaunchConfig, PushKernelArg,
};
use muse_core::hamiltonian::{MlpPotential, OdeArg, OdeError};
use muse_core::integrator::Fixed;

use half::f16;

use crate::context::{DeviceBuffer, Gpu};
use crate::error::{GpuError, Result};

/// Default hidden-scratch budget per buffer (bytes): the tile is the largest number of
/// particles whose `tile × h` floats fit in it.
pub const DEFAULT_TILE_BYTES: usize = 8 << 20;

/// Default hidden-scratch budget per buffer for the adjoint ([`crate::adjoint::grad`]):
/// smaller than [`DEFAULT_TILE_BYTES`], since the adjoint's point is its memory (256
/// particles per tile at `h = 2048`).
pub const GRAD_TILE_BYTES: usize = 2 << 20;

const THREADS: u32 = 256;

fn blas_err(e: cudarc::cublas::result::CublasError) -> GpuError {
    GpuError::Blas(format!("{e:?}"))
}

fn check_len(arg: &'static str, expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(GpuError::LengthMismatch {
            arg,
            expected,
            found,
        })
    }
}

/// Whether libcublas can be loaded here (needed by [`OdeGpu`]; no handle is created).
pub fn blas_present() -> bool {
    // SAFETY: only asks dlopen whether libcublas loads.
    unsafe { cudarc::cublas::sys::is_culib_present() }
}

/// Validates a batch against `d`: returns `m`.
pub(crate) fn batch(d: usize, q: &[f32], p: &[f32]) -> Result<usize> {
    if q.is_empty() || q.len() % d != 0 {
        return Err(GpuError::LengthMismatch {
            arg: "q0",
            expected: (q.len() / d).max(1) * d,
            found: q.len(),
        });
    }
    check_len("p0", q.len(), p.len())?;
    if let Some(i) = q.iter().position(|x| !x.is_finite()) {
        return Err(OdeError::NonFiniteInput {
            arg: OdeArg::Q,
            index: i,
        }
        .into());
    }
    if let Some(i) = p.iter().position(|x| !x.is_finite()) {
        return Err(OdeError::NonFiniteInput {
            arg: OdeArg::P,
            index: i,
        }
        .into());
    }
    Ok(q.len() / d)
}

/// `Err(BadStep)` unless `dt` is finite and non-zero.
pub(crate) fn check_dt(dt: f32) -> Result<()> {
    if dt.is_finite() && dt != 0.0 {
        Ok(())
    } else {
        Err(OdeError::BadStep.into())
    }
}

/// The MLP potential on the device, cuBLAS, and the hidden scratch of one tile.
#[derive(Debug)]
pub struct OdeGpu<'g> {
    gpu: &'g Gpu,
    blas: CudaBlas,
    d: usize,
    h: usize,
    m: usize,
    tile: usize,
    w1: DeviceBuffer<f32>,
    b1: DeviceBuffer<f32>,
    w2: DeviceBuffer<f32>,
    b2: f32,
    u: DeviceBuffer<f32>,
    y: DeviceBuffer<f32>,
    t: DeviceBuffer<f32>,
    ft: DeviceBuffer<f32>,
    ones: DeviceBuffer<f32>,
    maxw: DeviceBuffer<u32>,
    half: Option<HalfBufs>,
}

/// Storage of the potential's GEMM operands ([`OdeGpu::with_storage`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Storage {
    /// f32 operands (SGEMM).
    #[default]
    F32,
    /// f16 operands (`W1`, the positions and the force coefficients rounded to f16, round to
    /// nearest even), f32 accumulation and f32 results (`cublasGemmEx`, compute type 32F):
    /// the force of [`OdeGpu::force`], [`OdeGpu::step`] and [`integrate_with`] only.
    F16,
}

/// The f16 copies of [`Storage::F16`]: `W1` and one tile of positions and coefficients.
#[derive(Debug)]
struct HalfBufs {
    w1: DeviceBuffer<f16>,
    x: DeviceBuffer<f16>,
    g: DeviceBuffer<f16>,
}

impl<'g> OdeGpu<'g> {
    /// Uploads the potential (`params = [W1 (h·d) | b1 | w2 | b2]`, muse-core's layout) for
    /// batches of `m` particles; `tile` particles per hidden tile (default: as many as fit
    /// [`DEFAULT_TILE_BYTES`] per buffer).
    ///
    /// # Errors
    /// The potential's errors ([`GpuError::Ode`]: zero sizes, wrong length, non-finite
    /// parameters), `m = 0`, out of memory, or cuBLAS failing to start ([`GpuError::Blas`]:
    /// e.g. no libcublas).
    pub fn new(
        gpu: &'g Gpu,
        d: usize,
        h: usize,
        params: &[f32],
        m: usize,
        tile: Option<usize>,
    ) -> Result<Self> {
        let pot = MlpPotential::new(d, h, params)?;
        if m == 0 {
            return Err(GpuError::LengthMismatch {
                arg: "q0",
                expected: d,
                found: 0,
            });
        }
        let tile = tile
            .unwrap_or(DEFAULT_TILE_BYTES / (4 * h))
            .clamp(1, m)
            .min(i32::MAX as usize / h.max(d));
        if m > i32::MAX as usize || h * d > i32::MAX as usize {
            return Err(GpuError::TooLarge(format!(
                "{m} particles of {d} with width {h}: cuBLAS takes i32 sizes"
            )));
        }
        if !blas_present() {
            return Err(GpuError::Blas("libcublas could not be loaded".into()));
        }
        let blas = CudaBlas::new(gpu.stream().clone()).map_err(blas_err)?;
        let (w1, b1, w2, b2) = pot.parts();
        Ok(OdeGpu {
            gpu,
            blas,
            d,
            h,
            m,
            tile,
            w1: gpu.upload(w1)?,
            b1: gpu.upload(b1)?,
            w2: gpu.upload(w2)?,
            b2,
            u: gpu.alloc(tile * h)?,
            y: gpu.alloc(tile * h)?,
            t: gpu.alloc(tile * h)?,
            ft: gpu.alloc(tile * d)?,
            ones: gpu.upload(&vec![1.0f32; tile.max(h)])?,
            maxw: gpu.alloc(1)?,
            half: None,
        })
    }

    /// Sets the storage of the force's GEMM operands (`F16`: uploads an f16 copy of `W1` and
    /// allocates one f16 tile of positions and of coefficients).
    ///
    /// # Errors
    /// Out of memory or copy errors.
    pub fn with_storage(mut self, storage: Storage) -> Result<Self> {
        self.half = match storage {
            Storage::F32 => None,
            Storage::F16 => {
                let w1h: Vec<f16> = self
                    .gpu
                    .download(&self.w1)?
                    .into_iter()
                    .map(f16::from_f32)
                    .collect();
                Some(HalfBufs {
                    w1: self.gpu.upload(&w1h)?,
                    x: self.gpu.alloc(self.tile * self.d)?,
                    g: self.gpu.alloc(self.tile * self.h)?,
                })
            }
        };
        Ok(self)
    }

    /// The storage of the force's GEMM operands.
    pub fn storage(&self) -> Storage {
        if self.half.is_some() {
            Storage::F16
        } else {
            Storage::F32
        }
    }

    /// `Err(Unsupported)` with f16 storage (the adjoint's products are f32 only).
    fn f32_only(&self) -> Result<()> {
        if self.half.is_some() {
            Err(GpuError::Unsupported(
                "f16 storage is implemented for the force (integrate) only, not the adjoint",
            ))
        } else {
            Ok(())
        }
    }

    /// `y[..n] ← f16(x)` (muse-core's rounding, kernel `ode_to_f16`).
    fn to_f16(
        gpu: &Gpu,
        cfg: LaunchConfig,
        x: &CudaView<'_, f32>,
        y: &mut CudaViewMut<'_, f16>,
    ) -> Result<()> {
        check_len("f16 tile", x.len(), y.len())?;
        let n = x.len();
        let func = gpu.function("ode_to_f16")?;
        let mut b = gpu.stream().launch_builder(&func);
        b.arg(&n).arg(x).arg(y);
        // SAFETY: signature (n, x, y) of `ode_to_f16`; x, y = n elements.
        unsafe { b.launch(cfg) }?;
        Ok(())
    }

    /// Particles per hidden tile.
    pub fn tile(&self) -> usize {
        self.tile
    }
    /// Particles per batch.
    pub fn particles(&self) -> usize {
        self.m
    }
    /// Dimension `d`.
    pub fn dim(&self) -> usize {
        self.d
    }
    /// Width `h`.
    pub fn hidden(&self) -> usize {
        self.h
    }
    /// Parameter count `h(d + 2) + 1`.
    pub fn param_len(&self) -> usize {
        MlpPotential::<f32>::param_len(self.d, self.h)
    }
    /// The context.
    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    fn cfg(&self, n: usize) -> LaunchConfig {
        launch_cfg(self.gpu, n)
    }

    /// Column-major GEMV `y = α·op(A)·x + β·y`.
    #[allow(clippy::too_many_arguments)]
    fn gemv<A: DevicePtr<f32>, X: DevicePtr<f32>, Y: DevicePtrMut<f32>>(
        &self,
        trans: bool,
        (m, n): (usize, usize),
        alpha: f32,
        (a, lda): (&A, usize),
        x: &X,
        beta: f32,
        y: &mut Y,
    ) -> Result<()> {
        let cfg = GemvConfig {
            trans: if trans {
                cublasOperation_t::CUBLAS_OP_T
            } else {
                cublasOperation_t::CUBLAS_OP_N
            },
            m: m as i32,
            n: n as i32,
            alpha,
            lda: lda as i32,
            incx: 1,
            beta,
            incy: 1,
        };
        // SAFETY: as `gemm`; x and y hold the lengths op(A) needs (ones ≥ max(tile, h)).
        unsafe { self.blas.gemv(cfg, a, x, y) }.map_err(blas_err)
    }

    /// `U_tile = X_tile W1ᵀ` (row-major `mt × h`) for particles `r0..r0+mt` of `x`.
    fn hidden_of(&mut self, x: &CudaView<'_, f32>, mt: usize, out_y: bool) -> Result<()> {
        let (d, h) = (self.d, self.h);
        // Column-major: Uᵀ (h × mt) = op_T(W1ᵀ: d × h) · (Xᵀ: d × mt).
        let mut dst = if out_y {
            self.y.slice_mut(..mt * h)
        } else {
            self.u.slice_mut(..mt * h)
        };
        let cfg = ((true, false), (h, mt, d));
        // Borrow juggling: gemm needs &self while dst borrows a field mutably.
        let blas = &self.blas;
        if let Some(hb) = self.half.as_mut() {
            let lc = launch_cfg(self.gpu, mt * d);
            Self::to_f16(self.gpu, lc, x, &mut hb.x.slice_mut(..mt * d))?;
            let xh = hb.x.slice(..mt * d);
            return gemm_f16(
                self.gpu,
                blas,
                cfg,
                1.0,
                (&*hb.w1, d),
                (&xh, d),
                (&mut dst, h),
            );
        }
        let w1: &CudaSlice<f32> = &self.w1;
        gemm_raw(blas, cfg, 1.0, (w1, d), (x, d), 0.0, (&mut dst, h))
    }

    /// `f = F(q)` for the whole batch; if given, the activations `u = W1q + b1` go to
    /// `acts[off..off + m·h]` and `V(q)` (without `½|p|²`) to `v` (finished by
    /// [`OdeGpu::energy_finish`]).
    ///
    /// # Errors
    /// Length mismatches, launch or cuBLAS errors.
    pub fn force(
        &mut self,
        q: &CudaView<'_, f32>,
        f: &mut CudaSlice<f32>,
        mut acts: Option<(&mut CudaSlice<f32>, usize)>,
        mut v: Option<&mut CudaSlice<f32>>,
    ) -> Result<()> {
        let (m, d, h) = (self.m, self.d, self.h);
        check_len("q", m * d, q.len())?;
        check_len("f", m * d, f.len())?;
        if let Some((a, off)) = acts.as_ref() {
            if a.len() < off + m * h {
                return Err(GpuError::LengthMismatch {
                    arg: "acts",
                    expected: off + m * h,
                    found: a.len(),
                });
            }
        }
        if let Some(v) = v.as_ref() {
            check_len("v", m, v.len())?;
        }
        let stage = self.gpu.function("ode_force_stage_f32")?;
        let mut r0 = 0;
        while r0 < m {
            let mt = self.tile.min(m - r0);
            let n = mt * h;
            let xt = q.slice(r0 * d..(r0 + mt) * d);
            self.hidden_of(&xt, mt, false)?;
            let cfg = self.cfg(n);
            {
                let (store, want_e) = (acts.is_some() as u32, v.is_some() as u32);
                let mut av = match acts.as_mut() {
                    Some((a, off)) => a.slice_mut(*off + r0 * h..*off + (r0 + mt) * h),
                    None => self.t.slice_mut(..n), // unused placeholder
                };
                let mut b = self.gpu.stream().launch_builder(&stage);
                b.arg(&n)
                    .arg(&h)
                    .arg(&mut *self.u)
                    .arg(&*self.b1)
                    .arg(&*self.w2)
                    .arg(&mut av)
                    .arg(&store)
                    .arg(&mut *self.y)
                    .arg(&want_e);
                // SAFETY: signature (n, h, u, b1, w2, act, store_act, e, want_e) of
                // `ode_force_stage_f32`; u, y ≥ tile·h ≥ n, act view = n elements (or the
                // unused t), b1, w2 = h.
                unsafe { b.launch(cfg) }?;
            }
            // F_tile: Fᵀ (d × mt) = W1ᵀ-colmajor (d × h) · Gᵀ (h × mt).
            let mut ft = f.slice_mut(r0 * d..(r0 + mt) * d);
            if let Some(hb) = self.half.as_mut() {
                let lc = launch_cfg(self.gpu, n);
                Self::to_f16(self.gpu, lc, &self.u.slice(..n), &mut hb.g.slice_mut(..n))?;
                gemm_f16(
                    self.gpu,
                    &self.blas,
                    ((false, false), (d, mt, h)),
                    1.0,
                    (&*hb.w1, d),
                    (&hb.g.slice(..n), h),
                    (&mut ft, d),
                )?;
            } else {
                gemm_raw(
                    &self.blas,
                    ((false, false), (d, mt, h)),
                    1.0,
                    (&*self.w1, d),
                    (&self.u.slice(..n), h),
                    0.0,
                    (&mut ft, d),
                )?;
            }
            if let Some(v) = v.as_deref_mut() {
                // V_tile = Eᵀ 1: E row-major mt × h = col-major h × mt.
                let mut vt = v.slice_mut(r0..r0 + mt);
                self.gemv(
                    true,
                    (h, mt),
                    1.0,
                    (&self.y.slice(..n), h),
                    &self.ones.slice(..h),
                    0.0,
                    &mut vt,
                )?;
            }
            r0 += mt;
        }
        Ok(())
    }

    /// `v ← ½|p|² + v + b2` per particle (after [`OdeGpu::force`] with `v`).
    ///
    /// # Errors
    /// Length mismatches or launch errors.
    pub fn energy_finish(&self, p: &CudaSlice<f32>, v: &mut CudaSlice<f32>) -> Result<()> {
        let (m, d) = (self.m, self.d);
        check_len("p", m * d, p.len())?;
        check_len("v", m, v.len())?;
        let func = self.gpu.function("ode_energy_f32")?;
        let mut b = self.gpu.stream().launch_builder(&func);
        b.arg(&m).arg(&d).arg(p).arg(v).arg(&self.b2);
        // SAFETY: signature (m, d, p, v, b2); p = m·d, v = m.
        unsafe { b.launch(self.cfg(m)) }?;
        Ok(())
    }

    /// `y ← y + c·x` (muse-core's `kick_one`).
    ///
    /// # Errors
    /// Length mismatches or launch errors.
    pub fn axpy(&self, y: &mut CudaViewMut<'_, f32>, x: &CudaView<'_, f32>, c: f32) -> Result<()> {
        check_len("x", y.len(), x.len())?;
        let n = y.len();
        let func = self.gpu.function("ode_axpy_f32")?;
        let mut b = self.gpu.stream().launch_builder(&func);
        b.arg(&n).arg(y).arg(x).arg(&c);
        // SAFETY: signature (n, y, x, c); x, y = n.
        unsafe { b.launch(self.cfg(n)) }?;
        Ok(())
    }

    /// One Leapfrog step: on entry `f = F(q)`, on exit `(q, p)` advanced by `dt` and
    /// `f = F(q')` (activations and `V` as in [`OdeGpu::force`]).
    ///
    /// # Errors
    /// As [`OdeGpu::force`].
    pub fn step(
        &mut self,
        q: &mut CudaSlice<f32>,
        p: &mut CudaSlice<f32>,
        f: &mut CudaSlice<f32>,
        dt: f32,
        acts: Option<(&mut CudaSlice<f32>, usize)>,
        v: Option<&mut CudaSlice<f32>>,
    ) -> Result<()> {
        let half = 0.5 * dt;
        self.axpy(&mut p.slice_mut(..), &f.slice(..), half)?;
        self.axpy(&mut q.slice_mut(..), &p.slice(..), dt)?;
        self.force(&q.slice(..), f, acts, v)?;
        self.axpy(&mut p.slice_mut(..), &f.slice(..), half)
    }

    /// `K(x) λ` for the batch, accumulated as `mu += c_hv · Kλ`, and
    /// `g += c_g · ∇_θ Σ_i ⟨∇V(x_i), λ_i⟩` (layout `[W1 | b1 | w2 | b2]`). With `act`
    /// (the activations [`OdeGpu::force`] stored at `x`), `W1 x + b1` is not recomputed.
    ///
    /// # Errors
    /// Length mismatches, launch or cuBLAS errors.
    #[allow(clippy::too_many_arguments)]
    pub fn hvp_acc(
        &mut self,
        x: &CudaView<'_, f32>,
        act: Option<&CudaView<'_, f32>>,
        lam: &CudaView<'_, f32>,
        mu: &mut CudaSlice<f32>,
        c_hv: f32,
        g: &mut CudaSlice<f32>,
        c_g: f32,
    ) -> Result<()> {
        self.f32_only()?;
        let (m, d, h) = (self.m, self.d, self.h);
        check_len("x", m * d, x.len())?;
        check_len("lambda", m * d, lam.len())?;
        check_len("mu", m * d, mu.len())?;
        check_len("grad", self.param_len(), g.len())?;
        if let Some(a) = act {
            check_len("acts", m * h, a.len())?;
        }
        let mut r0 = 0;
        while r0 < m {
            let mt = self.tile.min(m - r0);
            let xt = x.slice(r0 * d..(r0 + mt) * d);
            let lt = lam.slice(r0 * d..(r0 + mt) * d);
            let a = act.map(|a| a.slice(r0 * h..(r0 + mt) * h));
            let src = match a.as_ref() {
                Some(a) => Act::Copy(a),
                None => Act::Recompute,
            };
            self.hvp_tile(r0, mt, &xt, src, &lt, mu, c_hv, g, c_g)?;
            r0 += mt;
        }
        Ok(())
    }

    /// [`OdeGpu::hvp_acc`] on the tile of particles `r0..r0 + mt` (`xt`, `lt`: the tile's
    /// rows; `mu`, `g`: the whole buffers).
    #[allow(clippy::too_many_arguments)]
    fn hvp_tile(
        &mut self,
        r0: usize,
        mt: usize,
        xt: &CudaView<'_, f32>,
        act: Act<'_, '_>,
        lt: &CudaView<'_, f32>,
        mu: &mut CudaSlice<f32>,
        c_hv: f32,
        g: &mut CudaSlice<f32>,
        c_g: f32,
    ) -> Result<()> {
        let (d, h) = (self.d, self.h);
        let n = mt * h;
        let stage = self.gpu.function("ode_hvp_stage_f32")?;
        let add_bias: u32 = match act {
            Act::Copy(src) => {
                let mut dst = self.u.slice_mut(..n);
                self.gpu.stream().memcpy_dtod(src, &mut dst)?;
                0
            }
            Act::InT => 0,
            Act::Recompute => {
                self.hidden_of(xt, mt, false)?;
                1
            }
        };
        // With the activations in `t` the stage reads them there and the roles of `u` and
        // `t` swap (the stage's `u` argument is read, then overwritten with `w2 g1`).
        let swap = matches!(act, Act::InT);
        self.hidden_of(lt, mt, true)?;
        {
            let cfg = self.cfg(n);
            let (first, last): (&mut CudaSlice<f32>, &mut CudaSlice<f32>) = if swap {
                (&mut self.t, &mut self.u)
            } else {
                (&mut self.u, &mut self.t)
            };
            let mut b = self.gpu.stream().launch_builder(&stage);
            b.arg(&n)
                .arg(&h)
                .arg(first)
                .arg(&add_bias)
                .arg(&*self.b1)
                .arg(&*self.w2)
                .arg(&mut *self.y)
                .arg(last);
            // SAFETY: signature (n, h, u, add_bias, b1, w2, y, t) of `ode_hvp_stage_f32`;
            // u, y, t (in either order) ≥ tile·h ≥ n; b1, w2 = h.
            unsafe { b.launch(cfg) }?;
        }
        let (w2g1, g1y) = if swap {
            (self.t.slice(..n), self.u.slice(..n))
        } else {
            (self.u.slice(..n), self.t.slice(..n))
        };
        let gj = self.y.slice(..n);
        // mu_tile += c_hv · (gj W1): col-major muᵀ (d × mt) += W1ᵀ (d × h) · gjᵀ (h × mt).
        let mut mt_view = mu.slice_mut(r0 * d..(r0 + mt) * d);
        gemm_raw(
            &self.blas,
            ((false, false), (d, mt, h)),
            c_hv,
            (&*self.w1, d),
            (&gj, h),
            1.0,
            (&mut mt_view, d),
        )?;
        let hd = h * d;
        {
            // ∇W1 (row-major h × d = col-major d × h) += c_g (Xᵀ gj + Λᵀ w2g1).
            let mut gw = g.slice_mut(..hd);
            gemm_raw(
                &self.blas,
                ((false, true), (d, h, mt)),
                c_g,
                (xt, d),
                (&gj, h),
                1.0,
                (&mut gw, d),
            )?;
            gemm_raw(
                &self.blas,
                ((false, true), (d, h, mt)),
                c_g,
                (lt, d),
                (&w2g1, h),
                1.0,
                (&mut gw, d),
            )?;
        }
        {
            let ones = self.ones.slice(..mt);
            let mut gb = g.slice_mut(hd..hd + h);
            self.gemv(false, (h, mt), c_g, (&gj, h), &ones, 1.0, &mut gb)?;
            let mut gw2 = g.slice_mut(hd + h..hd + 2 * h);
            self.gemv(false, (h, mt), c_g, (&g1y, h), &ones, 1.0, &mut gw2)?;
        }
        Ok(())
    }

    /// One fused pass over the batch at a state boundary `k`, tile by tile: with the tile's
    /// force `f = F(q_k)` (in a `tile × d` buffer),
    /// `p += a·f`; then the hooks of `at` on the completed state `x_k` (store `W1 q_k + b1`,
    /// copy `(q_k, p_k)` to a tape, the adjoint's Hessian–vector product at `q_k` followed by
    /// `λ += lam_dt·μ`); then `p += b·f` and `q += c·p`. Zero `a`, `b` or `c` skip that
    /// update. A Leapfrog run of `T` steps of `h` is the passes `k = 0..=T` with
    /// `a = ½h` (`0` at `k = 0`), `b = ½h`, `c = h` (both `0` at `k = T`).
    ///
    /// # Errors
    /// Length mismatches (`q`, `p`, the tape and activations, the adjoint buffers), launch
    /// or cuBLAS errors.
    #[allow(clippy::too_many_arguments)]
    pub fn pass(
        &mut self,
        q: &mut CudaSlice<f32>,
        p: &mut CudaSlice<f32>,
        a: f32,
        b: f32,
        c: f32,
        mut at: AtState<'_>,
    ) -> Result<()> {
        self.f32_only()?;
        let (m, d, h) = (self.m, self.d, self.h);
        let md = m * d;
        check_len("q", md, q.len())?;
        check_len("p", md, p.len())?;
        if let Some((acts, off)) = at.acts.as_ref() {
            if acts.len() < off + m * h {
                return Err(GpuError::LengthMismatch {
                    arg: "acts",
                    expected: off + m * h,
                    found: acts.len(),
                });
            }
        }
        if let Some((tape, off)) = at.tape.as_ref() {
            if tape.len() < off + 2 * md {
                return Err(GpuError::LengthMismatch {
                    arg: "tape",
                    expected: off + 2 * md,
                    found: tape.len(),
                });
            }
        }
        if let Some(v) = at.hvp.as_ref() {
            check_len("lambda", md, v.lam.len())?;
            check_len("mu", md, v.mu.len())?;
            check_len("grad", self.param_len(), v.g.len())?;
        }
        let stage = self.gpu.function("ode_force_stage_f32")?;
        let mut r0 = 0;
        while r0 < m {
            let mt = self.tile.min(m - r0);
            let n = mt * h;
            let rows = r0 * d..(r0 + mt) * d;
            self.hidden_of(&q.slice(rows.clone()), mt, false)?;
            // Where the stage stores W1 q + b1: the activation tape, `t` (for the
            // Hessian–vector product), or nowhere.
            let in_t = at.acts.is_none() && at.hvp.is_some();
            {
                let store = (at.acts.is_some() || in_t) as u32;
                let zero = 0u32;
                let cfg = self.cfg(n);
                let mut av = match at.acts.as_mut() {
                    Some((acts, off)) => acts.slice_mut(*off + r0 * h..*off + (r0 + mt) * h),
                    None => self.t.slice_mut(..n),
                };
                let mut l = self.gpu.stream().launch_builder(&stage);
                l.arg(&n)
                    .arg(&h)
                    .arg(&mut *self.u)
                    .arg(&*self.b1)
                    .arg(&*self.w2)
                    .arg(&mut av)
                    .arg(&store)
                    .arg(&mut *self.y)
                    .arg(&zero);
                // SAFETY: signature (n, h, u, b1, w2, act, store_act, e, want_e) of
                // `ode_force_stage_f32`; u, y ≥ tile·h ≥ n, the act view = n elements,
                // b1, w2 = h.
                unsafe { l.launch(cfg) }?;
            }
            let nd = mt * d;
            {
                let mut fv = self.ft.slice_mut(..nd);
                gemm_raw(
                    &self.blas,
                    ((false, false), (d, mt, h)),
                    1.0,
                    (&*self.w1, d),
                    (&self.u.slice(..n), h),
                    0.0,
                    (&mut fv, d),
                )?;
            }
            if a != 0.0 {
                self.axpy(&mut p.slice_mut(rows.clone()), &self.ft.slice(..nd), a)?;
            }
            if let Some((tape, off)) = at.tape.as_mut() {
                let s = self.gpu.stream();
                s.memcpy_dtod(
                    &q.slice(rows.clone()),
                    &mut tape.slice_mut(*off + r0 * d..*off + (r0 + mt) * d),
                )?;
                s.memcpy_dtod(
                    &p.slice(rows.clone()),
                    &mut tape.slice_mut(*off + md + r0 * d..*off + md + (r0 + mt) * d),
                )?;
            }
            if let Some(v) = at.hvp.as_mut() {
                let xt = q.slice(rows.clone());
                let lt = v.lam.slice(rows.clone());
                let av = at
                    .acts
                    .as_ref()
                    .map(|(acts, off)| acts.slice(*off + r0 * h..*off + (r0 + mt) * h));
                let src = match av.as_ref() {
                    Some(av) => Act::Copy(av),
                    None => Act::InT,
                };
                self.hvp_tile(r0, mt, &xt, src, &lt, v.mu, v.c, v.g, v.c)?;
                if v.lam_dt != 0.0 {
                    self.axpy(
                        &mut v.lam.slice_mut(rows.clone()),
                        &v.mu.slice(rows.clone()),
                        v.lam_dt,
                    )?;
                }
            }
            if b != 0.0 {
                self.axpy(&mut p.slice_mut(rows.clone()), &self.ft.slice(..nd), b)?;
            }
            if c != 0.0 {
                self.axpy(&mut q.slice_mut(rows.clone()), &p.slice(rows.clone()), c)?;
            }
            r0 += mt;
        }
        Ok(())
    }

    /// `steps` Leapfrog steps of `dt` from `(q, p)` in place, through fused passes (no
    /// batch-sized force buffer).
    ///
    /// # Errors
    /// As [`OdeGpu::pass`].
    pub fn advance(
        &mut self,
        q: &mut CudaSlice<f32>,
        p: &mut CudaSlice<f32>,
        dt: f32,
        steps: usize,
    ) -> Result<()> {
        if steps == 0 {
            return Ok(());
        }
        let half = 0.5 * dt;
        for k in 0..=steps {
            let a = if k == 0 { 0.0 } else { half };
            let (b, c) = if k == steps { (0.0, 0.0) } else { (half, dt) };
            self.pass(q, p, a, b, c, AtState::default())?;
        }
        Ok(())
    }

    /// Fixed-point Leapfrog (`frac` fraction bits) of the batch `(q, p)` (`m × d` integers,
    /// host slices, in place) for `steps` steps of `dt`, as muse-core's
    /// `leapfrog_fixed::<f32>` (see the module docs); `dt < 0` is the exact inverse.
    /// `steps = 0` is the identity. On error `q` and `p` are left unchanged.
    ///
    /// # Errors
    /// [`GpuError::Ode`] with [`OdeError::BadConfig`] (`frac ∉ 1..=62`), [`OdeError::BadStep`]
    /// (`dt` zero or not finite), [`OdeError::FixedOverflow`] (`step` = the first step in
    /// which a value or an increment did not fit `i64`, `index` = the smallest flat index in
    /// it); [`GpuError::LengthMismatch`] (`q`, `p` ≠ `m·d`); [`GpuError::TooLarge`] (more
    /// than `2³² − 1` elements or steps); out of memory, launch or cuBLAS errors.
    pub fn integrate_fixed(
        &mut self,
        q: &mut [i64],
        p: &mut [i64],
        frac: u32,
        dt: f32,
        steps: usize,
    ) -> Result<()> {
        Fixed::new(frac)?;
        check_dt(dt)?;
        let n = self.m * self.d;
        check_len("q", n, q.len())?;
        check_len("p", n, p.len())?;
        if n >= u32::MAX as usize || steps >= u32::MAX as usize {
            return Err(GpuError::TooLarge(format!(
                "{n} elements, {steps} steps: the overflow flag holds 32-bit steps and indices"
            )));
        }
        if steps == 0 {
            return Ok(());
        }
        let gpu = self.gpu;
        let mut qd = gpu.upload(q)?;
        let mut pd = gpu.upload(p)?;
        let mut x = gpu.alloc::<f32>(n)?;
        let mut f = gpu.alloc::<f32>(n)?;
        let mut err = gpu.upload(&[u64::MAX])?;
        let half = 0.5 * dt;
        self.fixed_to_real(&qd, frac, &mut x)?;
        self.force(&x.slice(..), &mut f, None, None)?;
        for k in 1..=steps {
            let k = k as u64;
            self.fixed_kick(&mut pd, &f, half, frac, k, &mut err)?;
            self.fixed_drift(&mut qd, &pd, dt, k, &mut err)?;
            self.fixed_to_real(&qd, frac, &mut x)?;
            self.force(&x.slice(..), &mut f, None, None)?;
            self.fixed_kick(&mut pd, &f, half, frac, k, &mut err)?;
        }
        let e = gpu.download(&err)?[0];
        if e != u64::MAX {
            return Err(OdeError::FixedOverflow {
                step: (e >> 32) as usize,
                index: (e & 0xffff_ffff) as usize,
            }
            .into());
        }
        let (qh, ph) = (gpu.download(&qd)?, gpu.download(&pd)?);
        q.copy_from_slice(&qh);
        p.copy_from_slice(&ph);
        Ok(())
    }

    /// `x ← Q·2^−frac` (kernel `ode_fixed_to_real_f32`).
    fn fixed_to_real(&self, q: &CudaSlice<i64>, frac: u32, x: &mut CudaSlice<f32>) -> Result<()> {
        check_len("x", q.len(), x.len())?;
        let n = q.len();
        let func = self.gpu.function("ode_fixed_to_real_f32")?;
        let mut b = self.gpu.stream().launch_builder(&func);
        b.arg(&n).arg(q).arg(&frac).arg(x);
        // SAFETY: signature (n, x, frac, y) of `ode_fixed_to_real_f32`; x, y = n elements.
        unsafe { b.launch(self.cfg(n)) }?;
        Ok(())
    }

    /// `P += [c·f·2^frac]` (kernel `ode_fixed_kick_f32`; overflow recorded in `err`).
    fn fixed_kick(
        &self,
        p: &mut CudaSlice<i64>,
        f: &CudaSlice<f32>,
        c: f32,
        frac: u32,
        step: u64,
        err: &mut CudaSlice<u64>,
    ) -> Result<()> {
        check_len("f", p.len(), f.len())?;
        check_len("err", 1, err.len())?;
        let n = p.len();
        let func = self.gpu.function("ode_fixed_kick_f32")?;
        let mut b = self.gpu.stream().launch_builder(&func);
        b.arg(&n)
            .arg(p)
            .arg(f)
            .arg(&c)
            .arg(&frac)
            .arg(&step)
            .arg(err);
        // SAFETY: signature (n, p, f, c, frac, step, err) of `ode_fixed_kick_f32`; p, f = n
        // elements, err = 1.
        unsafe { b.launch(self.cfg(n)) }?;
        Ok(())
    }

    /// `Q += [c·P]` (kernel `ode_fixed_drift_f32`; overflow recorded in `err`).
    fn fixed_drift(
        &self,
        q: &mut CudaSlice<i64>,
        p: &CudaSlice<i64>,
        c: f32,
        step: u64,
        err: &mut CudaSlice<u64>,
    ) -> Result<()> {
        check_len("p", q.len(), p.len())?;
        check_len("err", 1, err.len())?;
        let n = q.len();
        let func = self.gpu.function("ode_fixed_drift_f32")?;
        let mut b = self.gpu.stream().launch_builder(&func);
        b.arg(&n).arg(q).arg(p).arg(&c).arg(&step).arg(err);
        // SAFETY: signature (n, q, p, c, step, err) of `ode_fixed_drift_f32`; q, p = n
        // elements, err = 1.
        unsafe { b.launch(self.cfg(n)) }?;
        Ok(())
    }

    /// `max |a − b|` (NaN if either holds NaN; synchronises).
    ///
    /// # Errors
    /// Length mismatches, launch or copy errors.
    pub fn max_abs_diff(&mut self, a: &CudaView<'_, f32>, b: &CudaView<'_, f32>) -> Result<f32> {
        check_len("b", a.len(), b.len())?;
        let n = a.len();
        self.gpu.stream().memcpy_htod(&[0u32], &mut *self.maxw)?;
        let func = self.gpu.function("ode_max_abs_diff_f32")?;
        let cfg = self.cfg(n);
        let mut l = self.gpu.stream().launch_builder(&func);
        l.arg(&n).arg(a).arg(b).arg(&mut *self.maxw);
        // SAFETY: signature (n, a, b, out); a, b = n, out = 1 word.
        unsafe { l.launch(cfg) }?;
        Ok(f32::from_bits(self.gpu.download(&self.maxw)?[0]))
    }

    /// `max |a|` (NaN or ∞ if present; synchronises).
    ///
    /// # Errors
    /// Launch or copy errors.
    pub fn max_abs(&mut self, a: &CudaView<'_, f32>) -> Result<f32> {
        let n = a.len();
        self.gpu.stream().memcpy_htod(&[0u32], &mut *self.maxw)?;
        let func = self.gpu.function("ode_max_abs_f32")?;
        let cfg = self.cfg(n);
        let mut l = self.gpu.stream().launch_builder(&func);
        l.arg(&n).arg(a).arg(&mut *self.maxw);
        // SAFETY: signature (n, a, out); a = n, out = 1 word.
        unsafe { l.launch(cfg) }?;
        Ok(f32::from_bits(self.gpu.download(&self.maxw)?[0]))
    }

    /// `Err(NonFiniteState { step })` unless `q` and `p` are finite (synchronises).
    ///
    /// # Errors
    /// As described, or launch errors.
    pub fn check_finite(
        &mut self,
        q: &CudaSlice<f32>,
        p: &CudaSlice<f32>,
        step: usize,
    ) -> Result<()> {
        let a = self.max_abs(&q.slice(..))?.max(self.max_abs(&p.slice(..))?);
        if a.is_finite() {
            Ok(())
        } else {
            Err(OdeError::NonFiniteState { step }.into())
        }
    }
}

/// Grid-stride launch configuration for `n` elements.
fn launch_cfg(gpu: &Gpu, n: usize) -> LaunchConfig {
    let blocks = n
        .div_ceil(THREADS as usize)
        .clamp(1, gpu.sm_count().max(1) * 32);
    LaunchConfig {
        grid_dim: (blocks as u32, 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// `C = α·op(A)·op(B)` with f16 `A`, `B`, f32 `C`, f32 accumulation (`cublasGemmEx`,
/// `CUBLAS_COMPUTE_32F`), column-major as [`gemm_raw`].
#[allow(clippy::too_many_arguments)]
fn gemm_f16<A: DevicePtr<f16>, B: DevicePtr<f16>, C: DevicePtrMut<f32>>(
    gpu: &Gpu,
    blas: &CudaBlas,
    ((ta, tb), (m, n, k)): ((bool, bool), (usize, usize, usize)),
    alpha: f32,
    (a, lda): (&A, usize),
    (b, ldb): (&B, usize),
    (c, ldc): (&mut C, usize),
) -> Result<()> {
    use cudarc::cublas::sys::{cublasComputeType_t, cublasGemmAlgo_t, cudaDataType_t};
    let op = |t: bool| {
        if t {
            cublasOperation_t::CUBLAS_OP_T
        } else {
            cublasOperation_t::CUBLAS_OP_N
        }
    };
    let beta = 0.0f32;
    let stream = gpu.stream();
    let (ap, _ra) = a.device_ptr(stream);
    let (bp, _rb) = b.device_ptr(stream);
    let (cp, _rc) = c.device_ptr_mut(stream);
    // SAFETY: as `gemm_raw`: the callers pass the f16 copies of W1 (h·d) and of a tile
    // (≥ mt·d or mt·h) and an f32 destination of the product's size; sizes below i32::MAX
    // (checked in `OdeGpu::new`); alpha, beta live until the call returns (it is enqueued
    // with the scalars read on the host, pointer mode host).
    unsafe {
        cudarc::cublas::result::gemm_ex(
            *blas.handle(),
            op(ta),
            op(tb),
            m as i32,
            n as i32,
            k as i32,
            (&alpha) as *const f32 as *const _,
            ap as *const _,
            cudaDataType_t::CUDA_R_16F,
            lda as i32,
            bp as *const _,
            cudaDataType_t::CUDA_R_16F,
            ldb as i32,
            (&beta) as *const f32 as *const _,
            cp as *mut _,
            cudaDataType_t::CUDA_R_32F,
            ldc as i32,
            cublasComputeType_t::CUBLAS_COMPUTE_32F,
            cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
        )
    }
    .map_err(blas_err)
}

/// GEMM on a borrowed handle (so that the destination may borrow another field).
#[allow(clippy::too_many_arguments)]
fn gemm_raw<A: DevicePtr<f32>, B: DevicePtr<f32>, C: DevicePtrMut<f32>>(
    blas: &CudaBlas,
    ((ta, tb), (m, n, k)): ((bool, bool), (usize, usize, usize)),
    alpha: f32,
    (a, lda): (&A, usize),
    (b, ldb): (&B, usize),
    beta: f32,
    (c, ldc): (&mut C, usize),
) -> Result<()> {
    let op = |t: bool| {
        if t {
            cublasOperation_t::CUBLAS_OP_T
        } else {
            cublasOperation_t::CUBLAS_OP_N
        }
    };
    let cfg = GemmConfig {
        transa: op(ta),
        transb: op(tb),
        m: m as i32,
        n: n as i32,
        k: k as i32,
        alpha,
        lda: lda as i32,
        ldb: ldb as i32,
        beta,
        ldc: ldc as i32,
    };
    // SAFETY: every caller passes buffers that hold the column-major operands with the given
    // sizes and leading dimensions (q, p, f, λ, μ = m·d; hidden tiles ≥ tile·h; W1 = h·d;
    // gradient ≥ h·d), all sizes below i32::MAX (checked in `OdeGpu::new`).
    unsafe { blas.gemm(cfg, a, b, c) }.map_err(blas_err)
}

/// Where the Hessian–vector stage of a tile takes `W1 x + b1` from.
#[derive(Clone, Copy)]
enum Act<'a, 'b> {
    /// Recompute `W1 x` (the stage adds `b1`).
    Recompute,
    /// Copy the stored activations of the tile.
    Copy(&'a CudaView<'b, f32>),
    /// Already in the `t` buffer (the force stage of the same pass stored them there).
    InT,
}

/// The adjoint's work at a state boundary of [`OdeGpu::pass`]: `mu += c·K(q)λ`,
/// `g += c·∇_θ Σ_i ⟨∇V(q_i), λ_i⟩`, then `λ += lam_dt·μ` (skipped when `lam_dt = 0`).
#[derive(Debug)]
pub struct Hvp<'a> {
    /// `λ_p` (`m × d`).
    pub lam: &'a mut CudaSlice<f32>,
    /// `μ` (`m × d`).
    pub mu: &'a mut CudaSlice<f32>,
    /// Parameter gradient (`[W1 | b1 | w2 | b2]`).
    pub g: &'a mut CudaSlice<f32>,
    /// Weight of the product (both the `μ` and the `g` update).
    pub c: f32,
    /// Step of the `λ` update after the product.
    pub lam_dt: f32,
}

/// Hooks of [`OdeGpu::pass`] on the completed state `x_k` (each optional).
#[derive(Debug, Default)]
pub struct AtState<'a> {
    /// Store `W1 q_k + b1` to `acts[off..off + m·h]`.
    pub acts: Option<(&'a mut CudaSlice<f32>, usize)>,
    /// Copy `q_k` to `tape[off..off + m·d]` and `p_k` to `tape[off + m·d..off + 2m·d]`.
    pub tape: Option<(&'a mut CudaSlice<f32>, usize)>,
    /// The adjoint's Hessian–vector product at `q_k` and `λ` update.
    pub hvp: Option<Hvp<'a>>,
}

/// Result of [`integrate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Integrated {
    /// Final positions (`m × d`).
    pub q: Vec<f32>,
    /// Final momenta (`m × d`).
    pub p: Vec<f32>,
    /// Energy trajectory `H[k·m + i]`, `(steps + 1) × m` (if asked).
    pub energy: Option<Vec<f32>>,
    /// Peak bytes allocated through muse-gpu during the call.
    pub peak_bytes: usize,
}

/// Float Leapfrog of `(q0, p0)` (`m × d`) for `steps` steps of `dt` on the GPU, with the MLP
/// potential `params` (`[W1 | b1 | w2 | b2]`, width `h`), as `muse_core::integrator::leapfrog`
/// (f32). `steps = 0` is the identity. With `energy`, also `H(q_k, p_k)` for every step.
///
/// # Errors
/// [`GpuError::LengthMismatch`] for shapes, [`GpuError::Ode`] for bad parameters, `dt`,
/// non-finite input or a trajectory that becomes non-finite (reported at the last step:
/// finiteness is checked once, at the end), out of memory, driver or cuBLAS errors.
#[allow(clippy::too_many_arguments)]
pub fn integrate(
    gpu: &Gpu,
    d: usize,
    h: usize,
    params: &[f32],
    q0: &[f32],
    p0: &[f32],
    dt: f32,
    steps: usize,
    energy: bool,
) -> Result<Integrated> {
    integrate_with(gpu, d, h, params, q0, p0, dt, steps, energy, Storage::F32)
}

/// [`integrate`] with the force's GEMM operands stored as `storage` ([`Storage::F16`]: f16
/// operands, f32 accumulation; states, energies and all element-wise work stay f32).
///
/// # Errors
/// As [`integrate`].
#[allow(clippy::too_many_arguments)]
pub fn integrate_with(
    gpu: &Gpu,
    d: usize,
    h: usize,
    params: &[f32],
    q0: &[f32],
    p0: &[f32],
    dt: f32,
    steps: usize,
    energy: bool,
    storage: Storage,
) -> Result<Integrated> {
    if d == 0 || h == 0 {
        return Err(OdeError::BadConfig.into());
    }
    let m = batch(d, q0, p0)?;
    check_dt(dt)?;
    let base = gpu.tracker().current_bytes();
    gpu.tracker().reset_peak();
    let mut e = OdeGpu::new(gpu, d, h, params, m, None)?.with_storage(storage)?;
    let mut q = gpu.upload(q0)?;
    let mut p = gpu.upload(p0)?;
    let mut f = gpu.alloc::<f32>(m * d)?;
    let mut v = if energy {
        Some(gpu.alloc::<f32>(m)?)
    } else {
        None
    };
    let mut trace = Vec::new();
    let rec = |e: &OdeGpu<'_>,
               p: &DeviceBuffer<f32>,
               v: &mut Option<DeviceBuffer<f32>>,
               trace: &mut Vec<f32>|
     -> Result<()> {
        if let Some(v) = v.as_mut() {
            e.energy_finish(p, v)?;
            trace.extend(gpu.download(v)?);
        }
        Ok(())
    };
    if steps > 0 || energy {
        e.force(&q.slice(..), &mut f, None, v.as_deref_mut())?;
        rec(&e, &p, &mut v, &mut trace)?;
        for _ in 0..steps {
            e.step(&mut q, &mut p, &mut f, dt, None, v.as_deref_mut())?;
            rec(&e, &p, &mut v, &mut trace)?;
        }
        e.check_finite(&q, &p, steps)?;
    }
    let out = Integrated {
        q: gpu.download(&q)?,
        p: gpu.download(&p)?,
        energy: energy.then_some(trace),
        peak_bytes: gpu.tracker().peak_bytes() - base,
    };
    Ok(out)
}

/// Fixed-point Leapfrog (`frac` fraction bits) of the integer batch `(q0, p0)` (`m × d`,
/// e.g. from `muse_core::integrator::to_fixed`) for `steps` steps of `dt` on the GPU, with
/// the MLP potential `params` (width `h`): [`OdeGpu::integrate_fixed`] on a fresh
/// [`OdeGpu`] with the default tile. Returns the final `(Q, P)`.
///
/// # Errors
/// `d = 0` or `h = 0` ([`OdeError::BadConfig`]), `q0` not a whole number of particles or
/// `p0` of another length ([`GpuError::LengthMismatch`]), the potential's errors, and those
/// of [`OdeGpu::integrate_fixed`].
#[allow(clippy::too_many_arguments)]
pub fn integrate_fixed(
    gpu: &Gpu,
    d: usize,
    h: usize,
    params: &[f32],
    q0: &[i64],
    p0: &[i64],
    frac: u32,
    dt: f32,
    steps: usize,
) -> Result<(Vec<i64>, Vec<i64>)> {
    if d == 0 || h == 0 {
        return Err(OdeError::BadConfig.into());
    }
    if q0.is_empty() || q0.len() % d != 0 {
        return Err(GpuError::LengthMismatch {
            arg: "q0",
            expected: (q0.len() / d).max(1) * d,
            found: q0.len(),
        });
    }
    check_len("p0", q0.len(), p0.len())?;
    let mut e = OdeGpu::new(gpu, d, h, params, q0.len() / d, None)?;
    let (mut q, mut p) = (q0.to_vec(), p0.to_vec());
    e.integrate_fixed(&mut q, &mut p, frac, dt, steps)?;
    Ok((q, p))
}

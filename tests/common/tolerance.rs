//! The tolerance table, keyed by (operation, storage type), as libm-test's `precision.rs`
//! keys ULP budgets by function. Every entry is a bound on the **relative L2 error of one
//! row** (`‖x − x_ref‖₂ / ‖x_ref‖₂`) against the float64 reference named in the test, for
//! the input families of `tests/resolvent.rs` (moderately conditioned: `|Im z| ≥ 0.3` or
//! `k > 0`, `N ≤ 512`). The accuracy targets for ill-conditioned inputs are asserted
//! separately, with their own figures, in `resolvent::accuracy_*`.

/// What is being compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `diag (T − zI)⁻¹` vs the dense inverse.
    Diag,
    /// The causal feature `1/r_i` vs the dense inverse of each leading block.
    Causal,
    /// The O(N) VJP (a, b, c and z̄ stacked) vs the dense gradient formula.
    Vjp,
    /// The causal VJP vs its dense formula.
    CausalVjp,
    /// The O(N) VJP (computed in f64) vs 4th-order central finite differences of the f64
    /// reference (the FD error itself dominates).
    VjpFd,
    /// Chunked (transfer-matrix / affine-scan) vs sequential, same dtype.
    Chunked,
}

/// The storage types under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// `f64` storage, `f64` compute.
    F64,
    /// `f32` storage, `f32` compute.
    F32,
    /// `f16` storage (inputs and outputs rounded to f16), `f32` compute.
    F16,
}

/// The bound for `(op, dtype)`. Rationale:
/// - f64: the ratio form loses about `κ·ε` with `ε = 1.1e-16`; `1e-12` leaves room for the
///   condition numbers of these families (the dense reference has the same order of error).
/// - f32: `ε = 6e-8`, and the same growth: `1e-4` for moderately conditioned rows.
/// - f16: outputs are rounded to f16 (`2⁻¹¹ ≈ 4.9e-4` relative per part), so `1e-3`;
///   the inputs are rounded to f16 *before* the reference sees them (same matrix).
/// - Chunked: reassociating the products changes rounding only, `1e-10` (f64) / `2e-4` (f32).
/// - VjpFd: the 4th-order FD with `h = 1e-3` has error `O(h⁴)` and `O(ε/h)`: `1e-7`.
pub fn tol(op: Op, dtype: Dtype) -> f64 {
    use Dtype::*;
    use Op::*;
    match (op, dtype) {
        (Diag | Causal, F64) => 1e-12,
        (Vjp | CausalVjp, F64) => 1e-11,
        (VjpFd, F64) => 1e-7,
        (Chunked, F64) => 1e-10,
        (Diag | Causal, F32) => 1e-4,
        (Vjp | CausalVjp, F32) => 1e-3,
        (Chunked, F32) => 2e-4,
        (Diag | Causal, F16) => 1e-3,
        (Vjp | CausalVjp | Chunked, F16) => 5e-3,
        (VjpFd, F32 | F16) => panic!("finite differences are taken in f64 only"),
    }
}

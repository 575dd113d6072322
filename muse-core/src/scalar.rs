//! Scalar types: a *compute* type ([`Real`]) and a *storage* type ([`Scalar`]).
//!
//! Data may be stored in `f16`, `bf16`, `f32` or `f64`; arithmetic always happens in the
//! storage type's [`Scalar::Real`] (`f32` for the half types and `f32`, `f64` for `f64`).
//! Values are widened once on load ([`Scalar::to_real`]) and narrowed once on store
//! ([`Scalar::from_real`]), as candle's `f16`-storage / `f32`-accumulator kernels do.
//!
//! Every transcendental function goes through [`libm`], with or without `std`, so `std`
//! and `no_std` builds give bit-identical results.
//!
//! ```
//! use muse_core::scalar::{Real, Scalar};
//! use half::f16;
//! let x = f16::from_f32(1.5);
//! let y: f32 = x.to_real() * 2.0;
//! assert_eq!(f16::from_real(y), f16::from_f32(3.0));
//! assert_eq!(<f64 as Real>::ONE + <f64 as Real>::ONE, 2.0);
//! ```

use core::fmt::{Debug, Display};
use core::ops::{AddAssign, DivAssign, MulAssign, Neg, SubAssign};

/// A real compute type: `f32` or `f64`.
///
/// The associated constants follow libm's internal `Float` trait; the methods are thin
/// wrappers over [`libm`] so that results do not depend on the `std` feature.
pub trait Real:
    Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + num_traits::Num
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Send
    + Sync
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// 2.
    const TWO: Self;
    /// 1/2.
    const HALF: Self;
    /// Machine epsilon (distance from 1 to the next larger value).
    const EPSILON: Self;
    /// Smallest positive normal value.
    const MIN_POSITIVE: Self;
    /// Largest finite value.
    const MAX: Self;
    /// A quiet NaN (the poison of the branch-free fast paths).
    const NAN: Self;
    /// Number of bits of the type (32 or 64).
    const BITS: u32;
    /// Name used in reports and kernel symbols (`"f32"`, `"f64"`).
    const NAME: &'static str;

    /// Converts from `f64` (rounding to nearest).
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Converts from `f32`.
    fn from_f32(x: f32) -> Self;
    /// Converts from a `usize` count (rounding to nearest).
    fn from_usize(n: usize) -> Self;
    /// |x|.
    fn abs(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// eˣ.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// The error function.
    fn erf(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// `self * a + b` with one rounding (libm's `fma`; the `fma.rn` instruction on the GPU,
    /// which gives the same bits).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `1/self`, correctly rounded, for `|self|` within `[2^{MIN_EXP+6}, 2^{MAX_EXP−8}]`
    /// (f32: `[2⁻¹¹⁹, 2¹²⁰]`); unspecified outside it (callers discard the value there). On
    /// the CPU it is `1/self`; on the GPU (f32) it is the division's own common path — the
    /// hardware reciprocal estimate and one fused Newton step, the instructions `ptxas` emits
    /// for `1/x` in that range — without the branch to its out-of-range fix-up, so the same
    /// bits.
    fn recip_normal(self) -> Self;
    /// Whether the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// The larger of two values (NaN-ignoring, as IEEE `maxNum`).
    fn max(self, other: Self) -> Self;
    /// The smaller of two values (NaN-ignoring, as IEEE `minNum`).
    fn min(self, other: Self) -> Self;
    /// The smaller of two values, the other one when either is NaN (as [`Real::min`]), by
    /// `core`'s `min` (LLVM's `minnum`: one `min` instruction on the GPU, where libm's is a
    /// sequence of compares). The sign of a zero result is unspecified when the inputs are
    /// zeros of opposite signs.
    fn min_num(self, other: Self) -> Self;
    /// Rounds half away from zero to an integer value.
    fn round(self) -> Self;
    /// `x · 2ⁿ`, exact unless it over- or underflows.
    fn scalbn(self, n: i32) -> Self;
    /// The binary exponent `e` with `|x| ∈ [2^(e−1), 2^e)` (0 for 0, non-finite inputs).
    fn exponent(self) -> i32;
    /// The normalising factor `2^{−e}` of the largest magnitude among `xs`
    /// (`2^{e−1} ≤ max |x_i| < 2^e`, as [`Real::exponent`]), found from the bit patterns with
    /// an integer maximum and no branch, when that maximum is a normal number and `2^{−e}` is
    /// normal too; [`Real::NAN`] otherwise (all zero, a subnormal or huge maximum, ±∞, NaN).
    /// So `x · pow2_normaliser(xs)` is exactly `x.scalbn(−e)` or NaN.
    fn pow2_normaliser<const K: usize>(xs: [Self; K]) -> Self;
    /// The balancing factor `2^{−e}` of two groups of magnitudes: the smallest `e` with
    /// `|x| < 2^e` for `x` among `xs` and `x0`, and `|y| < 4^e` for `y` among `ys` and `y0`
    /// (so `x · 2^{−e}` and `y · 4^{−e}` are below 1 in magnitude), found from the bit
    /// patterns with no branch (subnormal parts count as 0, ∞ and NaN as huge); [`Real::NAN`]
    /// when `e` falls outside `[−60, 60]` (then `2^{−2e}` might not be normal in f32).
    /// Scaling a tridiagonal matrix's diagonal by it and its products `k = b·c` by its square
    /// keeps the minors of a few steps in range.
    fn pow2_balance<const K: usize>(xs: [Self; K], x0: Self, ys: [Self; K], y0: Self) -> Self;
}

macro_rules! impl_real {
    ($t:ty, $bt:ty, $mant:expr, $bits:expr, $name:expr, $abs:path, $sqrt:path, $exp:path, $ln:path, $erf:path,
     $tanh:path, $fma:path, $fmahw:path, $rcphw:path, $fmax:path, $fmin:path, $round:path,
     $scalbn:path, $absmax:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const TWO: Self = 2.0;
            const HALF: Self = 0.5;
            const EPSILON: Self = <$t>::EPSILON;
            const MIN_POSITIVE: Self = <$t>::MIN_POSITIVE;
            const MAX: Self = <$t>::MAX;
            const NAN: Self = <$t>::NAN;
            const BITS: u32 = $bits;
            const NAME: &'static str = $name;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_f32(x: f32) -> Self {
                x as $t
            }
            #[inline(always)]
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            #[inline(always)]
            fn abs(self) -> Self {
                // Clearing the sign bit is `fabs` exactly; done inline because the libm call
                // is not inlined and sits on the resolvent's critical path.
                let _ = $abs;
                <$t>::from_bits(self.to_bits() & !(1 << ($bits - 1)))
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $sqrt(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $ln(self)
            }
            #[inline(always)]
            fn erf(self) -> Self {
                $erf(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                // Both are the correctly rounded `self · a + b`, so both give the same bits:
                // the GPU's `fma.rn` instruction, libm's software routine elsewhere.
                #[cfg(target_arch = "nvptx64")]
                {
                    $fmahw(self, a, b)
                }
                #[cfg(not(target_arch = "nvptx64"))]
                {
                    $fma(self, a, b)
                }
            }
            #[inline(always)]
            fn recip_normal(self) -> Self {
                #[cfg(target_arch = "nvptx64")]
                {
                    $rcphw(self)
                }
                #[cfg(not(target_arch = "nvptx64"))]
                {
                    1.0 / self
                }
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                $fmax(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                $fmin(self, other)
            }
            #[inline(always)]
            fn min_num(self, other: Self) -> Self {
                <$t>::min(self, other)
            }
            #[inline(always)]
            fn round(self) -> Self {
                $round(self)
            }
            #[inline(always)]
            fn scalbn(self, n: i32) -> Self {
                // In range, `2^n` is a normal number and libm's result is the single correctly
                // rounded product `x · 2^n`: the same bits, without the call.
                if (<$t>::MIN_EXP - 1..<$t>::MAX_EXP).contains(&n) {
                    self * <$t>::from_bits(((<$t>::MAX_EXP - 1 + n) as $bt) << $mant)
                } else {
                    // Out of line: rare, and kept out of the unrolled GPU loops' code.
                    #[cold]
                    #[inline(never)]
                    fn slow(x: $t, n: i32) -> $t {
                        $scalbn(x, n)
                    }
                    slow(self, n)
                }
            }
            #[inline(always)]
            fn exponent(self) -> i32 {
                // Bit-level `frexp(x).1` (libm's is recursive for subnormals, so it is a real
                // call on the GPU); 0 for 0 and non-finite inputs.
                let bits = self.to_bits();
                let ee = ((bits >> ($mant)) & ((1 << ($bits - 1 - $mant)) - 1)) as i32;
                let frac = bits & ((1 << ($mant)) - 1);
                if ee == 2 * <$t>::MAX_EXP - 1 {
                    0 // ∞ and NaN
                } else if ee == 0 {
                    if frac == 0 {
                        0
                    } else {
                        // |x| = frac · 2^(MIN_EXP − 1 − mant): e = bit length − (mant − MIN_EXP + 1).
                        ($bits - frac.leading_zeros()) as i32 - ($mant) + <$t>::MIN_EXP - 1
                    }
                } else {
                    ee - (<$t>::MAX_EXP - 2)
                }
            }
            #[inline(always)]
            fn pow2_balance<const K: usize>(
                xs: [Self; K],
                x0: Self,
                ys: [Self; K],
                y0: Self,
            ) -> Self {
                let mag = <$bt>::MAX >> 1;
                let (mut mx, mut my) = (x0.to_bits() & mag, y0.to_bits() & mag);
                // Pairs first, as `pow2_normaliser`.
                let mut i = 0;
                while i + 1 < K {
                    let (bx, by) = ($absmax(xs[i], xs[i + 1]), $absmax(ys[i], ys[i + 1]));
                    mx = if bx > mx { bx } else { mx };
                    my = if by > my { by } else { my };
                    i += 2;
                }
                if i < K {
                    let (bx, by) = (xs[i].to_bits() & mag, ys[i].to_bits() & mag);
                    mx = if bx > mx { bx } else { mx };
                    my = if by > my { by } else { my };
                }
                // |x| < 2^{ee − (MAX_EXP − 2)} for the biased exponent `ee` of a normal x.
                let bias = <$t>::MAX_EXP - 2;
                let ex = (mx >> ($mant)) as i32 - bias;
                let ey = (my >> ($mant)) as i32 - bias;
                // 4^e > |y| ⇔ e ≥ ⌈ey/2⌉ (an arithmetic shift rounds towards −∞).
                let ey2 = (ey + 1) >> 1;
                let e = if ex > ey2 { ex } else { ey2 };
                let s = <$t>::from_bits(((<$t>::MAX_EXP - 1 - e) as $bt) << ($mant));
                #[allow(clippy::manual_range_contains)] // two comparisons, no range object
                let fast = e >= -60 && e <= 60;
                if fast {
                    s
                } else {
                    <$t>::NAN
                }
            }
            #[inline(always)]
            fn pow2_normaliser<const K: usize>(xs: [Self; K]) -> Self {
                // For non-negative floats the order of the bit patterns is the order of the
                // values (∞ and NaN above every finite value).
                // An indexed loop: an array's by-value iterator is not always taken apart
                // into registers on the GPU.
                // Pairs first ([`abs_max_bits`]: one instruction on the GPU).
                let mut m: $bt = 0;
                let mut i = 0;
                while i + 1 < K {
                    let b = $absmax(xs[i], xs[i + 1]);
                    m = if b > m { b } else { m };
                    i += 2;
                }
                if i < K {
                    let b = xs[i].to_bits() & (<$bt>::MAX >> 1);
                    m = if b > m { b } else { m };
                }
                // Biased exponent `ee` of the maximum: e = ee − (MAX_EXP − 2), and 2^{−e} has
                // the biased exponent 2·MAX_EXP − 3 − ee, normal for 1 ≤ ee ≤ 2·MAX_EXP − 4.
                let ee = (m >> ($mant)) as i32;
                let be = 2 * <$t>::MAX_EXP - 3 - ee;
                let s = <$t>::from_bits(((be & (2 * <$t>::MAX_EXP - 1)) as $bt) << ($mant));
                // Two comparisons, as the GPU code was measured with.
                #[allow(clippy::manual_range_contains)]
                let fast = ee >= 1 && ee <= 2 * <$t>::MAX_EXP - 4;
                if fast {
                    s
                } else {
                    <$t>::NAN
                }
            }
        }
    };
}

/// The larger of the bit patterns of `|a|` and `|b|` (sign bits cleared): for non-negative
/// floats the order of the bit patterns is the order of the values, with ∞ and NaN above
/// every finite value, so the maximum of a list of such patterns tells its largest
/// magnitude, or that some entry is not finite. On the GPU (sm_90) one instruction,
/// `max.NaN.f32` of the magnitudes (`FMNMX.NAN` with `|·|` operands), which gives the
/// same pattern for finite inputs and a NaN (also above every finite pattern) when either
/// is NaN; elsewhere two masks and an integer maximum.
#[inline(always)]
fn abs_max_bits_f32(a: f32, b: f32) -> u32 {
    #[cfg(all(target_arch = "nvptx64", target_feature = "sm_90"))]
    {
        // Non-negative, or the canonical NaN `0x7fffffff`: no sign bit to clear.
        nvptx::abs_max_f32(a, b).to_bits()
    }
    #[cfg(not(all(target_arch = "nvptx64", target_feature = "sm_90")))]
    {
        let (x, y) = (a.to_bits() & (u32::MAX >> 1), b.to_bits() & (u32::MAX >> 1));
        if x > y {
            x
        } else {
            y
        }
    }
}

/// [`abs_max_bits_f32`] for `f64` (masks and an integer maximum everywhere).
#[inline(always)]
fn abs_max_bits_f64(a: f64, b: f64) -> u64 {
    let (x, y) = (a.to_bits() & (u64::MAX >> 1), b.to_bits() & (u64::MAX >> 1));
    if x > y {
        x
    } else {
        y
    }
}

/// The GPU's instruction sequences behind [`Real::recip_normal`] and [`abs_max_bits_f32`].
#[cfg(target_arch = "nvptx64")]
mod nvptx {
    /// `1/x` as `ptxas` computes `div.rn.f32 1.0, x` when `x` is in its common range: the
    /// reciprocal estimate `r = rcp.approx(x)`, the residual `e = fma(x, r, −1)` and
    /// `fma(r, −e, r)`, which is correctly rounded there. No branch.
    #[inline(always)]
    pub(super) fn rcp_f32(x: f32) -> f32 {
        let r: f32;
        // SAFETY: register-only arithmetic.
        unsafe {
            core::arch::asm!(
                "{{ .reg .f32 e, r0;",
                "rcp.approx.ftz.f32 r0, {x};",
                "fma.rn.f32 e, {x}, r0, 0fBF800000;",
                "neg.f32 e, e;",
                "fma.rn.f32 {r}, r0, e, r0; }}",
                x = in(reg32) x,
                r = out(reg32) r,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        r
    }

    /// `max(|a|, |b|)`, NaN when either is NaN (`max.NaN.f32`, sm_80 and later).
    #[cfg(target_feature = "sm_90")]
    #[inline(always)]
    pub(super) fn abs_max_f32(a: f32, b: f32) -> f32 {
        let r: f32;
        // SAFETY: register-only arithmetic.
        unsafe {
            core::arch::asm!(
                "{{ .reg .f32 x, y;",
                "abs.f32 x, {a};",
                "abs.f32 y, {b};",
                "max.NaN.f32 {r}, x, y; }}",
                a = in(reg32) a,
                b = in(reg32) b,
                r = out(reg32) r,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        r
    }

    /// `1/x` (f64 is only a reference type: the plain division).
    #[inline(always)]
    pub(super) fn rcp_f64(x: f64) -> f64 {
        1.0 / x
    }
}

impl_real!(
    f32,
    u32,
    23,
    32,
    "f32",
    libm::fabsf,
    libm::sqrtf,
    libm::expf,
    libm::logf,
    libm::erff,
    libm::tanhf,
    libm::fmaf,
    core::f32::math::mul_add,
    nvptx::rcp_f32,
    libm::fmaxf,
    libm::fminf,
    libm::roundf,
    libm::scalbnf,
    abs_max_bits_f32
);
impl_real!(
    f64,
    u64,
    52,
    64,
    "f64",
    libm::fabs,
    libm::sqrt,
    libm::exp,
    libm::log,
    libm::erf,
    libm::tanh,
    libm::fma,
    core::f64::math::mul_add,
    nvptx::rcp_f64,
    libm::fmax,
    libm::fmin,
    libm::round,
    libm::scalbn,
    abs_max_bits_f64
);

/// A storage type: how numbers sit in memory. Arithmetic happens in [`Scalar::Real`].
pub trait Scalar: Copy + Default + Debug + PartialEq + Send + Sync + 'static {
    /// The compute type this storage type widens to.
    type Real: Real;
    /// Name used in reports and kernel symbols (`"f16"`, `"bf16"`, `"f32"`, `"f64"`).
    const NAME: &'static str;
    /// Widens to the compute type (exact).
    fn to_real(self) -> Self::Real;
    /// Narrows from the compute type (round to nearest even; overflow gives ±∞).
    fn from_real(x: Self::Real) -> Self;
}

impl Scalar for f32 {
    type Real = f32;
    const NAME: &'static str = "f32";
    #[inline(always)]
    fn to_real(self) -> f32 {
        self
    }
    #[inline(always)]
    fn from_real(x: f32) -> Self {
        x
    }
}

impl Scalar for f64 {
    type Real = f64;
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn to_real(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_real(x: f64) -> Self {
        x
    }
}

impl Scalar for half::f16 {
    type Real = f32;
    const NAME: &'static str = "f16";
    #[inline(always)]
    fn to_real(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn from_real(x: f32) -> Self {
        half::f16::from_f32(x)
    }
}

impl Scalar for half::bf16 {
    type Real = f32;
    const NAME: &'static str = "bf16";
    #[inline(always)]
    fn to_real(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn from_real(x: f32) -> Self {
        half::bf16::from_f32(x)
    }
}

#[cfg(test)]
mod tests {
    use super::Real;

    /// SplitMix64: a deterministic stream of bit patterns (no dependency in `no_std`).
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn same<T: Real>(x: T, y: T) -> bool {
        // NaN payloads aside, bit-identical (the sign of zero included).
        (x.to_f64().is_nan() && y.to_f64().is_nan())
            || (x == y && (x.to_f64().is_sign_negative() == y.to_f64().is_sign_negative()))
    }

    macro_rules! bit_level_matches_libm {
        ($name:ident, $t:ty, $bt:ty, $frexp:path, $scalbn:path, $ns:expr) => {
            #[test]
            fn $name() {
                let mut st = 0x5eed_u64;
                let vals: [$t; 18] = [
                    0.0,
                    -0.0,
                    <$t>::INFINITY,
                    <$t>::NEG_INFINITY,
                    <$t>::NAN,
                    <$t>::MIN_POSITIVE,
                    -<$t>::MIN_POSITIVE,
                    <$t>::MAX,
                    <$t>::MIN,
                    <$t>::from_bits(1),
                    -<$t>::from_bits(1),
                    <$t>::MIN_POSITIVE - <$t>::from_bits(1),
                    1.0,
                    -1.0,
                    0.5,
                    <$t>::EPSILON,
                    3.0,
                    -0.75,
                ];
                let check = |x: $t, st: &mut u64| {
                    let e = if x == 0.0 || !x.is_finite() {
                        0
                    } else {
                        $frexp(x).1
                    };
                    assert_eq!(Real::exponent(x), e, "exponent({x:e})");
                    for n in $ns {
                        let (f, l) = (Real::scalbn(x, n), $scalbn(x, n));
                        assert!(same(f, l), "scalbn({x:e}, {n}) = {f:e}, libm {l:e}");
                    }
                    let n = (splitmix(st) % 5000) as i32 - 2500;
                    assert!(
                        same(Real::scalbn(x, n), $scalbn(x, n)),
                        "scalbn({x:e}, {n})"
                    );
                };
                for x in vals {
                    check(x, &mut st);
                }
                for i in 0..30_000 {
                    let r = splitmix(&mut st);
                    // Random bits (every exponent), subnormals, and values near 1.
                    let x = match i % 3 {
                        0 => <$t>::from_bits(r as $bt),
                        1 => <$t>::from_bits((r as $bt) & ((1 << (<$t>::MANTISSA_DIGITS - 1)) - 1)),
                        _ => <$t>::from_bits(r as $bt) % 4.0,
                    };
                    check(x, &mut st);
                }
            }
        };
    }

    /// The largest magnitude's bit pattern, one entry at a time (the definition the paired
    /// `pow2_normaliser` / `pow2_balance` must match).
    fn max_mag_bits(xs: &[f32]) -> u32 {
        xs.iter()
            .map(|x| x.to_bits() & 0x7fff_ffff)
            .max()
            .unwrap_or(0)
    }

    /// `pow2_normaliser` from its definition: `2^{−e}` for the largest magnitude's exponent,
    /// NaN outside the normal range.
    fn normaliser_ref(xs: &[f32]) -> f32 {
        let ee = (max_mag_bits(xs) >> 23) as i32;
        if (1..=2 * 128 - 4).contains(&ee) {
            f32::from_bits(((2 * 128 - 3 - ee) as u32) << 23)
        } else {
            f32::NAN
        }
    }

    #[test]
    fn paired_maxima_match_the_definition() {
        // Even and odd lengths (the odd one has an unpaired last entry), with zeros,
        // subnormals, ±∞ and NaN anywhere among random patterns of every exponent.
        let special = [
            0.0,
            -0.0,
            f32::from_bits(1),
            f32::MIN_POSITIVE,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MAX,
            -1.5,
        ];
        let mut st = 0xbeef_u64;
        let pick = |st: &mut u64| {
            let r = splitmix(st);
            if r % 4 == 0 {
                special[(r >> 8) as usize % special.len()]
            } else {
                f32::from_bits((r >> 16) as u32) % 1e6
            }
        };
        for _ in 0..20_000 {
            let x8: [f32; 8] = core::array::from_fn(|_| pick(&mut st));
            let x5: [f32; 5] = core::array::from_fn(|_| pick(&mut st));
            let y5: [f32; 5] = core::array::from_fn(|_| pick(&mut st));
            let (x0, y0) = (pick(&mut st), pick(&mut st));
            assert!(
                same(f32::pow2_normaliser(x8), normaliser_ref(&x8)),
                "{x8:?}"
            );
            assert!(
                same(f32::pow2_normaliser(x5), normaliser_ref(&x5)),
                "{x5:?}"
            );
            // pow2_balance: e = max(ex, ⌈ey/2⌉) from the two groups' largest magnitudes.
            let ex = (max_mag_bits(&[&x5[..], &[x0]].concat()) >> 23) as i32 - 126;
            let ey = (max_mag_bits(&[&y5[..], &[y0]].concat()) >> 23) as i32 - 126;
            let e = ex.max((ey + 1) >> 1);
            let want = if (-60..=60).contains(&e) {
                f32::from_bits(((127 - e) as u32) << 23)
            } else {
                f32::NAN
            };
            assert!(
                same(f32::pow2_balance(x5, x0, y5, y0), want),
                "{x5:?} {y5:?}"
            );
            // min_num: the smaller, the other one for a NaN.
            let (a, b) = (x8[0], x8[1]);
            let m = a.min_num(b);
            if a.is_nan() {
                assert!(same(m, b));
            } else if b.is_nan() {
                assert!(same(m, a));
            } else {
                assert_eq!(m, if a < b { a } else { b });
            }
        }
    }

    bit_level_matches_libm!(
        bit_level_exponent_and_scalbn_match_libm_f32,
        f32,
        u32,
        libm::frexpf,
        libm::scalbnf,
        [-300, -160, -150, -149, -127, -126, -125, -24, -1, 0, 1, 24, 126, 127, 128, 300]
    );
    bit_level_matches_libm!(
        bit_level_exponent_and_scalbn_match_libm_f64,
        f64,
        u64,
        libm::frexp,
        libm::scalbn,
        [
            -3000, -1080, -1075, -1074, -1023, -1022, -1021, -53, -1, 0, 1, 53, 1022, 1023, 1024,
            3000
        ]
    );
}

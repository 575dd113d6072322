//! Calls every resolvent entry point from a `#![no_std]` crate with stack buffers only.
#![no_std]

use muse_core::resolvent::{
    causal_resolvent, causal_resolvent_vjp, chunked, resolvent_diag, resolvent_vjp, VjpOut,
};
use num_complex::Complex;

/// The diagonal of the resolvent of a 4×4 system, its causal variant and both VJPs, in
/// `f16` storage; returns `Re z̄` of the full VJP (or NaN on error).
pub fn smoke() -> f32 {
    let h = half::f16::from_f32;
    let a = [h(0.5), h(-1.0), h(2.0), h(0.25)];
    let b = [h(1.0), h(0.5), h(-0.75)];
    let c = [h(0.3), h(1.5), h(1.0)];
    let z = Complex::new(0.1_f32, 0.4);
    let mut out = [Complex::new(h(0.0), h(0.0)); 4];
    let mut scratch = [Complex::new(0.0_f32, 0.0); 16];
    let w = [Complex::new(h(1.0), h(-0.5)); 4];
    let (mut ga, mut gb, mut gc) = ([0.0_f32; 4], [0.0_f32; 3], [0.0_f32; 3]);
    let ok = resolvent_diag(&a, &b, &c, z, &mut out, &mut scratch).is_ok()
        && causal_resolvent(&a, &b, &c, z, &mut out).is_ok()
        && chunked::resolvent_diag_chunked(&a, &b, &c, z, 2, &mut out, &mut scratch).is_ok()
        && causal_resolvent_vjp(
            &a,
            &b,
            &c,
            z,
            &w,
            VjpOut { a: &mut ga, b: &mut gb, c: &mut gc },
            &mut scratch,
        )
        .is_ok();
    match resolvent_vjp(&a, &b, &c, z, &w, VjpOut { a: &mut ga, b: &mut gb, c: &mut gc }, &mut scratch) {
        Ok(zbar) if ok => zbar.re,
        _ => f32::NAN,
    }
}

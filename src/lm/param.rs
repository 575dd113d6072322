//! A named parameter tensor with its gradient.

use super::Float;
use rand::Rng;
use rand_distr::{Distribution, Normal};

/// A parameter: its values, the accumulated gradient (same shape) and whether AdamW
/// applies weight decay to it (matrices yes; biases, gains, resolvent parameters no).
#[derive(Clone, Debug)]
pub struct Param<R> {
    /// Name in the checkpoint (`blocks.0.mixer.in.weight`).
    pub name: String,
    /// Shape, row-major.
    pub shape: Vec<usize>,
    /// Values.
    pub value: Vec<R>,
    /// Gradient, accumulated by `backward`; cleared by [`Param::zero_grad`].
    pub grad: Vec<R>,
    /// Whether weight decay applies.
    pub decay: bool,
}

impl<R: Float> Param<R> {
    /// A parameter with every entry `v`.
    pub fn filled(name: impl Into<String>, shape: &[usize], v: f64, decay: bool) -> Self {
        let n = shape.iter().product();
        Param {
            name: name.into(),
            shape: shape.to_vec(),
            value: vec![R::from_f64(v); n],
            grad: vec![R::ZERO; n],
            decay,
        }
    }

    /// A parameter drawn from `N(0, std²)`.
    pub fn normal(
        name: impl Into<String>,
        shape: &[usize],
        std: f64,
        decay: bool,
        rng: &mut impl Rng,
    ) -> Self {
        let mut p = Self::filled(name, shape, 0.0, decay);
        let dist = Normal::new(0.0, std).expect("std is finite and positive");
        for v in &mut p.value {
            *v = R::from_f64(dist.sample(rng));
        }
        p
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// Whether the parameter is empty.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// Sets the gradient to zero.
    pub fn zero_grad(&mut self) {
        self.grad.iter_mut().for_each(|g| *g = R::ZERO);
    }
}

//! The Stage 2 block: LayerNorm → Hamiltonian flow → residual.
//!
//! `q₀ = LN(x)`, `p₀ = 0`, `T` Leapfrog steps of size `h` under
//! `H(q, p) = ½‖p‖² + V(q)` with the MLP potential `V` (`d → 4d → 1`), and
//! `out = x + q_T − q₀`. The integrator and its symplectic adjoint are muse-core's
//! (issue 3); until they land this block reports [`STAGE2_UNAVAILABLE`].

use super::{Float, LmError, Param};

/// The message given while muse-core has no Hamiltonian adjoint.
pub const STAGE2_UNAVAILABLE: &str = "Stage 2 needs the Hamiltonian adjoint (not yet in muse-core)";

/// Whether Stage 2 can be built with this muse-core.
pub const fn available() -> bool {
    false
}

/// The Stage 2 Hamiltonian block (not available in this build; see [`STAGE2_UNAVAILABLE`]).
#[derive(Clone, Debug)]
pub struct HamiltonianBlock<R> {
    params: Vec<Param<R>>,
}

impl<R: Float> HamiltonianBlock<R> {
    /// # Errors
    /// Always [`LmError::Hamiltonian`] with [`STAGE2_UNAVAILABLE`].
    pub fn new() -> Result<Self, LmError> {
        Err(LmError::Hamiltonian(STAGE2_UNAVAILABLE.into()))
    }

    /// # Errors
    /// Always (see [`HamiltonianBlock::new`]).
    pub fn forward(&mut self, _x: &[R], _rows: usize, _out: &mut [R]) -> Result<(), LmError> {
        Err(LmError::Hamiltonian(STAGE2_UNAVAILABLE.into()))
    }

    /// # Errors
    /// Always (see [`HamiltonianBlock::new`]).
    pub fn backward(
        &mut self,
        _x: &[R],
        _dout: &[R],
        _rows: usize,
        _dx: &mut [R],
    ) -> Result<(), LmError> {
        Err(LmError::Hamiltonian(STAGE2_UNAVAILABLE.into()))
    }

    /// The parameters.
    pub fn params(&self) -> Vec<&Param<R>> {
        self.params.iter().collect()
    }

    /// The parameters, mutably.
    pub fn params_mut(&mut self) -> Vec<&mut Param<R>> {
        self.params.iter_mut().collect()
    }
}

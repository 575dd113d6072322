//! NumPy `.npy` / `.npz` input and output.

//! Writes the embedded PTX split by kernel (see `muse_gpu::ptx`): for each of
//! `sm90` and `sm70`, `prelude.ptx` and one module per kernel, under the directory given
//! (default `target/split-ptx`). CI compiles every file with `ptxas`.
//!
//! ```sh
//! cargo run -p muse-gpu --example split_ptx -- target/split-ptx
//! ```

use std::path::PathBuf;

use muse_gpu::ptx::SplitPtx;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/split-ptx".into()),
    );
    for (dir, text) in [("sm90", muse_gpu::PTX_SM90), ("sm70", muse_gpu::PTX_SM70)] {
        let split = SplitPtx::new(text).ok_or(format!("the {dir} PTX does not split"))?;
        let dir = out.join(dir);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("prelude.ptx"), split.prelude())?;
        let mut kernels: Vec<_> = split.kernels().collect();
        kernels.sort_unstable();
        for k in &kernels {
            let module = split.module(k).ok_or("a listed kernel")?;
            std::fs::write(dir.join(format!("{k}.ptx")), module)?;
        }
        println!("{}: prelude + {} kernels", dir.display(), kernels.len());
    }
    Ok(())
}

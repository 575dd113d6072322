//! The `perplexity` KPI: perplexity of Stage 2 against Stage 1 (runner: muse::lm::bench, on the
//! CPU). Data: WikiText-2 `valid.txt` (train) and `test.txt` from `$MUSE_DATA_DIR`,
//! `data/wikitext-2` or `../shared/data/wikitext-2`; `unavailable` when none is found.
//!
//! ```sh
//! cargo run --release --example kpi_perplexity             # the seed's conditions
//! cargo run --release --example kpi_perplexity -- --quick  # seconds
//! cargo run --release --example kpi_perplexity -- --out-dir DIR  # DIR/perplexity.json
//! ```
//!
//! Prints the result and writes `results/perplexity.json` (the same file as `muse bench perplexity`).

use muse::bench::{
    example_main,
    perplexity::{PerplexityConfig, PerplexityKpi},
};
use std::process::ExitCode;

fn main() -> ExitCode {
    example_main(PerplexityConfig::quick, PerplexityKpi::new)
}

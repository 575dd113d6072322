//! The embedded PTX, split by kernel, so that each kernel can be loaded (and JIT-compiled by
//! the driver) on its first use instead of the whole module when the context opens.
//!
//! [`crate::Gpu`] still loads the whole module: the switch (branch `split-load`,
//! `muse-gpu/NOTES.md` round 18) waits for a GPU run. What is here already serves tools and
//! CI: `examples/split_ptx.rs` writes every kernel's module, and `.ci/run` compiles each with
//! `ptxas`.
//!
//! The driver compiles a PTX module to machine code when it is loaded. For the sm_90 module
//! (74 kernels, 8 MB) that took ~35 s on a machine whose JIT cache was cold; one kernel alone
//! takes a fraction of a second (`ptxas` here: 0.65 s for `resolvent_diag_tile16_f32`, 0.08 s
//! for the module without its kernels). [`SplitPtx`] cuts the text into a *prelude* — the
//! header, the `.func` declarations and bodies, the globals, everything but the kernels — and
//! one range per `.entry`; [`SplitPtx::module`] is the prelude followed by one kernel, a valid
//! module on its own (the compiler drops the `.func`s that kernel does not call).
//!
//! ```
//! let split = muse_gpu::ptx::SplitPtx::new(muse_gpu::PTX_SM90).expect("the sm_90 PTX splits");
//! let one = split.module("resolvent_diag_rows_f32").expect("a kernel of the module");
//! assert!(one.contains(".visible .entry resolvent_diag_rows_f32("));
//! assert_eq!(one.matches(".entry").count(), 1);
//! ```

use std::collections::HashMap;
use std::ops::Range;

/// A PTX module's text cut into its prelude and its kernels (see the [module docs](self)).
#[derive(Debug)]
pub struct SplitPtx<'a> {
    text: &'a str,
    prelude: String,
    entries: HashMap<&'a str, Range<usize>>,
}

impl<'a> SplitPtx<'a> {
    /// Splits PTX as LLVM's NVPTX back end writes it: each kernel starts with a line
    /// `.visible .entry NAME(`, its body opens with a line `{` and ends at the next line `}`
    /// (braces inside a body are indented). `None` when the text does not have that shape: no
    /// kernel, a kernel without its body, a name twice, or an `.entry` outside that pattern.
    /// Then load the text whole.
    pub fn new(text: &'a str) -> Option<Self> {
        let mut prelude = String::with_capacity(text.len().min(1 << 20));
        let mut entries = HashMap::new();
        let mut lines = text.split_inclusive('\n');
        let mut pos = 0;
        while let Some(line) = lines.next() {
            let start = pos;
            pos += line.len();
            let Some(rest) = line.strip_prefix(".visible .entry ") else {
                if line.contains(".entry") {
                    return None;
                }
                prelude.push_str(line);
                continue;
            };
            let name = rest.split('(').next()?.trim();
            if name.is_empty() {
                return None;
            }
            // The body: up to the line `{`, then up to the line `}`.
            for close in ["{", "}"] {
                loop {
                    let l = lines.next()?;
                    pos += l.len();
                    if l.trim_end() == close {
                        break;
                    }
                }
            }
            if entries.insert(name, start..pos).is_some() {
                return None;
            }
        }
        if entries.is_empty() {
            return None;
        }
        Some(SplitPtx {
            text,
            prelude,
            entries,
        })
    }

    /// Everything but the kernels: a module that only declares (a per-kernel loader loads it
    /// first, so that the driver checks the header, e.g. that it knows the PTX ISA version).
    pub fn prelude(&self) -> &str {
        &self.prelude
    }

    /// The names of the kernels, in no particular order.
    pub fn kernels(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.entries.keys().copied()
    }

    /// A module with the prelude and the kernel `name` only; `None` if there is no such
    /// kernel.
    pub fn module(&self, name: &str) -> Option<String> {
        let range = self.entries.get(name)?.clone();
        let mut m = String::with_capacity(self.prelude.len() + range.len() + 1);
        m.push_str(&self.prelude);
        if !m.ends_with('\n') {
            m.push('\n');
        }
        m.push_str(&self.text[range]);
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_modules_split_into_every_kernel() {
        for text in [crate::PTX_SM90, crate::PTX_SM70] {
            let s = SplitPtx::new(text).expect("splits");
            let entries = text.matches(".visible .entry ").count();
            assert_eq!(s.kernels().count(), entries);
            assert!(!s.prelude().contains(".entry"));
            assert!(s.prelude().contains(".address_size 64"));
            for k in crate::KERNELS {
                let m = s.module(k).unwrap_or_else(|| panic!("{k}"));
                assert_eq!(m.matches(".visible .entry ").count(), 1, "{k}");
                // The kernel's whole text, unchanged, at the end.
                let start = m.find(".visible .entry ").unwrap_or_default();
                let body = &m[start..];
                assert!(text.contains(body), "{k}");
                assert!(body.trim_end().ends_with('}'), "{k}");
            }
            // Prelude + every kernel = every line of the text.
            let total: usize = s.kernels().map(|k| s.entries[k].len()).sum();
            assert_eq!(total + s.prelude().len(), text.len());
        }
        let s = SplitPtx::new(crate::PTX_SM90).expect("splits");
        for (k, _) in crate::KERNELS_SM90 {
            assert!(s.module(k).is_some(), "{k}");
        }
        assert!(s.module("no_such_kernel").is_none());
    }

    #[test]
    fn text_of_another_shape_does_not_split() {
        let head = ".version 8.3\n.target sm_90\n.address_size 64\n";
        let ok =
            format!("{head}.visible .entry k(\n.param .u64 p\n)\n{{\n\t{{\n\t}}\n\tret;\n}}\n");
        let s = SplitPtx::new(&ok).expect("splits");
        assert_eq!(s.prelude(), head);
        assert_eq!(s.module("k").as_deref(), Some(ok.as_str()));
        for bad in [
            String::from("not ptx"),
            head.to_string(),
            format!("{head}.visible .entry k(\n{{\n"),
            format!("{head}.visible .entry (\n{{\n}}\n"),
            format!("{head}.entry k(\n{{\n}}\n"),
            format!("{head}.visible .entry k(\n{{\n}}\n.visible .entry k(\n{{\n}}\n"),
        ] {
            assert!(SplitPtx::new(&bad).is_none(), "{bad:?}");
        }
    }
}

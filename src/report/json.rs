//! JSON export: the [`Summary`] as pretty-printed JSON.

use super::Exporter;
use crate::bench::{BenchError, Summary};

/// Writes `{ "provenance": …, "results": [ <kpi report>, … ] }`.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn serialize(&self, summary: &Summary) -> Result<Vec<u8>, BenchError> {
        let mut v = serde_json::to_vec_pretty(summary)?;
        v.push(b'\n');
        Ok(v)
    }
}

//! KPI runners (placeholder, filled below).

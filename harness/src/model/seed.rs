//! What seeding a configuration's namespace did to its store: how many sessions or refresh
//! families, how long it took, and the store's size before and after — the bytes one stored
//! session costs at a deployment's size rather than at a handful of records.

use serde::{Deserialize, Serialize};

use super::results::TargetRecord;

/// The size of what a configuration keeps in its store, as the store reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "store", rename_all = "lowercase")]
pub enum StoreSize {
    /// Redis INFO memory `used_memory`: the whole server's, so the run seeds one namespace at a
    /// time with nothing else writing.
    Redis { used_memory: u64 },
    /// The namespace's session or refresh-token table: `pg_table_size` (heap, TOAST, free space
    /// and visibility maps) and `pg_indexes_size`.
    Postgres { table: u64, indexes: u64 },
}

impl StoreSize {
    /// Bytes the figure counts in all.
    pub fn total(&self) -> u64 {
        match *self {
            StoreSize::Redis { used_memory } => used_memory,
            StoreSize::Postgres { table, indexes } => table + indexes,
        }
    }
}

/// One configuration's seeding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedRecord {
    pub target: TargetRecord,
    /// Sessions (session) or refresh-token families (hybrid) asked for and created.
    pub records: u64,
    /// Wall time of the seed calls, seconds.
    pub seconds: f64,
    /// None when the size could not be read (the reason is in `note`).
    pub before: Option<StoreSize>,
    pub after: Option<StoreSize>,
    /// Records found in the namespace afterwards (rows, or session/refresh keys), as a check.
    pub counted: Option<u64>,
    /// (after − before) ÷ records; None when either size is missing.
    pub bytes_per_record: Option<f64>,
    /// How the figures were read, and anything that went wrong.
    pub note: String,
}

impl SeedRecord {
    /// Growth per record from two readings of the same kind.
    pub fn per_record(before: Option<StoreSize>, after: Option<StoreSize>, records: u64) -> Option<f64> {
        let (b, a) = (before?, after?);
        (records > 0).then(|| (a.total() as f64 - b.total() as f64) / records as f64)
    }
}

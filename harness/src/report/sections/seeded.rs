//! "Session storage at deployment size": what seeding each configuration's namespace with the
//! matrix's `seed_sessions` did to its store, and the bytes one stored session costs at that size
//! beside the probe's small-sample figure.

use crate::model::results::Results;
use crate::model::seed::{SeedRecord, StoreSize};
use crate::report::document::{num, opt, Block, Section};

const HEADING: &str = "Session storage at deployment size";

fn size(s: Option<StoreSize>) -> String {
    match s {
        None => "not measured".into(),
        Some(StoreSize::Redis { used_memory }) => format!("{:.1} MB used_memory", used_memory as f64 / 1e6),
        Some(StoreSize::Postgres { table, indexes }) => {
            format!("{:.1} MB table + {:.1} MB indexes", table as f64 / 1e6, indexes as f64 / 1e6)
        }
    }
}

fn row(r: &Results, s: &SeedRecord) -> Vec<String> {
    let small = r.probe(&s.target.id).and_then(|p| p.storage.as_ref());
    vec![
        s.target.id.clone(),
        s.records.to_string(),
        format!("{:.1}", s.seconds),
        num(s.records as f64 / s.seconds.max(1e-9)),
        size(s.before),
        size(s.after),
        s.counted.map_or("not counted".into(), |n| n.to_string()),
        opt(s.bytes_per_record, 0),
        small.map_or("—".into(), |p| format!("{:.0} (of {})", p.bytes_per_record, p.records)),
    ]
}

/// The section, when the run seeded any namespace.
pub(crate) fn section(r: &Results) -> Option<Section> {
    if r.seeds.is_empty() {
        return None;
    }
    let head = [
        "configuration",
        "records seeded",
        "seconds",
        "records/s",
        "store before",
        "store after",
        "records counted after",
        "bytes per record",
        "probe's figure, B (records)",
    ];
    let mut blocks = vec![
        Block::paragraph(
            "Before its first case, each session or hybrid configuration on PostgreSQL or Redis got the matrix's \
             seed_sessions sessions or refresh-token families in its namespace, so every lookup of the run met a \
             table or keyspace of that size. Bytes per record is the store's growth divided by the records; the last \
             column is the probe's measurement from the matrix's storage_records (2,000 by default), which varied \
             from 209 to 356 B per session between runs on the development machine. Redis keeps every namespace in \
             one keyspace whose hash table doubles as it grows (8 B per bucket, the old and new tables both held \
             while it rehashes), so a configuration whose seeding crossed a power of two of the server's keys is \
             charged that table too: among Redis configurations of one run, the lowest figure is the closest to \
             what a record costs by itself.",
        ),
        Block::table(&head, r.seeds.iter().map(|s| row(r, s)).collect()),
    ];
    let mut notes: Vec<&str> = r.seeds.iter().map(|s| s.note.as_str()).collect();
    notes.sort_unstable();
    notes.dedup();
    blocks.push(Block::List(notes.into_iter().map(|n| format!("Measured as: {n}.").into()).collect()));
    Some(Section::new(HEADING, blocks))
}

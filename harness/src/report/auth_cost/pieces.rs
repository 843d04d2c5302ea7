//! The smaller pieces of auth work (opaque tokens, credential headers, store lookups, refresh) and
//! the bytes each credential puts on the wire.

use authbench_targets::sizes::WireSizes;
use authbench_targets::spec::StoreKind;

use crate::report::criterion::Estimates;
use crate::report::document::{num, Block, Text};
use crate::report::tokens;

/// The stores in the order the table lists them.
const STORES: [StoreKind; 3] = [StoreKind::Memory, StoreKind::Redis, StoreKind::Postgres];

fn store_name(s: StoreKind) -> &'static str {
    match s {
        StoreKind::Memory => "memory store",
        StoreKind::Redis => "Redis",
        StoreKind::RedisCluster => "Redis Cluster",
        StoreKind::Postgres => "PostgreSQL",
    }
}

/// Each piece's benchmark id and what it measures.
fn pieces() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        ("opaque_token/generate", "opaque token: 256 random bits, base64url, SHA-256"),
        ("opaque_token/hash", "opaque token: SHA-256 of a presented token"),
        ("credential_header/bearer", "read the Authorization: Bearer header"),
        ("credential_header/cookie", "find the access cookie among three cookies"),
    ]
    .iter()
    .map(|(id, what)| ((*id).to_owned(), (*what).to_owned()))
    .collect();
    for s in STORES {
        let what = match s {
            StoreKind::Memory => format!("session lookup, {}", store_name(s)),
            StoreKind::Redis | StoreKind::RedisCluster | StoreKind::Postgres => {
                format!("session lookup round trip, {}", store_name(s))
            }
        };
        out.push((format!("session_lookup/{s}"), what));
    }
    for s in STORES {
        out.push((format!("hybrid_refresh/{s}"), format!("hybrid refresh (rotate + sign HS256), {}", store_name(s))));
    }
    out
}

/// Wall time per call of every piece that was benchmarked.
pub fn blocks(e: &Estimates) -> Vec<Block> {
    let rows: Vec<Vec<String>> = pieces()
        .into_iter()
        .filter_map(|(id, what)| {
            let est = e.by_id.get(&id)?;
            let interval = format!("{} – {}", num(est.lower_ns / 1000.0), num(est.upper_ns / 1000.0));
            Some(vec![what, num(est.ns / 1000.0), interval, id])
        })
        .collect();
    if rows.is_empty() {
        return Vec::new();
    }
    vec![
        Block::paragraph("The other pieces, wall time per call:"),
        Block::table(&["piece", "µs", "95 % interval µs", "benchmark"], rows),
    ]
}

/// Bytes per credential from tokens issued when the report was rendered.
pub fn size_blocks(sizes: &[WireSizes]) -> Vec<Block> {
    let intro = Text::plain(
        "Bytes per credential, from tokens issued, sent and refreshed through the targets' own code when this \
         report was rendered (",
    )
    .code("authbench tokens")
    .and("; default TTLs; user ")
    .code("user1")
    .and(
        ", id 1 — a JWT grows by the base64url of any longer name or id, so a run's users average a few bytes \
         more). Header figures are whole lines as they cross the wire (",
    )
    .code("name: value")
    .and(" and CRLF); a cookie-mode refresh carries both cookies, as a browser sends them to /auth.");
    vec![Block::Paragraph(intro), Block::table(&tokens::HEAD, tokens::rows(sizes))]
}

//! "Second by second": the timeline charts and how to read them.

use crate::report::document::{Block, ChartRef, Section};

/// The timeline charts, with how to read them.
pub(super) fn section(charts: &[ChartRef]) -> Section {
    let timelines: Vec<Block> = charts.iter().cloned().map(Block::Chart).collect();
    if timelines.is_empty() {
        let none = "No closed browse case of this run has a timeline (none ran, or they were recorded before timelines existed).";
        return Section::new("Second by second", vec![Block::paragraph(none)]);
    }
    let how = "Each chart follows one configuration's closed browse case second by second from the start of its \
               warm-up (shaded): requests completed and sampled store operations per second on top, p50 and p99 \
               latency below (log scale), red triangles marking seconds with errors (the last second, cut short by the \
               window's close, is left out), so a stall shows as a dip in requests under a rise in p99 at the \
               second it happened.";
    let mut blocks = vec![Block::paragraph(how)];
    blocks.extend(timelines);
    Section::new("Second by second", blocks)
}

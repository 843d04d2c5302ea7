//! The report's sections, built once from the results and what was rendered beside them.
//!
//! - `findings_page`: the page the report opens with, and the dominated options.
//! - `run`: introduction, environment and method, summary, charts.
//! - `bottleneck`: the warnings that open the report; CPU shares, steal, the load generator ceiling.
//! - `capacity`: capacity at the SLO and the CPU curve, from the rate ladders.
//! - `timeline`: the second-by-second charts and how to read them.
//! - `store_rtt`, `pool`, `replicas`, `seeded`: stores at a network distance, the ceiling a pool
//!   puts on a target there, replicas behind a balancer and whether they agree on a credential, and
//!   session storage at a deployment's size (each only when the run has them).
//! - `protocols`: "TLS and HTTP/2", bytes per request by protocol, transport and client, and a
//!   handshake's bytes per new connection (only when the run has a TLS configuration).
//! - `population`: users like real users (population cases, hybrid's store share measured against
//!   the formula) and the refresh scenario's rotations.
//! - `faults`: "Failure modes", the fault cases, after every speed section and before the probes.
//! - `findings`: security windows, claims, caveats, skipped.
//! - "Where the time goes" is built by [`super::auth_cost`].

mod bottleneck;
mod capacity;
pub(crate) mod faults;
mod findings;
mod findings_page;
mod pool;
mod population;
mod protocols;
mod replicas;
mod run;
mod seeded;
mod store_rtt;
mod timeline;

use crate::model::results::Results;
use crate::report::charts::Drawn;
use crate::report::claims::Verdict;
use crate::report::document::{Document, Section};
use crate::report::findings::Findings;

/// The whole document, in report order; `time` is the "Where the time goes" section.
pub fn build(r: &Results, findings: &Findings, drawn: &Drawn, time: Section, verdicts: &[Verdict]) -> Document {
    let mut sections = vec![
        findings_page::section(r, findings),
        findings_page::dominated(findings, crate::report::findings::window_resolution_s(r)),
        run::environment_and_method(r),
        run::summary(r),
        capacity::section(r),
        run::charts(&drawn.charts),
        timeline::section(&drawn.timelines),
        bottleneck::section(r),
        time,
    ];
    sections.extend(
        [store_rtt::section(r), pool::section(r), replicas::section(r), seeded::section(r)].into_iter().flatten(),
    );
    sections.extend(protocols::section(r));
    sections.extend(population::section(r, drawn.population.as_ref()));
    sections.extend(faults::section(r, &drawn.faults));
    sections.extend([findings::security(r), findings::claims(verdicts), findings::caveats(r)]);
    sections.extend(findings::skipped(r));
    let intro = run::intro(r).into_iter().chain(bottleneck::warnings(r)).collect();
    Document { title: run::title(r), intro, sections }
}

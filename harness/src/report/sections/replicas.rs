//! "Replicas behind a balancer": each configuration the run served as several processes behind
//! HAProxy, with each replica's CPU beside their sum and the balancer's own, and whether the
//! replicas agreed on a credential issued and then logged out through the balancer.

use crate::model::probe::{Agreement, Answer, Reply};
use crate::model::results::{Case, Results};
use crate::report::document::{opt, Block, Section};

const HEADING: &str = "Replicas behind a balancer";

fn answers(replies: &[Reply]) -> String {
    let word = |r: &Reply| match r.answer {
        Answer::Accepted => format!("accepted ({})", r.status),
        Answer::Refused => format!("refused ({})", r.status),
        Answer::Other => format!("neither ({})", r.status),
    };
    replies.iter().enumerate().map(|(i, r)| format!("replica {i} {}", word(r))).collect::<Vec<_>>().join(", ")
}

fn agreement_cell(a: Option<&Agreement>) -> [String; 3] {
    match a {
        None => ["not probed".into(), "not probed".into(), "not probed".into()],
        Some(a) => [
            answers(&a.after_login),
            answers(&a.after_logout),
            if a.agrees() { "agree" } else { "disagree: one replica's answer is not another's" }.into(),
        ],
    }
}

fn row(r: &Results, c: &Case) -> Vec<String> {
    let cpu = &c.cpu_us_per_request;
    let each = cpu.per_replica.iter().map(|us| format!("{us:.1}")).collect::<Vec<_>>().join(" + ");
    let [login, logout, verdict] = agreement_cell(r.probe(&c.target.id).and_then(|p| p.agreement.as_ref()));
    vec![
        c.target.id.clone(),
        c.load.id(),
        format!("{:.1} ({each})", cpu.target),
        opt(cpu.balancer, 1),
        login,
        logout,
        verdict,
    ]
}

/// The section, when the run served some configuration as replicas.
pub(crate) fn section(r: &Results) -> Option<Section> {
    let cases: Vec<&Case> = r.closed_browse().into_iter().filter(|c| c.target.spec.replicas > 1).collect();
    if cases.is_empty() {
        return None;
    }
    let head = [
        "configuration",
        "load",
        "target CPU µs/req (each replica)",
        "balancer CPU µs/req",
        "/api/me on each replica after a login",
        "after its logout",
        "replicas",
    ];
    let intro = Block::paragraph(
        "Each configuration served as several target processes behind HAProxy (round-robin per request, keep-alive \
         on both sides): the load went through the balancer, target CPU is the replicas' /proc summed (each replica's \
         beside it), the balancer's CPU is its own. The probe logged user1 in and out through the balancer and asked \
         every replica directly after each: state kept in one process's memory (a memory session store or denylist) \
         is unknown to the others, so a credential one replica accepts another refuses, and a logout or revocation \
         reaches one replica only; its windows in the security section are read on every replica (a credential any \
         replica still serves counts as served)."
            .to_owned(),
    );
    Some(Section::new(HEADING, vec![intro, Block::table(&head, cases.iter().map(|c| row(r, c)).collect())]))
}

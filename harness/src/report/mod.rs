//! `authbench report DIR`: charts, REPORT.md and a self-contained report.html from results.json
//! alone, deterministically (same input, same bytes).

pub mod adr;
pub mod auth_cost;
pub mod charts;
pub mod claims;
pub mod compare;
pub mod criterion;
pub mod markdown;
pub mod plan;
pub mod tokens;

use std::fmt::Write as _;
use std::path::Path;

use crate::model::environment::BuildProfile;
use crate::model::results::{self, Case, Results, RunStatus};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.digits$}"))
}

fn summary_rows(r: &Results) -> Vec<Vec<String>> {
    r.cases
        .iter()
        .map(|c: &Case| {
            let errors: u64 = c.errors.values().sum();
            vec![
                c.target.id.clone(),
                c.load.scenario.to_string(),
                match c.load.rate_rps() {
                    Some(rate) => format!("open {rate:.0} req/s, {} users", c.load.users),
                    None => format!("closed, {} users", c.load.users),
                },
                format!("{:.0}", c.throughput_rps),
                format!("{}", c.latency_us.p50),
                format!("{}", c.latency_us.p99),
                format!("{}", c.latency_us.p999),
                format!("{:.2}", c.store_ops_per_request),
                format!("{:.1}", c.cpu_us_per_request.target),
                opt(c.cpu_us_per_request.store, 1),
                opt(c.req_per_core_s, 0),
                format!("{:.0}", c.bytes_per_request.received + c.bytes_per_request.sent),
                format!("{:.0}", c.bytes_per_request.auth),
                errors.to_string(),
            ]
        })
        .collect()
}

const SUMMARY_HEAD: [&str; 14] = [
    "target",
    "scenario",
    "load",
    "req/s",
    "p50 µs",
    "p99 µs",
    "p99.9 µs",
    "store ops/req",
    "target CPU µs/req",
    "store CPU µs/req",
    "req/core·s",
    "bytes/req",
    "auth bytes/req",
    "errors",
];

fn window(w: &crate::model::probe::WindowResult, cap: f64) -> String {
    match w.measured_s {
        Some(s) => format!("{s:.2} s"),
        None => format!("still accepted after {cap:.0} s (cap)"),
    }
}

fn security_rows(r: &Results) -> Vec<Vec<String>> {
    r.probes
        .iter()
        .map(|p| {
            vec![
                p.target.id.clone(),
                window(&p.revocation, p.cap_s),
                format!("{} s", p.revocation.bound_s),
                window(&p.stale_role, p.cap_s),
                format!("{} s", p.stale_role.bound_s),
                p.storage.as_ref().map_or("—".into(), |s| format!("{:.0}", s.bytes_per_record)),
            ]
        })
        .collect()
}

const SECURITY_HEAD: [&str; 6] =
    ["target", "revoked user served for", "bound", "demoted admin served for", "bound", "store bytes per session"];

fn caveats(r: &Results) -> Vec<String> {
    let mut out = vec![format!(
        "Load generator, targets and stores shared {} cores of one machine: absolute req/s mostly measures the load generator; CPU µs per request and req/core·s describe the target alone and transfer.",
        r.environment.cores.map_or_else(|| "an unknown number of".to_owned(), |n| n.to_string())
    )];
    if r.environment.build_profile == Some(BuildProfile::Debug) {
        out.push("This run used a debug build: figures are not representative of release performance.".into());
    }
    if r.cases.iter().any(|c| c.cpu_us_per_request.store.is_none()) {
        out.push("Some stores were external: their CPU is not visible from here and shows as —.".into());
    }
    out.push(
        "CPU comes from /proc in 10 ms ticks: short windows at low rates carry a few percent of quantisation.".into(),
    );
    out.push("Security windows are measured by polling every 20 ms up to a cap; a window reported as the cap only says the probe stopped waiting.".into());
    if r.status != RunStatus::Complete {
        out.push(format!("The run is {}: only finished cases are shown.", r.status.as_str()));
    }
    out
}

fn html_table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", esc(c));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

fn environment_rows(r: &Results) -> Vec<Vec<String>> {
    r.environment.rows().into_iter().map(|(k, v)| vec![k.to_owned(), v]).collect()
}

fn claim_rows(v: &[claims::Verdict]) -> Vec<Vec<String>> {
    v.iter()
        .map(|c| vec![c.claim.clone(), c.source.clone(), c.measured.clone(), format!("{} — {}", c.verdict, c.because)])
        .collect()
}

fn block_md(b: &auth_cost::Block) -> String {
    match b {
        auth_cost::Block::Text(t) => format!("{t}\n\n"),
        auth_cost::Block::Table(head, rows) => {
            let head: Vec<&str> = head.iter().map(String::as_str).collect();
            format!("{}\n", markdown::table(&head, rows))
        }
        auth_cost::Block::Chart(name) => format!("![{name}](charts/{name}.svg)\n\n"),
    }
}

fn block_html(b: &auth_cost::Block, dir: &Path) -> anyhow::Result<String> {
    Ok(match b {
        auth_cost::Block::Text(t) => format!("<p>{}</p>", esc(t).replace('`', "")),
        auth_cost::Block::Table(head, rows) => {
            let head: Vec<&str> = head.iter().map(String::as_str).collect();
            html_table(&head, rows)
        }
        auth_cost::Block::Chart(name) => inline_svg(&dir.join("charts").join(format!("{name}.svg")))?,
    })
}

fn inline_svg(path: &Path) -> anyhow::Result<String> {
    let svg = std::fs::read_to_string(path)?;
    let body = svg.find("<svg").map_or(svg.as_str(), |i| &svg[i..]);
    Ok(format!("<figure>{body}</figure>"))
}

/// Renders charts, REPORT.md and report.html into `dir` from `dir/results.json`, with the microbenchmarks
/// found in `criterion_dir` (criterion's output, normally target/criterion).
pub fn render(dir: &Path, criterion_dir: &Path, claims_file: Option<&Path>) -> anyhow::Result<()> {
    let r = results::read(dir)?;
    let chart_files = charts::render(&r, &dir.join("charts"))?;
    let time_blocks = auth_cost::blocks(&r, criterion_dir, &dir.join("charts"))?;
    let claims = match claims_file {
        Some(path) => claims::from_file(path)?,
        None => claims::builtin()?,
    };
    let verdicts = claims::judge(&claims, &r);
    let svgs: Vec<&String> = chart_files.iter().filter(|f| f.ends_with(".svg")).collect();
    let title = format!("authbench report — run {}", r.run_id);
    let intro = format!(
        "Profile `{}`, started {}, finished {}, status **{}**. {} cases, {} security probes, {} skipped.",
        r.profile,
        r.started_at,
        r.finished_at.as_deref().unwrap_or("—"),
        r.status.as_str(),
        r.cases.len(),
        r.probes.len(),
        r.skipped.len()
    );
    let method: Vec<Vec<String>> = r.method.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
    let skipped: Vec<Vec<String>> = r.skipped.iter().map(|s| vec![s.id.clone(), s.reason.clone()]).collect();

    let mut md = format!("# {title}\n\n{intro}\n\n## Environment and method\n\n");
    md.push_str(&markdown::table(&["what", "value"], &environment_rows(&r)));
    md.push('\n');
    md.push_str(&markdown::table(&["figure", "how it was measured"], &method));
    md.push_str("\n## Summary\n\n");
    md.push_str(&markdown::table(&SUMMARY_HEAD, &summary_rows(&r)));
    md.push_str("\n## Charts\n\n");
    for f in &svgs {
        let _ = writeln!(md, "![{}](charts/{f})\n", f.trim_end_matches(".svg"));
    }
    md.push_str("## Where the time goes\n\n");
    for b in &time_blocks {
        md.push_str(&block_md(b));
    }
    md.push_str("## Security windows\n\n");
    md.push_str(&markdown::table(&SECURITY_HEAD, &security_rows(&r)));
    if let Some(p) = r.probes.first() {
        let _ = writeln!(md, "\nMethod: {}", p.method);
    }
    md.push_str("\n## Claims\n\n");
    md.push_str(&markdown::table(&["claim", "source", "this run measured", "verdict"], &claim_rows(&verdicts)));
    md.push_str("\n## Caveats\n\n");
    for c in caveats(&r) {
        let _ = writeln!(md, "- {c}");
    }
    if !skipped.is_empty() {
        md.push_str("\n## Skipped\n\n");
        md.push_str(&markdown::table(&["case", "reason"], &skipped));
    }
    std::fs::write(dir.join("REPORT.md"), &md)?;

    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>\
         body{{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 6px;text-align:left}}\
         th{{background:#f2f2f2}}figure{{margin:1em 0}}svg{{max-width:100%;height:auto}}</style></head><body>\n",
        esc(&title)
    );
    let _ =
        write!(html, "<h1>{}</h1><p>{}</p><h2>Environment and method</h2>", esc(&title), esc(&intro).replace("**", ""));
    html.push_str(&html_table(&["what", "value"], &environment_rows(&r)));
    html.push_str(&html_table(&["figure", "how it was measured"], &method));
    html.push_str("<h2>Summary</h2>");
    html.push_str(&html_table(&SUMMARY_HEAD, &summary_rows(&r)));
    html.push_str("<h2>Charts</h2>");
    for f in &svgs {
        html.push_str(&inline_svg(&dir.join("charts").join(f))?);
    }
    html.push_str("<h2>Where the time goes</h2>");
    for b in &time_blocks {
        html.push_str(&block_html(b, dir)?);
    }
    html.push_str("<h2>Security windows</h2>");
    html.push_str(&html_table(&SECURITY_HEAD, &security_rows(&r)));
    html.push_str("<h2>Claims</h2>");
    html.push_str(&html_table(&["claim", "source", "this run measured", "verdict"], &claim_rows(&verdicts)));
    html.push_str("<h2>Caveats</h2><ul>");
    for c in caveats(&r) {
        let _ = write!(html, "<li>{}</li>", esc(&c));
    }
    html.push_str("</ul>");
    if !skipped.is_empty() {
        html.push_str("<h2>Skipped</h2>");
        html.push_str(&html_table(&["case", "reason"], &skipped));
    }
    html.push_str("</body></html>\n");
    std::fs::write(dir.join("report.html"), html)?;
    Ok(())
}

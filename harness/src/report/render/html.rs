//! The document as one self-contained HTML page (report.html): escaped text, the charts' SVG
//! inlined so the page needs no other file.

use std::fmt::Write as _;
use std::path::Path;

use crate::report::document::{Block, ChartRef, Document, Inline, Table, Text};

const STYLE: &str = "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}\
    table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}\
    th{background:#f2f2f2}figure{margin:1em 0}svg{max-width:100%;height:auto}";

/// Text safe inside elements and attribute values.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn text(t: &Text) -> String {
    t.0.iter()
        .map(|i| match i {
            Inline::Plain(s) => esc(s),
            Inline::Code(s) => format!("<code>{}</code>", esc(s)),
            Inline::Strong(s) => format!("<strong>{}</strong>", esc(s)),
        })
        .collect()
}

fn table(t: &Table) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in &t.head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", esc(c));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// The chart's SVG from `report_dir`, without its XML prologue, labelled with its caption, its
/// question and this run's answer under it.
fn figure(c: &ChartRef, report_dir: &Path) -> anyhow::Result<String> {
    let path = report_dir.join(c.svg());
    let svg = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let body = svg.find("<svg").map_or(svg.as_str(), |i| &svg[i..]);
    let under = c.answer.as_ref().map(|_| format!("<figcaption>{}</figcaption>", esc(&c.label())));
    Ok(format!("<figure role=\"img\" aria-label=\"{}\">{body}{}</figure>", esc(&c.caption), under.unwrap_or_default()))
}

fn block(b: &Block, report_dir: &Path) -> anyhow::Result<String> {
    Ok(match b {
        Block::Paragraph(t) => format!("<p>{}</p>", text(t)),
        Block::Table(t) => table(t),
        Block::List(items) => {
            format!("<ul>{}</ul>", items.iter().map(|i| format!("<li>{}</li>", text(i))).collect::<String>())
        }
        Block::Chart(c) => figure(c, report_dir)?,
    })
}

/// The whole page; charts are read from `report_dir` (where charts/ was written).
pub fn document(d: &Document, report_dir: &Path) -> anyhow::Result<String> {
    let title = esc(&d.title);
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{STYLE}</style></head><body>\n<h1>{title}</h1>"
    );
    for b in &d.intro {
        html.push_str(&block(b, report_dir)?);
    }
    for s in &d.sections {
        let _ = write!(html, "<h2>{}</h2>", esc(&s.heading));
        for b in &s.blocks {
            html.push_str(&block(b, report_dir)?);
        }
    }
    html.push_str("</body></html>\n");
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::Section;

    #[test]
    fn text_is_escaped_and_marked_up() {
        let d = Document {
            title: "a <b>".into(),
            intro: vec![Block::paragraph(Text::plain("x & ").code("y<z>"))],
            sections: vec![Section::new("S \"q\"", vec![Block::table(&["h|"], vec![vec!["<td>".into()]])])],
        };
        let html = document(&d, Path::new("/nonexistent")).unwrap();
        assert!(html.contains("<title>a &lt;b&gt;</title>"), "{html}");
        assert!(html.contains("<p>x &amp; <code>y&lt;z&gt;</code></p>"), "{html}");
        assert!(html.contains("<h2>S &quot;q&quot;</h2><table><thead><tr><th>h|</th>"), "{html}");
        assert!(html.contains("<td>&lt;td&gt;</td>"), "{html}");
    }
}

//! The document as Markdown (REPORT.md), and Markdown tables written one way for the report, the
//! plan, the ADR and comparisons.

use std::fmt::Write as _;

use crate::report::document::{Block, ChartRef, Document, Inline, Text};

/// A table with a header row; `|` inside cells is escaped so a cell can never split a row.
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("| {} |\n|{}\n", head.join(" | "), "---|".repeat(head.len()));
    for r in rows {
        let _ = writeln!(s, "| {} |", r.iter().map(|c| c.replace('|', "\\|")).collect::<Vec<_>>().join(" | "));
    }
    s
}

/// Inline runs with their Markdown emphasis.
pub fn text(t: &Text) -> String {
    t.0.iter()
        .map(|i| match i {
            Inline::Plain(s) => s.clone(),
            Inline::Code(s) => format!("`{s}`"),
            Inline::Strong(s) => format!("**{s}**"),
        })
        .collect()
}

/// The image, then its question and this run's answer as a line of text under it (the image's
/// alt text is not shown where the image is).
fn chart(c: &ChartRef) -> String {
    let image = format!("![{}]({})\n", c.caption, c.svg());
    match c.answer {
        Some(_) => format!("{image}\n{}\n", c.label()),
        None => image,
    }
}

/// One block, ending with a newline.
fn block(b: &Block) -> String {
    match b {
        Block::Paragraph(t) => format!("{}\n", text(t)),
        Block::Table(t) => {
            let head: Vec<&str> = t.head.iter().map(String::as_str).collect();
            table(&head, &t.rows)
        }
        Block::List(items) => items.iter().map(|i| format!("- {}\n", text(i))).collect(),
        Block::Chart(c) => chart(c),
    }
}

/// The whole document: title, introduction, then each section, a blank line between any two parts.
pub fn document(d: &Document) -> String {
    let mut parts = vec![format!("# {}\n", d.title)];
    parts.extend(d.intro.iter().map(block));
    for s in &d.sections {
        parts.push(format!("## {}\n", s.heading));
        parts.extend(s.blocks.iter().map(block));
    }
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::Section;

    #[test]
    fn rows_line_up_with_the_header_and_pipes_are_escaped() {
        let t = table(&["a", "b"], &[vec!["1".into(), "x|y".into()]]);
        assert_eq!(t, "| a | b |\n|---|---|\n| 1 | x\\|y |\n");
    }

    #[test]
    fn parts_are_separated_by_one_blank_line() {
        let d = Document {
            title: "T".into(),
            intro: vec![Block::paragraph(Text::plain("run ").code("x").and(" is ").strong("complete"))],
            sections: vec![Section::new(
                "S",
                vec![
                    Block::List(vec!["a".into(), "b".into()]),
                    Block::Chart(ChartRef::unanswered("c", "C")),
                    Block::Chart(ChartRef::new("d", "D?", "yes")),
                ],
            )],
        };
        assert_eq!(
            document(&d),
            "# T\n\nrun `x` is **complete**\n\n## S\n\n- a\n- b\n\n![C](charts/c.svg)\n\n\
             ![D?](charts/d.svg)\n\nD? — yes\n"
        );
    }
}

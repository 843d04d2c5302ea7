//! The document as plain text for a terminal: no markup, paragraphs wrapped, tables aligned in
//! columns, charts listed by file (`authbench report DIR --print`).

use std::path::Path;

use crate::report::document::{Block, Document, Table, Text};
use crate::report::tokens::text_table;

/// Paragraphs wrap at this many characters; tables are as wide as their columns.
const WIDTH: usize = 100;

/// Words of `s` in lines of at most `width` characters (a longer word gets a line of its own),
/// every line after the first starting with `indent`.
fn wrap(s: &str, width: usize, first: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in s.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_owned();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

fn paragraph(t: &Text) -> String {
    wrap(&t.words(), WIDTH, "", "")
}

fn table(t: &Table) -> String {
    let head: Vec<&str> = t.head.iter().map(String::as_str).collect();
    text_table(&head, &t.rows)
}

/// One block, ending with a newline.
fn block(b: &Block, report_dir: &Path) -> String {
    match b {
        Block::Paragraph(t) => paragraph(t),
        Block::Table(t) => table(t),
        Block::List(items) => items.iter().map(|i| wrap(&i.words(), WIDTH, "- ", "  ")).collect(),
        Block::Chart(c) => {
            let svg = report_dir.join(c.svg());
            let answer = c.answer.as_deref().map(|a| wrap(a, WIDTH, "  Answer: ", "    ")).unwrap_or_default();
            format!("{}{answer}  {} (and .png)\n", wrap(&c.caption, WIDTH, "Chart: ", "  "), svg.display())
        }
    }
}

fn heading(s: &str, underline: char) -> String {
    format!("{s}\n{}\n", underline.to_string().repeat(s.chars().count()))
}

/// The whole document; chart paths are shown under `report_dir`.
pub fn document(d: &Document, report_dir: &Path) -> String {
    let mut parts = vec![heading(&d.title, '=')];
    parts.extend(d.intro.iter().map(|b| block(b, report_dir)));
    for s in &d.sections {
        parts.push(heading(&s.heading, '-'));
        parts.extend(s.blocks.iter().map(|b| block(b, report_dir)));
    }
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::{ChartRef, Section};

    #[test]
    fn no_markup_aligned_tables_and_charts_by_file() {
        let d = Document {
            title: "Report".into(),
            intro: vec![Block::paragraph(Text::plain("profile ").code("quick").and(", ").strong("complete"))],
            sections: vec![Section::new(
                "Summary",
                vec![
                    Block::table(
                        &["target", "req/s"],
                        vec![vec!["jwt-HS256".into(), "41089".into()], vec!["x".into(), "—".into()]],
                    ),
                    Block::Chart(ChartRef::new("cpu", "CPU?", "jwt")),
                ],
            )],
        };
        let out = document(&d, Path::new("/r"));
        assert_eq!(
            out,
            "Report\n======\n\nprofile quick, complete\n\nSummary\n-------\n\n\
             target     req/s\njwt-HS256  41089\nx              —\n\nChart: CPU?\n  Answer: jwt\n  /r/charts/cpu.svg (and .png)\n"
        );
    }

    #[test]
    fn long_text_wraps_with_a_hanging_indent() {
        let words = "word ".repeat(30);
        let out = wrap(&words, 20, "- ", "  ");
        assert!(out.lines().all(|l| l.chars().count() <= 20), "{out}");
        assert!(out.lines().skip(1).all(|l| l.starts_with("  word")), "{out}");
    }
}

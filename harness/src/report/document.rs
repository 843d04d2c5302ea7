//! The report as one typed document: sections of blocks, built once from the results and written
//! by every renderer under [`super::render`] (Markdown, HTML, terminal), so no text exists twice.

/// A run of text with its emphasis, so each renderer marks it up its own way (or not at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Plain(String),
    /// A name as typed: a command, a path, a profile.
    Code(String),
    Strong(String),
}

/// A sentence or paragraph: inline runs in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub Vec<Inline>);

impl Text {
    /// Text without emphasis.
    pub fn plain(s: impl Into<String>) -> Text {
        Text(vec![Inline::Plain(s.into())])
    }

    /// Appends plain text.
    pub fn and(mut self, s: impl Into<String>) -> Text {
        self.0.push(Inline::Plain(s.into()));
        self
    }

    /// Appends a name as typed.
    pub fn code(mut self, s: impl Into<String>) -> Text {
        self.0.push(Inline::Code(s.into()));
        self
    }

    /// Appends emphasised text.
    pub fn strong(mut self, s: impl Into<String>) -> Text {
        self.0.push(Inline::Strong(s.into()));
        self
    }

    /// The words without any markup.
    pub fn words(&self) -> String {
        self.0
            .iter()
            .map(|i| match i {
                Inline::Plain(s) | Inline::Code(s) | Inline::Strong(s) => s.as_str(),
            })
            .collect()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::plain(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::plain(s)
    }
}

/// A table: a header row and rows of cells already formatted ("—" where nothing was measured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(head: &[&str], rows: Vec<Vec<String>>) -> Table {
        Table { head: head.iter().map(|h| (*h).to_owned()).collect(), rows }
    }
}

/// A chart written under charts/ as `<stem>.svg` and `<stem>.png`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartRef {
    pub stem: String,
    /// The question the chart answers: image alt text, figure label, the terminal's line.
    pub caption: String,
    /// What this run's figures answer, printed under the chart ("not measured" for a missing
    /// figure); None only for a chart not yet given one.
    pub answer: Option<String>,
}

impl ChartRef {
    /// A chart with its question and the answer this run's figures give, so a reader need not
    /// read the answer off the picture.
    pub fn new(stem: impl Into<String>, caption: impl Into<String>, answer: impl Into<String>) -> ChartRef {
        ChartRef { stem: stem.into(), caption: caption.into(), answer: Some(answer.into()) }
    }

    /// A chart with its question only, for a chart whose answer is not computed yet.
    pub fn unanswered(stem: impl Into<String>, caption: impl Into<String>) -> ChartRef {
        ChartRef { stem: stem.into(), caption: caption.into(), answer: None }
    }

    /// The figure label under the chart: the question, then this run's answer when there is one.
    pub fn label(&self) -> String {
        match &self.answer {
            Some(a) => format!("{} — {a}", self.caption),
            None => self.caption.clone(),
        }
    }

    /// The SVG's path relative to the report directory.
    pub fn svg(&self) -> String {
        format!("charts/{}.svg", self.stem)
    }
}

/// One piece of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph(Text),
    Table(Table),
    /// A bulleted list.
    List(Vec<Text>),
    Chart(ChartRef),
}

impl Block {
    pub fn paragraph(t: impl Into<Text>) -> Block {
        Block::Paragraph(t.into())
    }

    pub fn table(head: &[&str], rows: Vec<Vec<String>>) -> Block {
        Block::Table(Table::new(head, rows))
    }
}

/// A titled part of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

impl Section {
    pub fn new(heading: &str, blocks: Vec<Block>) -> Section {
        Section { heading: heading.to_owned(), blocks }
    }
}

/// The whole report: a title, an introduction, then sections in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    pub intro: Vec<Block>,
    pub sections: Vec<Section>,
}

/// A store round trip as tables print it: "0" for none, else the span ("1ms").
pub fn rtt(s: authbench_targets::spec::Span) -> String {
    if s.0.is_zero() {
        "0".into()
    } else {
        s.to_string()
    }
}

/// A figure with `digits` decimals, or "—" when it was not measured.
pub fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{x:.digits$}"))
}

/// A figure compactly for labels and tables: 3 significant digits or whole numbers.
pub fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// [`num`], or "—" when it was not measured.
pub fn opt_num(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), num)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmeasured_figures_are_a_dash_not_zero() {
        assert_eq!(opt(None, 0), "—");
        assert_eq!(opt(Some(0.0), 1), "0.0");
        assert_eq!(opt_num(None), "—");
        assert_eq!((num(123.4), num(12.34), num(1.234)), ("123".into(), "12.3".into(), "1.23".into()));
    }

    #[test]
    fn words_drop_the_markup() {
        let t = Text::plain("profile ").code("standard").and(", status ").strong("complete");
        assert_eq!(t.words(), "profile standard, status complete");
    }
}

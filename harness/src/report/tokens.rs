//! `authbench tokens`: what each strategy and algorithm puts on the wire, from real tokens issued by
//! the targets' own code.

use authbench_targets::sizes::{measure_all, WireSizes};
use authbench_targets::spec::Transport;

/// Column names shared by the terminal table and the report.
pub const HEAD: [&str; 12] = [
    "strategy",
    "alg",
    "transport",
    "token chars",
    "signature B",
    "refresh token chars",
    "API request header B",
    "login Set-Cookie B",
    "login body B",
    "refresh request B",
    "refresh Set-Cookie B",
    "refresh body B",
];

/// Issues, sends and refreshes tokens for every strategy and algorithm over each transport.
pub fn measure(transports: &[Transport]) -> anyhow::Result<Vec<WireSizes>> {
    // Throwaway keys, deleted with the directory: nothing signed with them outlives this call.
    let keys = tempfile::Builder::new().prefix("authbench-tokens-").tempdir()?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let mut rows = Vec::new();
        for &t in transports {
            rows.extend(measure_all(t, keys.path()).await?);
        }
        anyhow::Ok(rows)
    })
}

/// One row of text per measurement, in HEAD's order.
pub fn rows(sizes: &[WireSizes]) -> Vec<Vec<String>> {
    let opt = |v: Option<usize>| v.map_or_else(|| "—".to_owned(), |v| v.to_string());
    sizes
        .iter()
        .map(|s| {
            vec![
                s.strategy.as_str().to_owned(),
                s.alg.map_or("—", |a| a.as_str()).to_owned(),
                s.transport.as_str().to_owned(),
                s.access_token_chars.to_string(),
                opt(s.signature_bytes),
                opt(s.refresh_token_chars),
                s.request_header_bytes.to_string(),
                s.login_set_cookie_bytes.to_string(),
                s.login_body_bytes.to_string(),
                s.refresh_request_bytes.to_string(),
                s.refresh_set_cookie_bytes.to_string(),
                s.refresh_body_bytes.to_string(),
            ]
        })
        .collect()
}

fn cell(r: &[String], i: usize) -> &str {
    r.get(i).map_or("", String::as_str)
}

/// Columns padded to line up in a terminal; columns of numbers (and "—") right-aligned.
pub fn text_table(head: &[&str], rows: &[Vec<String>]) -> String {
    let is_number = |c: &str| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_digit() || ch == '.');
    let columns: Vec<(usize, bool)> = head
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let width = rows.iter().map(|r| cell(r, i).chars().count()).fold(h.chars().count(), usize::max);
            let numeric = rows.iter().any(|r| is_number(cell(r, i)))
                && rows.iter().all(|r| is_number(cell(r, i)) || cell(r, i) == "—");
            (width, numeric)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&columns)
            .map(|(c, &(w, numeric))| if numeric { format!("{c:>w$}") } else { format!("{c:<w$}") })
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(head.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_table_aligns_columns() {
        let rows = [
            vec!["jwt".into(), "HS256".into(), "7".into()],
            vec!["session".into(), "—".into(), "1234".into()],
            vec!["hybrid".into(), "ES256".into(), "—".into()],
        ];
        let t = text_table(&["a", "alg", "bytes"], &rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines,
            ["a        alg    bytes", "jwt      HS256      7", "session  —       1234", "hybrid   ES256      —"]
        );
    }
}

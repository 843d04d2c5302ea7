//! `authbench tokens`: what each strategy and algorithm puts on the wire, from real tokens issued by
//! the targets' own code.

use authbench_targets::config::Transport;
use authbench_targets::sizes::{measure_all, WireSizes};

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
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let keys = std::env::temp_dir().join(format!("authbench-tokens-{}-{nanos}", std::process::id()));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let measured = rt.block_on(async {
        let mut rows = Vec::new();
        for &t in transports {
            rows.extend(measure_all(t, &keys).await?);
        }
        anyhow::Ok(rows)
    });
    // Throwaway keys: nothing signed with them outlives this call.
    let _ = std::fs::remove_dir_all(&keys);
    measured
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

/// Columns padded to line up in a terminal; numbers right-aligned.
pub fn text_table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&width)
            .map(|(c, w)| {
                let numeric = *c == "—" || c.chars().all(|ch| ch.is_ascii_digit() || ch == '.');
                if numeric {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
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
        let t = text_table(&["a", "bytes"], &[vec!["jwt".into(), "7".into()], vec!["session".into(), "1234".into()]]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines, ["a        bytes", "jwt          7", "session   1234"]);
    }
}

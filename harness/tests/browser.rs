//! The report in a real browser: headless Chromium (Debian's chromium-headless-shell, installed by
//! scripts/install-deps.sh) opens report.html rendered from the committed reference run and must
//! log nothing to its console, load every image, and show no literal Markdown; it also takes the
//! screenshot the README shows (set AUTHBENCH_SCREENSHOT=path to keep it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use authbench_harness::report;

/// Longest one browser run may take before the test fails.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// A page that loads the report in a frame, waits for its images, and writes what it found into
/// `#verdict` as JSON: how many charts and images, which did not load or draw nothing (a chart is
/// an inline SVG in a figure), and text outside code that reads as Markdown (bold markers, link
/// syntax, fences, table rules, headings).
const CHECK_PAGE: &str = r#"<!doctype html><html><body><pre id="verdict">pending</pre>
<iframe id="r" src="report.html" style="width:1280px;height:900px"></iframe>
<script>
const f = document.getElementById('r');
f.addEventListener('load', () => {
  const d = f.contentDocument;
  const imgs = [...d.images];
  Promise.all(imgs.map(i => i.complete ? 0 : new Promise(r => { i.onload = i.onerror = r; }))).then(() => {
    const figs = [...d.querySelectorAll('figure')];
    const blank = f => { const s = f.querySelector('svg, img'); const r = s && s.getBoundingClientRect(); return !r || r.width < 10 || r.height < 10; };
    const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))
      .concat(figs.filter(blank).map(f => f.getAttribute('aria-label')));
    const w = d.createTreeWalker(d.body, NodeFilter.SHOW_TEXT);
    const leaks = [];
    let n;
    while ((n = w.nextNode())) {
      if (n.parentElement.closest('code,pre,script,style')) continue;
      if (/\*\*|\]\(|```|\|\s*---|^\s*#{1,6} /m.test(n.nodeValue)) leaks.push(n.nodeValue.trim().slice(0, 120));
    }
    document.getElementById('verdict').textContent = JSON.stringify({ images: imgs.length + figs.length, broken, leaks });
  });
});
</script></body></html>"#;

/// The browser binary, or a failure saying how to install it (never a skip).
fn chromium() -> &'static str {
    for bin in ["chromium-headless-shell", "chromium"] {
        if Command::new(bin).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok() {
            return bin;
        }
    }
    panic!("no headless Chromium on the PATH: run scripts/install-deps.sh (installs chromium-headless-shell)");
}

/// Runs the browser on `page` with `args`; returns (stdout, stderr).
fn browse(dir: &Path, page: &str, args: &[&str]) -> (String, String) {
    let url = format!("file://{}", dir.join(page).display());
    let mut child = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"])
        .args(["--enable-logging=stderr", "--virtual-time-budget=15000"])
        .args(args)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the browser");
    let started = Instant::now();
    while child.try_wait().expect("waiting for the browser").is_none() {
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            panic!("the browser did not finish {url} within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("reading the browser's output");
    assert!(out.status.success(), "the browser failed on {url}: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The reference run rendered into a fresh directory.
fn rendered() -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/standard");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(root.join("results.json"), tmp.path().join("results.json")).unwrap();
    report::render(tmp.path(), &report::Inputs::new(&root.join("criterion"))).unwrap();
    tmp
}

#[test]
fn the_report_renders_cleanly_in_a_real_browser() {
    let tmp = rendered();
    std::fs::write(tmp.path().join("check.html"), CHECK_PAGE).unwrap();
    let (dom, log) = browse(tmp.path(), "check.html", &["--dump-dom"]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "the report logged to the browser console: {console:#?}");
    let verdict = dom
        .split("<pre id=\"verdict\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .expect("the check page wrote no verdict");
    let v: serde_json::Value = serde_json::from_str(&verdict.replace("&quot;", "\"").replace("&amp;", "&"))
        .unwrap_or_else(|e| panic!("verdict {verdict:?} is not JSON: {e}"));
    assert!(v["images"].as_u64().unwrap_or(0) >= 10, "the report shows its charts: {v}");
    assert_eq!(v["broken"], serde_json::json!([]), "images that did not load");
    assert_eq!(v["leaks"], serde_json::json!([]), "literal Markdown in the HTML");
}

#[test]
fn a_screenshot_of_the_report_is_taken() {
    let tmp = rendered();
    let shot: PathBuf = tmp.path().join("report.png");
    let arg = format!("--screenshot={}", shot.display());
    browse(tmp.path(), "report.html", &[&arg, "--window-size=1280,2400", "--hide-scrollbars"]);
    let png = std::fs::read(&shot).expect("the browser wrote no screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 50_000, "{} bytes, not a full page", png.len());
    if let Some(keep) = std::env::var_os("AUTHBENCH_SCREENSHOT") {
        std::fs::write(&keep, &png).unwrap();
    }
}

#[test]
fn the_check_finds_what_it_looks_for() {
    // The same check on a page with each fault: a test that could not fail would prove nothing.
    let tmp = tempfile::tempdir().unwrap();
    let faulty =
        "<html><body><p>a **bold** claim</p><img src=\"missing.png\"><figure aria-label=\"empty chart\"></figure>\
                  <script>console.error('boom')</script></body></html>";
    std::fs::write(tmp.path().join("report.html"), faulty).unwrap();
    std::fs::write(tmp.path().join("check.html"), CHECK_PAGE).unwrap();
    let (dom, log) = browse(tmp.path(), "check.html", &["--dump-dom"]);
    assert!(log.lines().any(|l| l.contains(":CONSOLE") && l.contains("boom")), "{log}");
    for found in ["missing.png", "empty chart", "a **bold** claim"] {
        assert!(dom.contains(found), "{found} not reported: {dom}");
    }
}

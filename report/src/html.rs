//! The static `OUT/report/index.html`: every figure with its caption, per dataset, the
//! figures that could not be drawn with the setting that enables them, and the sweep's
//! settings. No scripts and no external resources, so the page opens from a cluster's
//! file system or an archived copy alike.

use std::fmt::Write as _;

use crate::state::{RunState, RunStatus, SweepState};
use crate::{FigureOutcome, ImageFormat, ReportOptions, YAxes};

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes a relative path for an `href`/`src` (keeps `/`, letters, digits, `-_.`).
pub fn url_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The sweep's state as an HTML section: counts, then one row per run (status, final test
/// accuracy, converged share of the eigenpairs, products per snapshot), then the baselines.
pub fn state_html(state: &SweepState) -> String {
    let mut h = String::from("<h2 id=\"state\">Sweep state</h2>\n");
    let count = |word: &str| {
        state
            .runs
            .iter()
            .filter(|r| r.status.word() == word)
            .count()
    };
    let mut counts = Vec::new();
    for word in ["done", "unfinished", "not started", "diverged", "failed"] {
        let n = count(word);
        if n > 0 {
            counts.push(format!("{n} {word}"));
        }
    }
    let open = count("unfinished") + count("not started");
    let bad = count("diverged") + count("failed");
    let verdict = if state.complete() {
        "The sweep is complete.".to_string()
    } else if open > 0 {
        "The sweep is <b>not complete</b>: figures draw unfinished runs as far as they are \
         and leave out diverged and failed runs (each figure lists them)."
            .to_string()
    } else if bad > 0 {
        format!(
            "Every run has ended, but <b>{bad} diverged or failed</b>: they are left out of \
             every mean, band and the minima selection (each figure lists them)."
        )
    } else {
        "The random baseline is not finished yet.".to_string()
    };
    let _ = writeln!(
        h,
        "<p>{} runs: {}. {verdict}</p>",
        state.runs.len(),
        escape(&counts.join(", ")),
    );
    h.push_str(
        "<table class=\"state\"><tr><th>run</th><th>status</th><th>final test accuracy</th>\
         <th>snapshots</th><th>converged eigenpairs</th><th>products per snapshot: median / max</th></tr>\n",
    );
    for r in &state.runs {
        let class = match r.status {
            RunStatus::Done => "done",
            RunStatus::Diverged { .. } | RunStatus::Failed { .. } => "bad",
            _ => "open",
        };
        let (acc, snaps, conv, products) = (
            r.accuracy_text(),
            r.snapshots_text(),
            r.converged_text(),
            r.products_text(),
        );
        let _ = writeln!(
            h,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{acc}</td><td>{snaps}</td><td>{conv}</td><td>{products}</td></tr>",
            escape(&r.label()),
            escape(&r.status.describe()),
        );
    }
    h.push_str("</table>\n");
    h.push_str(&provenance_html(state));
    for b in &state.baselines {
        let _ = writeln!(
            h,
            "<p>Random-initialisation baseline, {}: {} networks{}.</p>",
            escape(&b.dataset),
            b.networks,
            match b.total {
                Some(t) if b.networks < t => format!(" of {t} (not finished yet)"),
                Some(t) => format!(" of {t}"),
                None => String::new(),
            }
        );
    }
    h
}

/// Who computed the runs: one line per build, device and machine (with the runs it ran), and
/// a warning naming every run resumed on another one, with who ran which steps.
fn provenance_html(state: &SweepState) -> String {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for r in &state.runs {
        let Some(p) = &r.provenance else { continue };
        let line = p.to_string();
        match groups.iter_mut().find(|(l, _)| *l == line) {
            Some((_, runs)) => runs.push(r.label()),
            None => groups.push((line, vec![r.label()])),
        }
    }
    let mut h = String::new();
    match groups.len() {
        0 => {}
        1 => {
            let _ = writeln!(
                h,
                "<p class=\"provenance\">Computed by {}.</p>",
                escape(&groups[0].0)
            );
        }
        _ => {
            h.push_str("<p class=\"provenance warn\">The runs were computed by more than one build, device or machine:</p>\n<ul class=\"provenance\">\n");
            for (line, runs) in &groups {
                let _ = writeln!(h, "<li>{}: {}</li>", escape(line), escape(&runs.join(", ")));
            }
            h.push_str("</ul>\n");
        }
    }
    let resumed: Vec<&RunState> = state
        .runs
        .iter()
        .filter(|r| r.earlier_provenance.is_some())
        .collect();
    if !resumed.is_empty() {
        h.push_str("<p class=\"provenance warn\">Resumed on another build, device or machine (their results mix both):</p>\n<ul class=\"provenance\">\n");
        for r in resumed {
            let earlier = r.earlier_provenance.as_deref().unwrap_or_default();
            let _ = writeln!(
                h,
                "<li>{}: {}; the rest by {}</li>",
                escape(&r.label()),
                escape(&earlier.replace('\n', "; ")),
                escape(
                    &r.provenance
                        .as_ref()
                        .map_or("unknown".into(), ToString::to_string)
                ),
            );
        }
        h.push_str("</ul>\n");
    }
    h
}

/// The short name of a figure id: `fig03-ipr` → `ipr`.
fn short_name(id: &str) -> &str {
    id.split_once('-').map_or(id, |(_, rest)| rest)
}

/// The page. `figures` are in report order; paths in them are relative to `OUT/report`.
pub fn index_html(
    title: &str,
    state: &SweepState,
    figures: &[FigureOutcome],
    sweep_text: Option<&str>,
    sweep_error: Option<&str>,
    opts: &ReportOptions,
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{t}</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 1500px; padding: 0 1em; color: #222; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; border: 1px solid #ddd; }}
figcaption {{ max-width: 70em; }} .missing {{ color: #8a4b00; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
nav a {{ margin-right: 1em; }} .status {{ color: #8a4b00; }}
table.state {{ border-collapse: collapse; }} table.state td, table.state th {{ border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; }}
tr.bad td {{ background: #fbe3e3; }} tr.open td {{ background: #fff6dc; }}
.provenance {{ color: #555; }} p.warn {{ color: #8a4b00; }}
</style></head><body>
<h1>{t}</h1>
"#,
        t = escape(title)
    );
    let _ = writeln!(
        h,
        "<p>Figures as in the paper (numbers in brackets); one panel per optimiser. Each figure links its files and the CSV of the plotted values (smoothed curves with their raw values in <code>y_raw</code>). Smoothing: σ = {} snapshots (Fig. 7, keeping each curve's end values), σ = {} snapshots (Fig. 12); {} waiting times per two-time figure. Figures {} in wide{}, text {} pt{}, vertical axes {}.</p>",
        opts.convergence_sigma,
        opts.alignment_sigma,
        opts.waiting_times,
        opts.width_in,
        opts.height_in.map(|h| format!(" × {h} in")).unwrap_or_default(),
        opts.font_pt,
        if opts.formats.contains(&ImageFormat::Png) {
            format!(", PNG at {} dpi", opts.dpi)
        } else {
            String::new()
        },
        match opts.y_axes {
            YAxes::Shared => "shared where panels compare optimisers",
            YAxes::Free => "free (each panel its own range)",
        }
    );

    let missing: Vec<&FigureOutcome> = figures.iter().filter(|f| f.files.is_none()).collect();
    h.push_str("<nav><a href=\"#state\">sweep state</a>");
    for f in figures.iter().filter(|f| f.files.is_some()) {
        let _ = write!(
            h,
            r##"<a href="#{id}-{ds}">{short} (Fig. {n}, {ds})</a>"##,
            id = escape(f.id),
            ds = escape(&f.dataset),
            short = escape(short_name(f.id)),
            n = escape(f.number)
        );
    }
    h.push_str("</nav>\n");
    h.push_str(&state_html(state));

    for f in figures {
        let Some(files) = &f.files else { continue };
        let link = |path: &str| escape(&url_path(path));
        // The PNG where there is one (every browser shows it as drawn), else the SVG.
        let shown = files
            .png
            .as_deref()
            .or(files.svg.as_deref())
            .unwrap_or_default();
        // A click opens the SVG, which scales, where there is one.
        let full = files.svg.as_deref().unwrap_or(shown);
        let mut downloads: Vec<String> = Vec::new();
        for (name, path) in [("PNG", &files.png), ("SVG", &files.svg)] {
            if let Some(p) = path {
                downloads.push(format!(r#"<a href="{}">{name}</a>"#, link(p)));
            }
        }
        downloads.push(format!(r#"<a href="{}">CSV</a>"#, link(&files.csv)));
        let _ = write!(
            h,
            r#"<figure id="{id}-{ds}"><h2>Fig. {n}: {title} — {ds}</h2>
<a href="{full}"><img src="{shown}" alt="{title}, {ds}"></a>
<figcaption>{caption}{notes} {downloads}</figcaption></figure>
"#,
            notes = notes_html(&f.notes),
            id = escape(f.id),
            ds = escape(&f.dataset),
            n = escape(f.number),
            title = escape(f.title),
            caption = escape(f.caption),
            shown = link(shown),
            full = link(full),
            downloads = downloads.join(" · "),
        );
    }

    if !missing.is_empty() {
        h.push_str("<h2>Not available</h2>\n<ul class=\"missing\">\n");
        for f in missing {
            let _ = writeln!(
                h,
                "<li>Fig. {} ({}) — {}: {}{}</li>",
                escape(f.number),
                escape(&f.dataset),
                escape(f.title),
                escape(f.missing.as_deref().unwrap_or("no data")),
                notes_html(&f.notes)
            );
        }
        h.push_str("</ul>\n");
    }

    h.push_str("<h2>Sweep settings</h2>\n");
    match (sweep_text, sweep_error) {
        (Some(text), _) => {
            let _ = writeln!(h, "<p>OUT/sweep.yaml:</p>\n<pre>{}</pre>", escape(text));
        }
        (None, Some(e)) => {
            let _ = writeln!(h, "<p class=\"missing\">{}</p>", escape(e));
        }
        (None, None) => h.push_str("<p class=\"missing\">OUT/sweep.yaml is missing.</p>\n"),
    }
    h.push_str("</body></html>\n");
    h
}

/// A figure's run notes as a caption sentence (empty when there are none).
fn notes_html(notes: &[String]) -> String {
    if notes.is_empty() {
        return String::new();
    }
    format!(
        " <span class=\"status\">Runs not all done — {}.</span>",
        escape(&notes.join("; "))
    )
}

/// The `src` and `href` targets of a page, decoded back to relative paths (for tests and
/// for checking a written report).
pub fn referenced_paths(html: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            let target = &rest[..end];
            if !target.starts_with('#') {
                paths.push(percent_decode(&target.replace("&amp;", "&")));
            }
            rest = &rest[end..];
        }
    }
    paths
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_and_decoded_back() {
        assert_eq!(url_path("a b/c&d.png"), "a%20b/c%26d.png");
        let html = format!(
            r##"<img src="{}"><a href="#x">"##,
            escape(&url_path("d&x/f.png"))
        );
        assert_eq!(referenced_paths(&html), vec!["d&x/f.png".to_string()]);
        assert_eq!(escape("<a & 'b'>"), "&lt;a &amp; &#39;b&#39;&gt;");
    }
}

//! End-to-end tests of results that must not mislead (issue 11): a diverged run is named and
//! left out of every figure, mean and the minima selection; a report made before runs went on
//! does not reuse its minima silently; the sweep's state opens the report and ends `run`.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;

use eigensweep_common::exit_codes;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::stop::{sigterm, wait_at_most};
use support::{eigensweep, run, small_sweep_args, stderr};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Splits one CSV line into fields (RFC 4180 quoting: `"a, b"`, `""` for a quote).
fn csv_fields(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// One column of a figure CSV (`panel,series,x,y,lo,hi,note`), every data row.
fn csv_column(path: &Path, column: usize) -> Vec<String> {
    read(path)
        .lines()
        .skip(1)
        .map(|l| csv_fields(l).get(column).cloned().unwrap_or_default())
        .collect()
}

const FAST_MINIMA: [&str; 4] = ["--alpha-points", "5", "--sharpness-iterations", "2"];

#[test]
fn a_diverging_optimizer_is_named_and_left_out_of_every_figure_and_the_minima() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    let o = run(&small_sweep_args(
        out_s,
        &[
            "--set",
            "optimizers[3]={name: wild, kind: sgd, lr: 1.0e4}",
            "--set",
            "snapshots.store_weights=true",
            "--set",
            "training.steps=90",
        ],
    ));
    assert_eq!(
        o.status.code(),
        Some(exit_codes::RUNS_FAILED),
        "{}",
        stderr(&o)
    );
    // The end of `run`: the state of every run, with the eigen-solves' convergence.
    let text = stdout(&o);
    assert!(text.contains("converged"), "{text}");
    let wild = text
        .lines()
        .find(|l| l.starts_with("synthetic/wild/0"))
        .unwrap_or_else(|| panic!("no line for the diverged run:\n{text}"));
    assert!(wild.contains("diverged at step"), "{wild}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("synthetic/sgd/0") && l.contains("done")),
        "{text}"
    );

    let o = run(&["analyze", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("diverged: synthetic/wild/0"),
        "{}",
        stdout(&o)
    );

    let mut args = vec!["report", out_s];
    args.extend(FAST_MINIMA);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("not compared: synthetic/wild/0: diverged at step"),
        "{text}"
    );

    // The page opens with the sweep's state; the diverged runs are listed, not hidden.
    let index = read(&out.join("report/index.html"));
    let state = index.find("Sweep state").expect("a sweep state section");
    let first_figure = index.find("<figure").expect("figures");
    assert!(state < first_figure, "the state comes before Figure 1");
    assert!(
        index.contains("synthetic/wild/0</td><td>diverged at step"),
        "{index}"
    );
    assert!(index.contains("1 diverged"), "{index}");
    assert!(index.contains("wild: no panel, no run to draw"), "{index}");

    // No figure draws the diverged runs: not Fig. 5's final accuracies, not the means of
    // Figs. 3, 4, 6, and Fig. 8 compares only the optimisers that have a minimum.
    let dir = out.join("report/synthetic");
    let finals = csv_column(&dir.join("fig05-test-accuracy.csv"), 1);
    assert!(finals.iter().any(|s| s == "sgd"), "{finals:?}");
    assert!(!finals.iter().any(|s| s.contains("wild")), "{finals:?}");
    for fig in [
        "fig03-ipr",
        "fig04-training-loss",
        "fig06-eigenvalues",
        "fig01-displacement",
    ] {
        let panels = csv_column(&dir.join(format!("{fig}.csv")), 0);
        assert!(panels.iter().any(|p| p == "sgd"), "{fig}: {panels:?}");
        assert!(!panels.iter().any(|p| p == "wild"), "{fig}: {panels:?}");
    }
    let minima = read(&dir.join("fig08-minima.csv"));
    assert!(minima.contains("A = sgd"), "{minima}");
    assert!(!minima.contains("wild"), "{minima}");
}

#[test]
fn minima_of_other_run_states_are_recomputed_or_refused_never_reused_silently() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    let base = [
        "--set",
        "snapshots.store_weights=true",
        "--set",
        "training.steps=60",
        "--set",
        "optimizers=[{name: sgd, kind: sgd, lr: 0.01}, {name: adam, kind: adam, lr: 0.001}]",
    ];
    let o = run(&small_sweep_args(out_s, &base));
    assert!(o.status.success(), "{}", stderr(&o));
    let mut args = vec!["report", out_s];
    args.extend(FAST_MINIMA);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("computing the minima comparison"),
        "{}",
        stdout(&o)
    );
    assert!(out.join("minima/_inputs.json").is_file());
    // A second report with nothing changed reuses them, silently and rightly.
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("minima comparison"), "{}", stdout(&o));

    // More seeds: the runs the minima were chosen from are no longer the sweep's.
    let mut more = base.to_vec();
    more.extend(["--set", "seeds=[0, 1]"]);
    let o = run(&small_sweep_args(out_s, &more));
    assert!(o.status.success(), "{}", stderr(&o));

    // Without recomputing (no minima pass), Fig. 8 is refused as stale, with the reason...
    let o = run(&["report", out_s, "--no-minima"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("not available: Figure 8") && text.contains("stale"),
        "{text}"
    );
    assert!(text.contains("synthetic/sgd/1 is new"), "{text}");
    // ...or drawn and marked stale when asked for.
    let o = run(&["report", out_s, "--no-minima", "--keep-stale-minima"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !stdout(&o).contains("not available: Figure 8"),
        "{}",
        stdout(&o)
    );
    let csv = read(&out.join("report/synthetic/fig08-minima.csv"));
    assert!(!csv.is_empty());

    // A report that can load the data recomputes them and says why.
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("recomputing the minima comparison: the one in OUT/minima is stale"),
        "{text}"
    );
    assert!(!text.contains("not available: Figure 8"), "{text}");
}

#[test]
fn a_report_of_an_unfinished_sweep_says_so_and_draws_no_minimum_from_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    // A launch preempted once its run has written snapshots: the run is left unfinished,
    // resumable, with its row pending at its last checkpoint.
    let args = small_sweep_args(
        out_s,
        &[
            "--set",
            "snapshots.store_weights=true",
            "--set",
            "training.steps=3000",
            "--set",
            "optimizers=[{name: sgd, kind: sgd, lr: 0.01}]",
        ],
    );
    let child = eigensweep(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let snapshots = out.join("runs/dataset=synthetic/optimizer=sgd/seed=0/snapshots");
    let started = Instant::now();
    while std::fs::read_dir(&snapshots).map_or(0, |d| d.count()) < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no snapshots written"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    sigterm(&child);
    let (o, _) = wait_at_most(child, Duration::from_secs(60), "the preempted launch");
    assert_eq!(
        o.status.code(),
        Some(exit_codes::INTERRUPTED),
        "{}",
        stderr(&o)
    );

    let mut args = vec!["report", out_s];
    args.extend(FAST_MINIMA);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("no minima comparison"), "{text}");
    assert!(text.contains("no finished run"), "{text}");
    let index = read(&out.join("report/index.html"));
    assert!(index.contains("not complete"), "{index}");
    assert!(
        index.contains("synthetic/sgd/0</td><td>unfinished at step"),
        "{index}"
    );
    assert!(index.contains(" of 3000</td>"), "{index}");
    assert!(
        index.contains("unfinished, drawn as far as they are"),
        "{index}"
    );
    let notes = csv_column(&out.join("report/synthetic/fig03-ipr.csv"), 6);
    assert!(
        notes.iter().all(|n| n.contains("unfinished")),
        "every row of an unfinished run's panel says so: {notes:?}"
    );
}

/// The pages whose `sql` blocks read the quickstart's output (`out/quickstart`).
const DOCUMENTED_QUERY_PAGES: [&str; 3] = ["README.md", "docs/OUTPUT.md", "docs/ANALYSIS.md"];

/// One statement of a documented `sql` block, with the optional per-snapshot statistics
/// (`trace`, `density`, `preconditioned`) that its `-- needs snapshots.X` lines ask for.
struct DocumentedQuery {
    page: &'static str,
    sql: String,
    needs: Vec<String>,
}

/// The `sql` blocks of the documentation pages, each split into its statements.
fn documented_queries() -> Vec<DocumentedQuery> {
    let mut queries = Vec::new();
    for page in DOCUMENTED_QUERY_PAGES {
        let text = read(&support::repo_root().join(page));
        let mut block: Option<String> = None;
        for line in text.lines() {
            match (&mut block, line.trim_start()) {
                (None, l) if l.starts_with("```sql") => block = Some(String::new()),
                (Some(b), l) if l.starts_with("```") => {
                    for statement in b.split(';') {
                        let (comments, code): (Vec<&str>, Vec<&str>) = statement
                            .lines()
                            .partition(|l| l.trim_start().starts_with("--"));
                        let sql = code.join("\n");
                        if sql.trim().is_empty() {
                            continue;
                        }
                        let needs = comments
                            .iter()
                            .filter_map(|c| c.trim_start().strip_prefix("-- needs snapshots."))
                            .map(|s| s.trim().to_string())
                            .collect();
                        queries.push(DocumentedQuery { page, sql, needs });
                    }
                    block = None;
                }
                (Some(b), l) => {
                    b.push_str(l);
                    b.push('\n');
                }
                _ => {}
            }
        }
    }
    queries
}

/// Runs each query with DuckDB on `out` (standing for `out/quickstart`); one line per query:
/// `rows N` or `FAILED`.
fn run_duckdb_queries(tmp: &Path, out: &str, queries: &[&DocumentedQuery]) -> Vec<String> {
    let script = "import duckdb, json, sys\n\
         queries = json.loads(sys.stdin.read())\n\
         for q in queries:\n\
         \x20   try:\n\
         \x20       print('rows', len(duckdb.sql(q).fetchall()))\n\
         \x20   except Exception as e:\n\
         \x20       print('FAILED', str(e).splitlines()[0])\n";
    let json = format!(
        "[{}]",
        queries
            .iter()
            .map(|q| format!("{:?}", q.sql.replace("out/quickstart", out)))
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut py = std::process::Command::new("python3")
        .args(["-c", script])
        .current_dir(tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    py.stdin.take().unwrap().write_all(json.as_bytes()).unwrap();
    let o = py.wait_with_output().unwrap();
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), queries.len(), "{lines:?}");
    lines
}

/// Every DuckDB query of the README, docs/OUTPUT.md and docs/ANALYSIS.md, as written, on the
/// output it says it reads (issue 26): a plain query on a plain quickstart-shaped output after
/// `analyze`, a query marked `-- needs snapshots.X` on an output with that statistic. Each runs
/// without error and returns rows; a marked query fails on the plain output (so the mark is
/// needed, and a reader of the plain quickstart is told so).
#[test]
fn every_documented_query_runs_on_the_output_it_reads() {
    let queries = documented_queries();
    assert!(queries.len() >= 10, "found {} queries", queries.len());
    let statistic = |name: &str| match name {
        "trace" => "snapshots.trace={probes: 2}",
        "density" => "snapshots.density={probes: 2, steps: 5}",
        "preconditioned" => "snapshots.preconditioned={top_k: 1}",
        other => panic!("`-- needs snapshots.{other}`: not an optional statistic"),
    };
    let (marked, plain): (Vec<&DocumentedQuery>, Vec<&DocumentedQuery>) =
        queries.iter().partition(|q| !q.needs.is_empty());
    let mut needed: Vec<&str> = marked
        .iter()
        .flat_map(|q| q.needs.iter().map(|n| statistic(n)))
        .collect();
    needed.sort();
    needed.dedup();
    assert!(
        !marked.is_empty(),
        "no query is marked `-- needs snapshots.…`"
    );
    if !support::duckdb_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let described = |q: &DocumentedQuery| format!("{}: {}", q.page, q.sql.trim());

    // The plain quickstart: what `cargo run -- run sweeps/quickstart.yaml` and `analyze` write.
    let out = tmp.path().join("quickstart");
    let out_s = out.to_str().unwrap();
    let o = run(&small_sweep_args(out_s, &["--set", "training.steps=90"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["analyze", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let all: Vec<&DocumentedQuery> = plain.iter().chain(&marked).copied().collect();
    let results = run_duckdb_queries(tmp.path(), out_s, &all);
    for (q, result) in all.iter().zip(&results) {
        if q.needs.is_empty() {
            assert!(
                result.starts_with("rows ") && result != "rows 0",
                "on the plain quickstart output: {result}\n{}",
                described(q)
            );
        } else {
            assert!(
                result.starts_with("FAILED"),
                "marked `needs snapshots.{}` but runs on the plain output: {result}\n{}",
                q.needs.join(", "),
                described(q)
            );
        }
    }

    // With the optional statistics the marked queries read (keys differ: another output).
    let out = tmp.path().join("with-statistics");
    let out_s = out.to_str().unwrap();
    let mut extra = vec!["--set", "training.steps=90"];
    for setting in &needed {
        extra.extend(["--set", setting]);
    }
    let o = run(&small_sweep_args(out_s, &extra));
    assert!(o.status.success(), "{}", stderr(&o));
    let results = run_duckdb_queries(tmp.path(), out_s, &marked);
    for (q, result) in marked.iter().zip(&results) {
        assert!(
            result.starts_with("rows ") && result != "rows 0",
            "with snapshots.{}: {result}\n{}",
            q.needs.join(", "),
            described(q)
        );
    }
}

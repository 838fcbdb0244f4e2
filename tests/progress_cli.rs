//! What `eigensweep run` shows while it works (issue 26.6, found running it as a new user
//! would): its bars on a terminal, its lines in a batch log, the keys and numbers in them.

#[path = "support/mod.rs"]
mod support;

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;
use std::time::{Duration, Instant};

use eigensweep_common::display::number;
use eigensweep_worker::output::read_snapshot_rows;
use support::{eigensweep, run, run_dirs, small_sweep_args, stderr};

/// Runs `args` with stdout and stderr on a pseudo-terminal of 50 × 250 characters, as in an
/// interactive shell; returns whether it succeeded, all it wrote, and how long it took.
fn run_on_a_terminal(args: &[&str]) -> (bool, String, Duration) {
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 50,
        ws_col: 250,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors, which are owned from here on.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    let mut master = unsafe { File::from_raw_fd(master) };
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    let started = Instant::now();
    let mut child = eigensweep(args)
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();
    // The master reads until every copy of the slave is closed (EIO once the child exits).
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buf[..n]);
        }
        bytes
    });
    let status = child.wait().unwrap();
    let took = started.elapsed();
    let bytes = reader.join().unwrap();
    (
        status.success(),
        String::from_utf8_lossy(&bytes).into_owned(),
        took,
    )
}

/// The lines a terminal holds (its scrollback included) once it has shown `text`: carriage
/// return, line feed, cursor up and down (`ESC[nA`, `ESC[nB`), erase in line (`ESC[K`,
/// `ESC[2K`) and erase below (`ESC[J`); other control sequences change nothing shown.
fn screen(text: &str) -> Vec<String> {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                if row == lines.len() {
                    lines.push(Vec::new());
                }
            }
            '\x1b' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut params = String::new();
                let mut fin = ' ';
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() || c == '~' {
                        fin = c;
                        break;
                    }
                    params.push(c);
                }
                let n: usize = params.parse().unwrap_or(1).max(1);
                match (fin, params.as_str()) {
                    ('A', _) => row = row.saturating_sub(n),
                    ('B', _) => {
                        row += n;
                        while lines.len() <= row {
                            lines.push(Vec::new());
                        }
                    }
                    ('K', "2") => lines[row].clear(),
                    ('K', "" | "0") => lines[row].truncate(col),
                    ('J', "" | "0") => {
                        lines[row].truncate(col);
                        lines.truncate(row + 1);
                    }
                    _ => {}
                }
            }
            c if c.is_control() => {}
            c => {
                let line = &mut lines[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    lines
        .into_iter()
        .map(|l| l.into_iter().collect::<String>().trim_end().to_string())
        .collect()
}

/// Whether `line` is a progress bar: the sweep's or a run's.
fn is_bar(line: &str) -> bool {
    (line.contains(" tasks  ") && line.contains(" elapsed, ")) || line.contains("] step ")
}

/// `ETA 12s`, `ETA 3m 20s`, `ETA 1h 02m` in seconds.
fn eta_seconds(text: &str) -> Option<f64> {
    let rest = text.split("ETA ").nth(1)?;
    let mut total = 0.0;
    for part in rest.split_whitespace().take(2) {
        let (value, unit) = part.split_at(part.find(|c: char| !c.is_ascii_digit())?);
        let value: f64 = value.parse().ok()?;
        total += value
            * match unit {
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return None,
            };
    }
    Some(total)
}

#[test]
fn screen_emulation_follows_cursor_moves_and_erases() {
    let shown = screen("a\r\n  bar 1\x1b[1A\r\x1b[2Kline\r\n\x1b[2K  bar 2\r\x1b[2K");
    assert_eq!(shown, vec!["line", ""]);
    assert_eq!(eta_seconds("x, ETA 3m 20s   "), Some(200.0));
    assert_eq!(eta_seconds("x, ETA 12s"), Some(12.0));
    assert_eq!(eta_seconds("x, ETA —"), None);
}

/// Issue 26.6: on a terminal a `0/7 tasks … ETA 00:00:00` line stayed on screen for the whole
/// run (the bar was drawn before the launch's first lines, which were written behind its
/// back), the sweep claimed `ETA 00:00:00` before anything was measured, and a 10-second
/// run's bar read `15m` at its first steps.
#[test]
fn issue_26_6_bars_on_a_terminal_leave_no_stale_line_and_claim_no_eta_unmeasured() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = small_sweep_args(out.to_str().unwrap(), &[]);
    let (ok, text, took) = run_on_a_terminal(&args);
    assert!(ok, "{text}");
    assert!(!text.contains("00:00:00 elapsed, ETA 00:00:00"), "{text}");
    assert!(!text.contains("ETA 00:"), "{text}");
    // Bars were drawn, and the first said that nothing had been measured yet.
    let first_bar = text
        .split(['\r', '\n'])
        .find(|l| is_bar(l))
        .unwrap_or_else(|| panic!("no sweep bar drawn:\n{text}"));
    assert!(
        first_bar.contains("0/7 tasks") && first_bar.contains("ETA —"),
        "{first_bar}"
    );
    // Once the launch has ended the screen holds its lines and no bar.
    let shown = screen(&text);
    for line in &shown {
        assert!(
            !is_bar(line),
            "a bar stayed on screen: {line:?}\n{}",
            shown.join("\n")
        );
    }
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("sweep `quickstart`: 3 runs")),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("sweep `quickstart` complete")),
        "{shown:?}"
    );
    // No run's bar ever promised more than a few times what the whole launch took.
    let longest = text
        .split(['\r', '\n'])
        .filter(|l| l.contains("] step "))
        .filter_map(eta_seconds)
        .fold(0.0, f64::max);
    assert!(
        longest <= 3.0 * took.as_secs_f64(),
        "a run's bar read ETA {longest} s in a launch of {took:?}"
    );
}

/// Issue 26.6: after a resume the counter ran `[1/7] … [6/7]`; the tasks that ended before
/// the launch now count (`[2/7]` first when one had). Keys in the log are the 16 hex digits
/// `plan` prints and the tables hold, and λ1 in the summary reads as `15.74`, not `1.573555e1`.
#[test]
fn issue_26_6_a_resumed_launch_counts_what_ended_before_it_and_logs_plans_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out = out.to_str().unwrap();
    // A first launch ends some tasks: one shard of three.
    let o = run(&small_sweep_args(out, &["--shard", "0/3"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&small_sweep_args(out, &[]));
    let log = stderr(&o);
    assert!(o.status.success(), "{log}");
    let before: usize = log
        .lines()
        .find_map(|l| l.strip_prefix("found: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `found:` line:\n{log}"));
    assert!((1..7).contains(&before), "{log}");
    let counted: Vec<usize> = log
        .lines()
        .filter_map(|l| l.strip_prefix('['))
        .filter_map(|l| l.split_once("/7]"))
        .map(|(k, _)| k.parse().unwrap())
        .collect();
    assert_eq!(
        counted,
        ((before + 1)..=7).collect::<Vec<_>>(),
        "the counter goes on from the tasks that ended before:\n{log}"
    );

    // Keys: those of `plan`, whole.
    let run_args = small_sweep_args(out, &[]);
    let mut plan_args = vec!["plan", run_args[1]];
    for pair in run_args[2..].chunks(2) {
        if matches!(pair[0], "--set" | "--out") {
            plan_args.extend_from_slice(pair);
        }
    }
    let planned = run(&plan_args);
    assert!(planned.status.success(), "{}", stderr(&planned));
    let plan = String::from_utf8_lossy(&planned.stdout).into_owned();
    let logged: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("start ") || l.starts_with('['))
        .filter_map(|l| l.split_once(" (")?.1.split_once(')').map(|(k, _)| k))
        .collect();
    assert_eq!(logged.len(), 2 * (7 - before), "{log}");
    for key in logged {
        assert!(
            key.len() == 16 && key.chars().all(|c| c.is_ascii_hexdigit()),
            "{key:?}: {log}"
        );
        assert!(
            plan.lines().any(|l| l.starts_with(key)),
            "{key} is not a key `plan` prints:\n{plan}"
        );
    }

    // λ1 of the last snapshot, as every summary and log prints eigenvalues.
    let summary = String::from_utf8_lossy(&o.stdout).into_owned();
    for (dir, optimizer) in run_dirs(std::path::Path::new(out))
        .iter()
        .zip(["sgd", "adam", "sam"])
    {
        let rows = read_snapshot_rows(&dir.join("snapshots")).unwrap();
        let last = rows.iter().map(|r| r.step).max().unwrap();
        let lambda1 = rows
            .iter()
            .find(|r| r.step == last && r.index == 1)
            .unwrap()
            .eigenvalue;
        let line = summary
            .lines()
            .find(|l| l.starts_with(&format!("synthetic/{optimizer}/0 ")))
            .unwrap_or_else(|| panic!("{summary}"));
        assert_eq!(
            line.split_whitespace().last(),
            Some(number(lambda1).as_str()),
            "{line}"
        );
    }
}

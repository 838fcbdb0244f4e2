//! End-to-end tests of `eigensweep validate` and `eigensweep plan`: the shipped sweep files,
//! broken files, overrides, and the plan's numbers, as a user sees them.

#[path = "support/mod.rs"]
mod support;

use eigensweep_common::exit_codes;

/// Runs `eigensweep ARGS` in the repository root (the shipped sweeps name their data relative
/// to their own folder, so any directory would do); returns (exit code, stdout, stderr).
fn eigensweep(args: &[&str]) -> (i32, String, String) {
    let out = support::run(args);
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        support::stderr(&out),
    )
}

/// A sweep file with `text` in a fresh temporary directory.
fn sweep_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sweep.yaml");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap().to_string();
    (dir, path)
}

/// The `key` column of the plan's runs table.
fn run_keys(plan_stdout: &str) -> Vec<String> {
    plan_stdout
        .lines()
        .skip_while(|l| *l != "runs")
        .skip(2)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

const SMALL: &str = "
name: small
datasets: [{name: synth, source: synthetic, train_size: 300}]
model: {hidden: [8]}
training: {steps: 20}
optimizers:
  - {name: sgd, kind: sgd}
  - {name: adam, kind: adam}
seeds: [0, 1]
snapshots: {schedule: {every: 10}}
baseline: {networks: 2}
";

#[test]
fn validate_lists_every_error_with_its_path_and_exits_3() {
    let broken = SMALL
        .replace("name: small", "name: small sweep")
        .replace("{name: sgd, kind: sgd}", "{name: sgd, kind: sgd, lr: -1}")
        .replace(
            "{name: adam, kind: adam}",
            "{name: sgd, kind: adam, beta2: 1.5}",
        )
        .replace(
            "seeds: [0, 1]",
            "seeds: [0, 1]\nextra_eigen: [{seeds: [7]}]",
        );
    let (_dir, file) = sweep_file(&broken);
    let (code, stdout, stderr) = eigensweep(&["validate", &file]);
    assert_eq!(code, exit_codes::INPUT, "{stdout}{stderr}");
    for expected in [
        // Each with the line and column of its value (issue 7: every message names where).
        format!("{file}:2:7: `name`: expected a name of letters"),
        format!("{file}:8:12: `optimizers[1].name`: expected a unique optimizer name (optimizers[0] has it too), got sgd"),
        format!("{file}:7:32: `optimizers[0].lr`: expected a positive number, got -1"),
        format!("{file}:8:36: `optimizers[1].beta2`: expected a number strictly between 0 and 1, got 1.5"),
        format!("{file}:10:24: `extra_eigen[0].seeds[0]`: expected one of the sweep's seeds, got 7"),
        format!("5 errors in the sweep {file}; nothing was run"),
    ] {
        assert!(stderr.contains(&expected), "missing {expected:?} in:\n{stderr}");
    }
    assert!(stdout.is_empty());
}

#[test]
fn unknown_fields_and_yaml_errors_are_located() {
    let (_dir, file) =
        sweep_file(&SMALL.replace("training: {steps: 20}", "training: {steps: 20, stesp: 5}"));
    let (code, _, stderr) = eigensweep(&["validate", &file]);
    assert_eq!(code, exit_codes::INPUT);
    assert!(
        stderr.contains(&format!(
            "{file}:5:23: `training.stesp`: unknown field `stesp`: expected one of steps, \
             batch_size, log_every, eval — did you mean steps?"
        )),
        "{stderr}"
    );

    let (_dir, file) = sweep_file("name: x\ndatasets: [\n");
    let (code, _, stderr) = eigensweep(&["validate", &file]);
    assert_eq!(code, exit_codes::INPUT);
    assert!(
        stderr.contains(&format!("{file}:3:1: did not find expected node content")),
        "{stderr}"
    );

    let (_dir, file) = sweep_file(&SMALL.replace("steps: 20}", "steps: twenty}"));
    let (code, _, stderr) = eigensweep(&["validate", &file]);
    assert_eq!(code, exit_codes::INPUT);
    assert!(
        stderr.contains("`training.steps`: expected a whole number ≥ 0, got the text \"twenty\""),
        "{stderr}"
    );
}

/// Issue 26.4: an unknown key, a text for a number and a word for a count took three rounds of
/// `validate`, and missing fields came one at a time; every one is reported in one run, by
/// every command that reads the file.
#[test]
fn every_structural_error_is_reported_in_one_run_issue_26() {
    let (_dir, file) = sweep_file(
        &SMALL
            .replace("training: {steps: 20}", "trainig: {steps: 20}")
            .replace(
                "{name: sgd, kind: sgd}",
                "{name: sgd, kind: sgd, lr: \"1e-2\"}",
            )
            .replace(
                "snapshots: {schedule: {every: 10}}",
                "snapshots: {schedule: {every: 10}, top_k: three}",
            ),
    );
    for command in ["validate", "plan", "run"] {
        let (code, stdout, stderr) = eigensweep(&[command, &file]);
        assert_eq!(code, exit_codes::INPUT, "{command}: {stdout}{stderr}");
        for expected in [
            format!(
                "{file}:5:1: `trainig`: unknown field `trainig`: expected one of name, output, \
                 datasets, model, training, optimizers, seeds, snapshots, extra_eigen, \
                 baseline, device — did you mean training?"
            ),
            format!("{file}:7:32: `optimizers[0].lr`: expected a number, got the text \"1e-2\""),
            format!(
                "{file}:10:43: `snapshots.top_k`: expected a whole number ≥ 0, got the text \
                 \"three\""
            ),
            format!("3 errors in the sweep {file}; nothing was run"),
        ] {
            assert!(
                stderr.contains(&expected),
                "{command}: missing {expected:?} in:\n{stderr}"
            );
        }
    }

    let (_dir, file) = sweep_file(
        &SMALL
            .replace("seeds: [0, 1]\n", "")
            .replace("{name: adam, kind: adam}", "{name: adam}"),
    );
    let (code, _, stderr) = eigensweep(&["validate", &file]);
    assert_eq!(code, exit_codes::INPUT, "{stderr}");
    for expected in [
        format!("{file}:8:5: `optimizers[1]`: the field `kind` is missing (it has no default)"),
        format!("{file}:2:1: the field `seeds` is missing (it has no default)"),
        format!("2 errors in the sweep {file}; nothing was run"),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

/// Issue 26.4: a misspelt path in `--set` was blamed on the sweep file.
#[test]
fn a_misspelt_set_path_is_blamed_on_the_override_with_the_path_it_meant() {
    let (_dir, file) = sweep_file(SMALL);
    let (code, _, stderr) = eigensweep(&["validate", &file, "--set", "trainng.steps=300"]);
    assert_eq!(code, exit_codes::INPUT, "{stderr}");
    assert!(
        stderr.contains(
            "--set trainng.steps=300: `trainng`: unknown field `trainng`: expected one of \
             name, output, datasets, model, training, optimizers, seeds, snapshots, \
             extra_eigen, baseline, device — did you mean training.steps?"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains(&format!("{file}:")), "{stderr}");
}

#[test]
fn a_missing_sweep_file_exits_3_naming_it() {
    let (code, stdout, stderr) = eigensweep(&["validate", "sweeps/no-such-sweep.yaml"]);
    assert_eq!(code, exit_codes::INPUT);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("cannot read sweep file sweeps/no-such-sweep.yaml"),
        "{stderr}"
    );
    // The operating system's words once, not once per error in the chain (issue 7).
    assert_eq!(stderr.matches("(os error 2)").count(), 1, "{stderr}");
    let (code, _, _) = eigensweep(&["plan", "sweeps/no-such-sweep.yaml"]);
    assert_eq!(code, exit_codes::INPUT);
}

#[test]
fn a_missing_dataset_directory_is_an_input_error() {
    let (_dir, file) = sweep_file(SMALL);
    let (code, _, stderr) =
        eigensweep(&["validate", &file, "--set", "datasets[0].source=no/such/dir"]);
    assert_eq!(code, exit_codes::INPUT);
    // The path was typed on the command line: it is read from the current directory, and the
    // message names the --set argument, not the file.
    let cwd = support::repo_root().canonicalize().unwrap();
    assert!(
        stderr.contains(&format!(
            "--set datasets[0].source=no/such/dir: `datasets[0].source`: dataset directory {} \
             does not exist",
            cwd.join("no/such/dir").display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(&format!("{file}: `")), "{stderr}");
}

#[test]
fn set_changes_keys_and_name_or_out_do_not() {
    let (_dir, file) = sweep_file(SMALL);
    let (code, stdout, stderr) = eigensweep(&["plan", &file]);
    assert_eq!(code, 0, "{stderr}");
    let base = run_keys(&stdout);
    assert_eq!(base.len(), 4, "{stdout}");

    let (_, stdout, _) = eigensweep(&["plan", &file, "--set", "optimizers[1].lr=3e-4"]);
    let changed = run_keys(&stdout);
    assert_eq!(changed[..2], base[..2], "the SGD runs keep their keys");
    assert!(
        changed[2] != base[2] && changed[3] != base[3],
        "the Adam runs get new keys"
    );

    let (_, stdout, _) = eigensweep(&[
        "plan",
        &file,
        "--set",
        "name=renamed",
        "--out",
        "/tmp/elsewhere",
    ]);
    assert_eq!(run_keys(&stdout), base);
    assert!(
        stdout.starts_with("sweep renamed → /tmp/elsewhere:"),
        "{stdout}"
    );

    let (_, stdout, _) = eigensweep(&["validate", &file, "--set", "seeds=[0, 1, 2]"]);
    assert!(
        stdout.ends_with("ok (6 runs, 2 baseline tasks)\n"),
        "{stdout}"
    );
}

#[test]
fn set_with_a_bad_path_or_value_is_an_input_error() {
    let (_dir, file) = sweep_file(SMALL);
    for (set, expected) in [
        (
            "optimizers[5].lr=1",
            "`optimizers[5].lr`: index 5 is out of range: `optimizers` has 2 entries",
        ),
        (
            "training.stpes=5",
            "`training.stpes`: unknown field `stpes`: expected one of steps, batch_size, \
             log_every, eval — did you mean steps?",
        ),
        (
            "training.steps=abc",
            "`training.steps`: expected a whole number ≥ 0, got the text \"abc\"",
        ),
        (
            "training.steps=1.5",
            "`training.steps`: expected a whole number ≥ 0, got 1.5",
        ),
        (
            "training.steps=-5",
            "`training.steps`: expected a whole number ≥ 0, got -5",
        ),
        (
            "optimizers[0].lr=-1",
            "`optimizers[0].lr`: expected a positive number, got -1",
        ),
        (
            "training.steps.every=5",
            "`training.steps.every`: `training.steps` is a number, not a mapping",
        ),
        (
            "training.steps",
            "`training.steps`: expected KEY.PATH=VALUE",
        ),
    ] {
        // Every message names the --set argument (not the file), the field and the value.
        let (code, _, stderr) = eigensweep(&["validate", &file, "--set", set]);
        assert_eq!(code, exit_codes::INPUT, "{set}");
        assert!(
            stderr.contains(&format!("--set {set}: {expected}")),
            "{set}: {stderr}"
        );
        assert!(!stderr.contains(&format!("{file}: `")), "{set}: {stderr}");
    }
}

#[test]
fn type_errors_in_the_file_are_in_words_with_a_suggestion() {
    let (_dir, file) = sweep_file(&SMALL.replace("kind: sgd}", "kind: sgdd}"));
    let (code, _, stderr) = eigensweep(&["validate", &file]);
    assert_eq!(code, exit_codes::INPUT);
    assert!(
        stderr.contains(&format!(
            "{file}:7:23: `optimizers[0].kind`: unknown value `sgdd`: expected one of sgd, \
             adam, adamw, rmsprop, sam — did you mean sgd?"
        )),
        "{stderr}"
    );
    for (steps, got) in [("-20", "-20"), ("20.5", "20.5")] {
        let (_dir, file) = sweep_file(&SMALL.replace("steps: 20}", &format!("steps: {steps}}}")));
        let (code, _, stderr) = eigensweep(&["validate", &file]);
        assert_eq!(code, exit_codes::INPUT);
        assert!(
            stderr.contains(&format!(
                "{file}:5:19: `training.steps`: expected a whole number ≥ 0, got {got}"
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("u64"), "{stderr}");
    }
}

#[test]
fn a_snapshot_step_past_the_end_is_dropped_with_a_warning() {
    let (_dir, file) = sweep_file(&SMALL.replace(
        "schedule: {every: 10}",
        "schedule: {every: 10, steps: [5, 25]}",
    ));
    for command in ["validate", "plan"] {
        let (code, _, stderr) = eigensweep(&[command, &file]);
        assert_eq!(code, exit_codes::SUCCESS, "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{file}:10:46: warning: `snapshots.schedule.steps[1]`: step 25 is past the last \
                 training step (training.steps = 20) and is not taken; remove it or raise \
                 training.steps"
            )),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn threads_is_not_an_option_of_commands_it_cannot_change() {
    let (_dir, file) = sweep_file(SMALL);
    let (code, _, stderr) = eigensweep(&["validate", &file, "--threads", "2"]);
    assert_eq!(code, exit_codes::USAGE, "{stderr}");
    assert!(stderr.contains("--threads"), "{stderr}");
    // On `plan` it describes the layout the wall time is estimated for.
    let (code, stdout, stderr) = eigensweep(&["plan", &file, "--threads", "2", "--jobs", "2"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("1 rank × 2 jobs × 1 thread per job"),
        "{stdout}"
    );
    let (code, _, stderr) = eigensweep(&["plan", &file, "--jobs", "0"]);
    assert_eq!(code, exit_codes::USAGE, "{stderr}");
    assert!(stderr.contains("--jobs"), "{stderr}");
}

#[test]
fn plan_prints_runs_baseline_and_totals() {
    let (_dir, file) = sweep_file(SMALL);
    let (code, stdout, stderr) = eigensweep(&["plan", &file]);
    assert_eq!(code, 0, "{stderr}");
    // N = 784·8 + 8 + 8·10 + 10 = 6,370; snapshots 0, 10, 20; top-3 → 20 + 2·11 = 42 HVPs;
    // eigenvectors 3 · 3 · 6,370 · 4 = 229,320 B, tables 20 · 64 + 9 · 96 = 2,144 B.
    assert!(stdout.contains("runs:     4 runs, 12 snapshots, 168 HVPs, 926 kB on disk (eigenvectors 917 kB, tables 8.58 kB)"), "{stdout}");
    // Baseline: 2 networks, top-3 cold solves of 20 products, 3 · 6,370 · 4 + 3 · 96 bytes each.
    assert!(
        stdout.contains("baseline: 2 tasks, 40 HVPs, 153 kB on disk"),
        "{stdout}"
    );
    assert!(
        stdout.contains("total:    208 HVPs, 1.08 MB on disk"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.contains(" synth ")).count(),
        6,
        "{stdout}"
    );
}

#[test]
fn plan_of_the_paper_sweep_shows_its_disk_estimate() {
    let (code, stdout, stderr) = eigensweep(&["plan", "sweeps/paper-mnist.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    // 12 runs at top-3 and 3 (seed 0) at top-15, 1,584 snapshots of 89,610 float32 each:
    // 1.70 GB of eigenvectors per top-3 run, as the study quotes; θ adds 0.57 GB per run.
    assert!(
        stdout.contains("runs:     15 runs, 23,760 snapshots"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(eigenvectors 46.0 GB, weights 8.52 GB, tables 108 MB)"),
        "{stdout}"
    );
    // HVPs: top-3 runs 20 + 1,583 · 11 = 17,433; top-15 at tol 0 (twice tol 1e-3) 2 · 68 +
    // 1,583 · 2 · 37 = 117,278; 12 · 17,433 + 3 · 117,278 + 100 baseline · 20 = 563,030.
    assert!(
        stdout.contains("total:    563,030 HVPs, 54.7 GB on disk"),
        "{stdout}"
    );
    // And the time it takes, with what the estimate assumes.
    assert!(stdout.contains("wall time ≈"), "{stdout}");
    assert!(stdout.contains("assumes:"), "{stdout}");
    assert_eq!(run_keys(&stdout).len(), 15);
}

/// Issue 14's grids as a user meets them: `validate` and `plan` show what an entry with lists
/// expands to, `run` trains every variant under its own partition with its own batch size,
/// and a bad list element is refused at its line, naming the element.
#[test]
fn optimizer_grids_are_shown_run_and_refused_by_element() {
    let grid = SMALL.replace(
        "  - {name: adam, kind: adam}",
        "  - {name: adam, kind: adam, lr: [1.0e-3, 3.0e-4]}\n  - {name: m, kind: sgd, momentum: 0.9, batch_size: [16, 32]}",
    );
    let (dir, file) = sweep_file(&grid);
    let (code, stdout, stderr) = eigensweep(&["validate", &file]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("ok (10 runs"), "{stdout}");
    assert!(
        stdout.contains("optimizer adam: 2 variants: adam-lr1e-3, adam-lr3e-4"),
        "{stdout}"
    );
    assert!(
        stdout.contains("optimizer m: 2 variants: m-bs16, m-bs32"),
        "{stdout}"
    );
    let (code, stdout, _) = eigensweep(&["plan", &file]);
    assert_eq!(code, 0);
    assert!(stdout.contains("m-bs32"), "{stdout}");

    let out = dir.path().join("out");
    let (code, _, stderr) = eigensweep(&[
        "run",
        &file,
        "--out",
        out.to_str().unwrap(),
        "--set",
        "seeds=[0]",
        "--set",
        "baseline.networks=0",
    ]);
    assert_eq!(code, 0, "{stderr}");
    for variant in ["sgd", "adam-lr1e-3", "adam-lr3e-4", "m-bs16", "m-bs32"] {
        let done = out
            .join("runs/dataset=synth")
            .join(format!("optimizer={variant}"))
            .join("seed=0/_SUCCESS");
        assert!(done.is_file(), "{}", done.display());
    }

    let bad = grid.replace("lr: [1.0e-3, 3.0e-4]", "lr: [1.0e-3, -3.0e-4]");
    let (_bad_dir, bad_file) = sweep_file(&bad);
    let (code, _, stderr) = eigensweep(&["validate", &bad_file]);
    assert_eq!(code, exit_codes::INPUT);
    assert!(
        stderr.contains("`optimizers[1].lr[1]`: expected a positive number, got -0.0003"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("{bad_file}:8:")), "{stderr}");
}

//! End-to-end tests of issue 27's field faults around a task's recorded state: a narrower
//! sweep file on the same output, `--shard` launches mixed with whole-sweep launches, a
//! checkpoint of a newer eigensweep, a torn runs table or snapshot part, a Slurm job array
//! resubmitted in part, and settings that reach the launch from the environment. Each asserts
//! the exit code, the message and that nothing recorded was lost.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use eigensweep_common::exit_codes;
use eigensweep_worker::output::{read_run_records, runs_table_files, RunRecord};
use sha2::{Digest, Sha256};
use support::{binary, eigensweep, stderr};

/// A sweep of `optimizers` (of sgd, adam) × seeds 0 and 1 and a 2-network baseline on tiny
/// synthetic data, written to `dir/NAME.yaml`, output `dir/out`.
fn tiny_sweep(dir: &Path, name: &str, optimizers: &[&str]) -> PathBuf {
    let lines: Vec<&str> = optimizers
        .iter()
        .map(|o| match *o {
            "sgd" => "  - {name: sgd, kind: sgd, lr: 1.0e-2}",
            "adam" => "  - {name: adam, kind: adam, lr: 1.0e-3}",
            other => panic!("no such optimiser in the test sweep: {other}"),
        })
        .collect();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "name: tiny
datasets:
  - {{name: synthetic, source: synthetic, train_size: 200, test_size: 50}}
model: {{hidden: [8]}}
training: {{steps: 20, batch_size: 50}}
optimizers:
{}
seeds: [0, 1]
snapshots: {{schedule: {{every: 10}}, top_k: 1, tol: 1.0e-3, hessian_samples: 100}}
baseline: {{networks: 2, top_k: 1}}
",
            lines.join("\n")
        ),
    )
    .unwrap();
    path
}

/// `run SWEEP --out FOLDER/out` (the folder of the sweep file).
fn launch(sweep: &Path, extra: &[&str]) -> std::process::Output {
    let out = sweep.parent().unwrap().join("out");
    let mut args = vec![
        "run",
        sweep.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads-per-run",
        "1",
    ];
    args.extend_from_slice(extra);
    eigensweep(&args).output().unwrap()
}

fn assert_exit(o: &std::process::Output, code: i32, context: &str) {
    assert_eq!(o.status.code(), Some(code), "{context}:\n{}", stderr(o));
}

/// Every row of every runs table of `out`, with the table it is in.
fn all_rows(out: &Path) -> Vec<(String, RunRecord)> {
    runs_table_files(out)
        .into_iter()
        .flat_map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            read_run_records(&p)
                .unwrap()
                .into_iter()
                .map(move |r| (name.clone(), r))
        })
        .collect()
}

fn label(r: &RunRecord) -> String {
    match (&r.optimizer, r.seed, r.network) {
        (Some(o), Some(s), _) => format!("{o}/{s}"),
        (_, _, Some(n)) => format!("baseline/{n}"),
        _ => r.key.clone(),
    }
}

/// Issue 27.3: a narrower file keeps the finished rows it no longer lists, says so, and the
/// first file again finds them with their history.
#[test]
fn a_narrower_sweep_file_keeps_the_finished_runs_rows() {
    let dir = tempfile::tempdir().unwrap();
    let both = tiny_sweep(dir.path(), "both", &["sgd", "adam"]);
    let adam = tiny_sweep(dir.path(), "adam", &["adam"]);
    let out = dir.path().join("out");
    assert_exit(&launch(&both, &[]), 0, "the first launch");
    let before: BTreeMap<String, RunRecord> = all_rows(&out)
        .into_iter()
        .map(|(_, r)| (label(&r), r))
        .collect();
    assert_eq!(before.len(), 6, "{:?}", before.keys());

    let narrowed = launch(&adam, &[]);
    assert_exit(&narrowed, 0, "the narrower launch");
    let err = stderr(&narrowed);
    assert!(
        err.contains("2 task(s) recorded in this output are not in this sweep file")
            && err.contains("sgd/0")
            && err.contains("in_sweep = false"),
        "the launch says what it kept:\n{err}"
    );
    let rows = all_rows(&out);
    assert_eq!(rows.len(), 6, "nothing vanished: {rows:?}");
    for (_, r) in &rows {
        let old = &before[&label(r)];
        assert_eq!(r.status, "done", "{}", label(r));
        assert_eq!(r.host, old.host, "{} keeps its host", label(r));
        assert_eq!(r.steps_done, old.steps_done, "{}", label(r));
        assert_eq!(r.wall_seconds, old.wall_seconds, "{}", label(r));
        let listed = r.optimizer.as_deref() != Some("sgd");
        assert_eq!(r.in_sweep, Some(listed), "{}", label(r));
    }
    // status counts the file's 4 tasks and lists the 2 kept apart.
    let status = eigensweep(&["status", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_exit(&status, 0, "status after the narrower launch");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("4 tasks: 4 done"), "{text}");
    assert!(
        text.contains("outside this sweep file: 2 task(s)")
            && text.contains("(not in this sweep file)"),
        "{text}"
    );

    // The first file again: the sgd rows are listed again, with their history.
    assert_exit(&launch(&both, &[]), 0, "the first file again");
    for (_, r) in all_rows(&out) {
        let old = &before[&label(&r)];
        assert_eq!(r.in_sweep, Some(true), "{}", label(&r));
        assert_eq!(
            (&r.host, r.steps_done),
            (&old.host, old.steps_done),
            "{}",
            label(&r)
        );
    }
}

/// Issue 27.5: shards, then a whole-sweep launch, then a mop-up shard of another split: one
/// row per task in `runs*.parquet`, and the shard's record carried forward.
#[test]
fn shard_then_whole_sweep_then_another_split_leave_one_row_per_task() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = tiny_sweep(dir.path(), "both", &["sgd", "adam"]);
    let out = dir.path().join("out");
    assert_exit(&launch(&sweep, &["--shard", "0/2"]), 0, "shard 0/2");
    let shard_rows = all_rows(&out);
    assert!(shard_rows
        .iter()
        .all(|(t, _)| t == "runs-shard-0-of-2.parquet"));
    let finished_by_shard: BTreeMap<String, RunRecord> = shard_rows
        .into_iter()
        .filter(|(_, r)| r.status == "done")
        .map(|(_, r)| (r.key.clone(), r))
        .collect();
    assert_eq!(
        finished_by_shard.len(),
        3,
        "shard 0/2 runs tasks 0, 2 and 4"
    );

    assert_exit(&launch(&sweep, &[]), 0, "the whole sweep");
    let rows = all_rows(&out);
    assert!(
        rows.iter().all(|(t, _)| t == "runs.parquet"),
        "the shard table was folded in: {:?}",
        rows.iter().map(|(t, _)| t).collect::<Vec<_>>()
    );
    assert_eq!(rows.len(), 6);
    for (_, r) in &rows {
        assert_eq!(r.status, "done");
        if let Some(old) = finished_by_shard.get(&r.key) {
            // The whole-sweep launch took the shard's record over, not rebuilt it.
            assert_eq!(r.host, old.host);
            assert_eq!(r.steps_done, old.steps_done);
            assert_eq!(r.snapshots_done, old.snapshots_done);
            assert_eq!(r.start_time, old.start_time);
            assert!(r.host.is_some() && r.snapshots_done.is_some(), "{r:?}");
        }
    }

    assert_exit(
        &launch(&sweep, &["--shard", "1/3"]),
        0,
        "the mop-up shard 1/3",
    );
    let rows = all_rows(&out);
    let mut keys: Vec<&str> = rows.iter().map(|(_, r)| r.key.as_str()).collect();
    keys.sort();
    let total = keys.len();
    keys.dedup();
    assert_eq!((total, keys.len()), (6, 6), "one row per task: {rows:?}");
    let tables: std::collections::BTreeSet<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        tables,
        ["runs-shard-1-of-3.parquet", "runs.parquet"]
            .into_iter()
            .collect()
    );
    assert!(rows
        .iter()
        .all(|(_, r)| r.status == "done" && r.host.is_some()));
    if support::duckdb_available() {
        let glob = format!("{}/runs*.parquet", out.display());
        let count = support::python(&[
            "-c",
            &format!(
                "import duckdb; print(duckdb.sql(\"SELECT count(*), count(DISTINCT key) FROM read_parquet('{glob}')\").fetchall()[0])"
            ),
        ]);
        assert_eq!(count.trim(), "(6, 6)", "docs/RUNNING.md's query");
    }
}

/// Seals `body` (magic and fields) with its SHA-256, as every checkpoint ends.
fn sealed(body: &[u8]) -> Vec<u8> {
    let mut bytes = body.to_vec();
    bytes.extend_from_slice(&Sha256::digest(body));
    bytes
}

/// Issue 27.4: a checkpoint of a newer build (new magic, or one more trailing field, checksum
/// valid) is refused before any task is dispatched, with what to do; the file is untouched.
#[test]
fn a_checkpoint_of_a_newer_build_is_refused_before_dispatch() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = tiny_sweep(dir.path(), "sgd", &["sgd"]);
    let out = dir.path().join("out");
    assert_exit(&launch(&sweep, &[]), 0, "the first launch");
    let run = out.join("runs/dataset=synthetic/optimizer=sgd/seed=1");
    std::fs::remove_file(run.join("_SUCCESS")).unwrap();
    let checkpoint = run.join("checkpoint.bin");
    let bytes = std::fs::read(&checkpoint).unwrap();
    let body = &bytes[..bytes.len() - 32];
    let mut new_magic = body.to_vec();
    new_magic[..8].copy_from_slice(b"ESCKPT03");
    let mut more_fields = body.to_vec();
    more_fields.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0, 0]);
    for (what, body) in [("a new magic", new_magic), ("a new field", more_fields)] {
        let newer = sealed(&body);
        std::fs::write(&checkpoint, &newer).unwrap();
        let table_before = std::fs::read(out.join("runs.parquet")).unwrap();
        let o = launch(&sweep, &[]);
        assert_exit(&o, exit_codes::INPUT, what);
        let err = stderr(&o);
        assert!(
            err.contains("written by a newer eigensweep")
                && err.contains("seed=1/checkpoint.bin")
                && err.contains("resume this output with the eigensweep that wrote it"),
            "{what}: {err}"
        );
        assert!(
            !err.contains("0 resuming"),
            "refused before the launch starts: {err}"
        );
        assert_eq!(
            std::fs::read(&checkpoint).unwrap(),
            newer,
            "{what}: untouched"
        );
        assert_eq!(
            std::fs::read(out.join("runs.parquet")).unwrap(),
            table_before,
            "{what}: the runs table is untouched"
        );
    }
}

/// Issue 27.4: `status` on a torn runs table reads the markers (done stays done) and says what
/// to do; `analyze` on a torn snapshot part exits 3 (bad input), not 4 (cannot write).
#[test]
fn torn_inputs_are_read_around_or_refused_as_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = tiny_sweep(dir.path(), "sgd", &["sgd"]);
    let out = dir.path().join("out");
    assert_exit(&launch(&sweep, &[]), 0, "the launch");
    let table = out.join("runs.parquet");
    let bytes = std::fs::read(&table).unwrap();
    std::fs::write(&table, &bytes[..bytes.len() / 2]).unwrap();
    let status = eigensweep(&["status", out.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout).into_owned() + &stderr(&status);
    assert_exit(&status, 0, &text);
    assert!(text.contains("4 tasks: 4 done"), "{text}");
    assert!(
        text.contains("runs.parquet cannot be read") && text.contains("rebuilds the table"),
        "{text}"
    );

    let part = out.join("runs/dataset=synthetic/optimizer=sgd/seed=0/snapshots/part-00000.parquet");
    let bytes = std::fs::read(&part).unwrap();
    std::fs::write(&part, &bytes[..bytes.len() - 9]).unwrap();
    let o = eigensweep(&["analyze", out.to_str().unwrap(), "-w", "1"])
        .output()
        .unwrap();
    assert_exit(&o, exit_codes::INPUT, "analyze on a torn part");
    assert!(stderr(&o).contains("part-00000.parquet"), "{}", stderr(&o));
}

/// Issue 27.6: resubmitting only some indices of a Slurm array keeps the split of the first
/// submission; a submission that cannot know it stops with exit 2 and says what to do.
#[test]
fn a_resubmitted_array_task_keeps_the_first_submissions_split() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = tiny_sweep(dir.path(), "both", &["sgd", "adam"]);
    let script = support::repo_root().join("cluster/slurm-array.sbatch");
    let array = |id: &str, min: &str, max: &str, count: &str, submit: &Path| {
        let o = Command::new("bash")
            .arg(&script)
            .arg(&sweep)
            .arg("--out")
            .arg(dir.path().join("out"))
            .current_dir(dir.path())
            .env("EIGENSWEEP", binary())
            .env("SLURM_SUBMIT_DIR", submit)
            .env("SLURM_ARRAY_JOB_ID", "77")
            .env("SLURM_ARRAY_TASK_ID", id)
            .env("SLURM_ARRAY_TASK_MIN", min)
            .env("SLURM_ARRAY_TASK_MAX", max)
            .env("SLURM_ARRAY_TASK_COUNT", count)
            .env("SLURM_CPUS_PER_TASK", "1")
            .env_remove("EIGENSWEEP_SHARDS")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o);
        (o.status.code(), text)
    };
    // --array=0-3 runs task 0; task 3 is lost. `--array=3` alone must still run shard 3/4.
    let (code, text) = array("0", "0", "3", "4", dir.path());
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = array("3", "3", "3", "1", dir.path());
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("K=4"), "{text}");
    let tables: Vec<String> = runs_table_files(&dir.path().join("out"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        tables,
        ["runs-shard-0-of-4.parquet", "runs-shard-3-of-4.parquet"]
    );
    // Another submission directory has no record: a partial range cannot know K.
    let elsewhere = tempfile::tempdir().unwrap();
    let (code, text) = array("1", "1", "3", "2", elsewhere.path());
    assert_eq!(code, Some(exit_codes::USAGE), "{text}");
    assert!(
        text.contains("does not cover 0-(K-1)") && text.contains("EIGENSWEEP_SHARDS=K"),
        "{text}"
    );
    // An index beyond the recorded split.
    let (code, text) = array("5", "5", "5", "1", dir.path());
    assert_eq!(code, Some(exit_codes::USAGE), "{text}");
    assert!(
        text.contains("outside the sweep's split into K=4"),
        "{text}"
    );
}

/// Issue 27.7: a bad value in an option's environment variable is named by the variable.
#[test]
fn a_bad_environment_variable_is_named_by_its_name() {
    for (variable, value, flag) in [
        ("EIGENSWEEP_PROGRESS_SECONDS", "soon", "--progress-seconds"),
        ("EIGENSWEEP_DEVICE", "tpu", "--device"),
    ] {
        let o = eigensweep(&["run", "sweeps/quickstart.yaml"])
            .env(variable, value)
            .output()
            .unwrap();
        assert_exit(&o, exit_codes::USAGE, variable);
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "in the environment variable {variable} (which sets {flag})"
            )) && err.contains(value),
            "{err}"
        );
    }
    // Typed on the command line, the option is named as before.
    let o = eigensweep(&[
        "run",
        "sweeps/quickstart.yaml",
        "--progress-seconds",
        "soon",
    ])
    .output()
    .unwrap();
    assert_exit(&o, exit_codes::USAGE, "--progress-seconds soon");
    assert!(stderr(&o).contains("--progress-seconds"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("environment variable"),
        "{}",
        stderr(&o)
    );
}

/// Issue 27.7: `validate` applies the launch's f32 check to `normalize.std`.
#[test]
fn validate_refuses_a_std_that_is_zero_in_f32() {
    let o = eigensweep(&[
        "validate",
        "sweeps/quickstart.yaml",
        "--set",
        "datasets[0].normalize={mean: 0.1307, std: 1e-300}",
    ])
    .output()
    .unwrap();
    assert_exit(&o, exit_codes::INPUT, "validate");
    let err = stderr(&o);
    assert!(
        err.contains("datasets[0].normalize.std") && err.contains("f32"),
        "{err}"
    );
}

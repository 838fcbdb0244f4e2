//! Issue 11 §3, "the network's shape follows the data everywhere": IDX data of other image
//! sizes and class counts than MNIST's through every command (`plan`, `validate`, `run`,
//! `status`, `analyze`, `minima`, `report`), and data no network can be built for refused
//! before anything runs, naming the file, what was found and what is needed.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use eigensweep_common::exit_codes;
use eigensweep_worker::data::{write_idx_images, write_idx_labels};
use eigensweep_worker::output::{
    read_run_records, read_snapshot_rows, write_table_atomically, RunRecord,
};
use support::{run, stderr};

/// A learnable dataset directory: `n` training and `n / 4` test images of `side × side`
/// pixels, label `labels[i % labels.len()]` for sample i, each class a bright block of its
/// own position on a noisy background; gzip files when `gz` (plan reads their headers).
fn dataset(dir: &Path, side: usize, n: usize, labels: &[u8], gz: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let suffix = if gz { ".gz" } else { "" };
    for (role, count) in [("train", n), ("t10k", n / 4)] {
        let mut pixels = Vec::with_capacity(count * side * side);
        let mut ys = Vec::with_capacity(count);
        for i in 0..count {
            let label = labels[i % labels.len()];
            let block = usize::from(label) % (side * side / 4);
            for p in 0..side * side {
                let noise = ((i * 31 + p * 17) % 23) as u8;
                let bright = p / 4 == block;
                pixels.push(if bright { 200 + noise } else { noise });
            }
            ys.push(label);
        }
        let images = dir.join(format!("{role}-images-idx3-ubyte{suffix}"));
        write_idx_images(&images, side, side, &pixels, gz).unwrap();
        let label_file = dir.join(format!("{role}-labels-idx1-ubyte{suffix}"));
        write_idx_labels(&label_file, &ys, gz).unwrap();
    }
}

/// A sweep over 32 × 32 images of 10 classes (`wide`, gzip) and 8 × 8 images of EMNIST
/// letters' labels 1..26 (`letters`), tiny hidden layer, two optimisers.
fn sweep(root: &Path) -> PathBuf {
    dataset(
        &root.join("wide"),
        32,
        200,
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        true,
    );
    let letters: Vec<u8> = (1..=26).collect();
    dataset(&root.join("letters"), 8, 208, &letters, false);
    let file = root.join("shapes.yaml");
    std::fs::write(
        &file,
        "name: shapes
datasets:
  - {name: wide, source: wide}
  - {name: letters, source: letters}
model: {hidden: [6]}
training: {steps: 30, batch_size: 32, eval: {every: 10}}
optimizers:
  - {name: sgd, kind: sgd, lr: 0.05}
  - {name: adam, kind: adam, lr: 0.003}
seeds: [0]
snapshots: {schedule: {every: 10}, top_k: 2, store_weights: true}
baseline: {networks: 2, top_k: 1}
",
    )
    .unwrap();
    file
}

/// N of a network with these widths.
fn parameters(widths: &[usize]) -> usize {
    widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn issue11_other_image_sizes_and_class_counts_work_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep(tmp.path());
    let file_s = file.to_str().unwrap();
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    let wide = [1024, 6, 10];
    let letters = [64, 6, 27];
    let (n_wide, n_letters) = (parameters(&wide), parameters(&letters));
    assert_eq!((n_wide, n_letters), (6220, 579));

    // plan: each dataset's network and N, and estimates on it: per run 4 snapshots × top-2 ×
    // N × 4 bytes (2 runs per dataset: 64 · (6,220 + 579) = 435,136 B), per baseline network
    // top-1 × N × 4 (2 per dataset: 54,392 B).
    let o = run(&["plan", file_s, "--out", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let network = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
    };
    assert_eq!(
        network("wide"),
        Some(vec!["wide", "1024-6-10", "6,220"]),
        "{text}"
    );
    assert_eq!(
        network("letters"),
        Some(vec!["letters", "64-6-27", "579"]),
        "{text}"
    );
    assert!(text.contains("(eigenvectors 435 kB"), "{text}");
    assert!(text.contains("baseline: 4 tasks"), "{text}");
    assert!(text.contains("(eigenvectors 54.4 kB"), "{text}");
    // The letters' class 0 has no sample: said, not refused.
    let notes = stderr(&o);
    assert!(
        notes.contains("the training labels in")
            && notes.contains(
                "run from 1 to 26: the network has 27 outputs, one per label value 0..=26"
            )
            && notes.contains("0 has no training sample"),
        "{notes}"
    );

    let o = run(&["validate", file_s, "--out", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));

    let o = run(&["run", file_s, "--out", out_s, "--threads-per-run", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (dataset, widths) in [("wide", &wide[..]), ("letters", &letters[..])] {
        for opt in ["sgd", "adam"] {
            let dir = out.join(format!("runs/dataset={dataset}/optimizer={opt}/seed=0"));
            let rows = read_snapshot_rows(&dir.join("snapshots")).unwrap();
            assert_eq!(rows.len(), 8, "{}", dir.display());
            assert!(rows
                .iter()
                .all(|r| r.eigenvector.len() == parameters(widths)));
        }
    }
    // The runs table records each task's network, for the stages that load no data.
    let records = read_run_records(&out.join("runs.parquet")).unwrap();
    assert_eq!(records.len(), 8);
    for r in &records {
        let widths = if r.dataset == "wide" {
            "[1024,6,10]"
        } else {
            "[64,6,27]"
        };
        assert!(
            r.config_json.contains(&format!("\"widths\":{widths}")),
            "{}",
            r.config_json
        );
    }

    let o = run(&["status", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["analyze", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "minima",
        out_s,
        "--alpha-points",
        "5",
        "--sharpness-iterations",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("wide") && text.contains("letters"), "{text}");

    let o = run(&["report", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(!text.contains("not available"), "{text}");
    for dataset in ["wide", "letters"] {
        for fig in ["fig03-ipr", "fig08-minima", "fig16-eigenvector-map"] {
            let svg = out.join(format!("report/{dataset}/{fig}.svg"));
            assert!(svg.is_file(), "{}: {text}", svg.display());
        }
        let csv =
            std::fs::read_to_string(out.join(format!("report/{dataset}/fig03-ipr.csv"))).unwrap();
        assert!(csv.contains("1/N"), "Figure 3 marks 1/N: {csv}");
    }

    // An output written before the widths were recorded (runs table without them) is still
    // reported, from the data's headers, and a relaunch skips every finished task and records
    // the widths.
    let legacy: Vec<RunRecord> = records
        .iter()
        .cloned()
        .map(|mut r| {
            let start = r.config_json.find(",\"widths\"").unwrap();
            r.config_json
                .replace_range(start..r.config_json.len() - 1, "");
            r
        })
        .collect();
    assert!(legacy.iter().all(|r| !r.config_json.contains("widths")));
    write_table_atomically(&out.join("runs.parquet"), &legacy).unwrap();
    let o = run(&["report", out_s, "--no-minima"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("not available"), "{}", stdout(&o));
    let o = run(&["status", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["run", file_s, "--out", out_s, "--threads-per-run", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("found: 8 tasks finished (skipped), 0 resuming from a checkpoint, 0 starting from scratch"),
        "{}",
        stderr(&o)
    );
    let again = read_run_records(&out.join("runs.parquet")).unwrap();
    assert_eq!(again.len(), records.len());
    for old in &records {
        let new = again.iter().find(|r| r.key == old.key).unwrap();
        assert_eq!(old.config_json, new.config_json);
        assert_eq!(
            old.end_time, new.end_time,
            "finished tasks keep their history"
        );
    }
}

/// `validate` and `run` on a sweep of the one dataset in `dir`: both exit 3 before anything
/// runs (no output directory), and every message names `want` (file, field, value).
fn refused(tmp: &Path, dir: &Path, want: &[String]) {
    let file = tmp.join("bad.yaml");
    std::fs::write(
        &file,
        format!(
            "name: bad
datasets: [{{name: d, source: {}}}]
model: {{hidden: [3]}}
training: {{steps: 5}}
optimizers: [{{name: sgd, kind: sgd}}]
seeds: [0]
snapshots: {{schedule: {{every: 5}}}}
baseline: {{networks: 1, top_k: 1}}
",
            dir.display()
        ),
    )
    .unwrap();
    let out = tmp.join("out");
    for command in ["validate", "plan", "run"] {
        let o = run(&[
            command,
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(
            o.status.code(),
            Some(exit_codes::INPUT),
            "{command}: {}",
            stderr(&o)
        );
        let text = stderr(&o);
        for w in want {
            assert!(text.contains(w.as_str()), "{command}: want {w:?} in {text}");
        }
        assert!(text.contains("`datasets[0].source`"), "{command}: {text}");
        assert!(!out.exists(), "{command} created the output");
    }
}

#[test]
fn data_no_network_can_be_built_for_is_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let file = |dir: &Path, name: &str| dir.join(name).display().to_string();

    // A test label above the largest training label: no output for that class.
    let d = root.join("unknown-class");
    dataset(&d, 4, 40, &[0, 1, 2], false);
    write_idx_labels(
        &d.join("t10k-labels-idx1-ubyte"),
        &[0, 1, 7, 2, 1, 0, 1, 2, 0, 1],
        false,
    )
    .unwrap();
    refused(
        root,
        &d,
        &[format!(
            "reading {}: label 7 at index 2 is not a class of the training set: the largest \
             label in {} is 2, so the network has 3 outputs (classes 0..=2)",
            file(&d, "t10k-labels-idx1-ubyte"),
            file(&d, "train-labels-idx1-ubyte")
        )],
    );

    // Labels that do not match the images.
    let d = root.join("count");
    dataset(&d, 4, 40, &[0, 1], false);
    write_idx_labels(&d.join("train-labels-idx1-ubyte"), &[0, 1, 0], false).unwrap();
    refused(
        root,
        &d,
        &[format!(
            "reading {}: 40 images but {} has 3 labels",
            file(&d, "train-images-idx3-ubyte"),
            file(&d, "train-labels-idx1-ubyte")
        )],
    );

    // One class only: nothing to classify.
    let d = root.join("one-class");
    dataset(&d, 4, 40, &[5], false);
    refused(
        root,
        &d,
        &[format!(
            "reading {}: every one of its 40 labels is 5: a classifier needs at least 2 classes",
            file(&d, "train-labels-idx1-ubyte")
        )],
    );

    // Colour images (count × rows × cols × channels).
    let d = root.join("colour");
    dataset(&d, 4, 40, &[0, 1], false);
    let mut colour = vec![0, 0, 0x08, 4];
    for size in [40u32, 4, 4, 3] {
        colour.extend_from_slice(&size.to_be_bytes());
    }
    colour.extend(vec![9u8; 40 * 4 * 4 * 3]);
    std::fs::write(d.join("train-images-idx3-ubyte"), colour).unwrap();
    refused(
        root,
        &d,
        &[format!(
            "reading {}: bad header: 4-dimensional images (40 × 4 × 4 × 3), i.e. with colour \
             channels: only grey images",
            file(&d, "train-images-idx3-ubyte")
        )],
    );
}

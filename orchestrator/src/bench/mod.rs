//! `eigensweep bench`: measures, in one process and one run, what the numerical core's targets
//! are stated in — training steps per second, one Hessian-vector product against its GEMM
//! floor, products and seconds per top-3 snapshot cold versus warm — and, when `torch` is
//! importable, the PyTorch double-backward HVP on the same data.
//!
//! Everything is a ratio of quantities measured side by side (interleaved repetitions, best
//! of each), because the machines are shared and absolute times drift.

mod analysis;
mod arpack;
mod calibrate;
mod eigen;
mod fleet;
mod fused;
mod gpu;
mod hvp;
mod shared_hvp;
mod torch;
pub(crate) mod training;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use eigensweep_common::exit_codes;
use eigensweep_worker::data::{load_dir, test_mnist_dir, TrainTest};

use crate::cli::BenchArgs;
use crate::failure::{Failure, WithExitCode};

/// Runs the benchmark and prints (and optionally appends) a Markdown report.
pub fn run(args: BenchArgs) -> Result<(), Failure> {
    if args.analysis {
        let report = format!(
            "## `eigensweep bench --analysis{}` — {}\n\n{}",
            if args.quick { " --quick" } else { "" },
            timestamp(),
            analysis::measure(args.analysis_snapshots, args.analysis_k, args.quick)?
        );
        return emit(&report, args.write.as_deref());
    }
    if args.analysis_update {
        let report = format!(
            "## `eigensweep bench --analysis-update{}` — {}\n\n{}",
            if args.quick { " --quick" } else { "" },
            timestamp(),
            analysis::measure_update(
                args.update_runs,
                args.update_snapshots,
                args.analysis_k,
                args.quick
            )?
        );
        return emit(&report, args.write.as_deref());
    }
    if args.fleet {
        let report = format!(
            "## `eigensweep bench --fleet{}` — {}\n\n{}",
            if args.quick { " --quick" } else { "" },
            timestamp(),
            fleet::measure(args.quick)?
        );
        return emit(&report, args.write.as_deref());
    }
    let dir: PathBuf = args.mnist_dir.clone().unwrap_or_else(test_mnist_dir);
    if args.gpu {
        if !args.device.is_cuda() {
            return Err(Failure {
                code: exit_codes::USAGE,
                error: anyhow::anyhow!(
                    "--gpu measures a GPU: --device must be cuda or cuda:N, not {}",
                    args.device
                ),
            });
        }
        // The device first: a machine without one is told so before the data loads.
        eigensweep_worker::device::open(args.device, 0).map_err(|e| Failure {
            code: exit_codes::USAGE,
            error: anyhow::anyhow!("--device {}: {e}", args.device),
        })?;
    }
    let data: TrainTest = load_dir(&dir).exit_code(
        exit_codes::INPUT,
        format!("loading MNIST for the benchmark from {}", dir.display()),
    )?;
    if args.gpu {
        let samples = if args.quick { 8_000 } else { args.hvp_samples };
        let report = format!(
            "## `eigensweep bench --gpu{}` — {}\n\n{}",
            if args.quick { " --quick" } else { "" },
            timestamp(),
            gpu::measure(args.device, &data, samples, args.quick).map_err(Failure::from)?
        );
        return emit(&report, args.write.as_deref());
    }
    if args.fused {
        let members: Vec<usize> = if args.quick {
            vec![1, 4]
        } else {
            args.fused_members.clone()
        };
        let report = format!(
            "## `eigensweep bench --fused --fused-device {}{}` — {}\n\n{}Data: {} ({} train images).\n\n{}",
            args.fused_device,
            if args.quick { " --quick" } else { "" },
            timestamp(),
            machine_line(),
            dir.display(),
            data.train.len,
            fused::measure(&data, args.fused_device, &members, args.quick).map_err(Failure::from)?
        );
        return emit(&report, args.write.as_deref());
    }
    if args.calibrate {
        let path = match &args.calibration {
            Some(p) => p.clone(),
            None => crate::calibration::default_path().exit_code(
                exit_codes::OUTPUT,
                "choosing where to store the calibration",
            )?,
        };
        crate::console::note!("calibrating: training steps, one HVP, set-up and evaluation …");
        let stamp = timestamp();
        let (c, table) = calibrate::measure(&data, if args.quick { 100 } else { 1000 }, &stamp)
            .map_err(Failure::from)?;
        crate::calibration::store(&path, &c).exit_code(
            exit_codes::OUTPUT,
            format!("storing the calibration in {}", path.display()),
        )?;
        let report = format!(
            "## `eigensweep bench --calibrate{}` — {stamp}\n\n{}Data: {} ({} train images).\n\n{table}\n\
             Stored in `{}`; `eigensweep plan FILE` reads it from there (or `--calibration FILE`).\n\n",
            if args.quick { " --quick" } else { "" },
            machine_line(),
            dir.display(),
            data.train.len,
            path.display()
        );
        return emit(&report, args.write.as_deref());
    }
    if args.eigen {
        let spec = eigen::Spec {
            k: args.eigen_k,
            tol: args.eigen_tol,
            arpack: true,
        };
        let mut report = format!(
            "## `eigensweep bench --eigen --eigen-k {} --eigen-tol {}` — {}\n\n{}Data: {} ({} train images).\n\n",
            spec.k,
            spec.tol,
            timestamp(),
            machine_line(),
            dir.display(),
            data.train.len
        );
        for start in [0, args.late_start] {
            crate::console::note!("eigensolver along SGD from step {start} …");
            let (text, _) =
                eigen::measure(&data, args.snapshots, start, spec).map_err(Failure::from)?;
            report.push_str(&text);
        }
        return emit(&report, args.write.as_deref());
    }
    if args.hvp {
        let samples = if args.quick { 8_000 } else { args.hvp_samples };
        crate::console::note!("Hessian-vector product against its GEMM floor …");
        let (table, _, _) =
            hvp::measure(&data, samples, args.hvp_reps as usize).map_err(Failure::from)?;
        let report = format!(
            "## `eigensweep bench --hvp --hvp-reps {}{}` — {}\n\n{}Data: {} ({} train images).\n\n{table}",
            args.hvp_reps,
            if args.quick { " --quick" } else { "" },
            timestamp(),
            machine_line(),
            dir.display(),
            data.train.len,
        );
        return emit(&report, args.write.as_deref());
    }
    if args.shared_hvp {
        let samples = if args.quick { 8_000 } else { args.hvp_samples };
        let reps = if args.quick {
            2
        } else {
            args.hvp_reps as usize
        };
        crate::console::note!("two runs' Hessian-vector products sharing passes over the data …");
        let table = shared_hvp::measure(&data, samples, &args.shared_hvp_blocks, reps)
            .map_err(Failure::from)?;
        let report = format!(
            "## `eigensweep bench --shared-hvp --shared-hvp-blocks {} --hvp-reps {} --hvp-samples {samples}{}` — {}\n\n{}Data: {} ({} train images).\n\n{table}",
            args.shared_hvp_blocks
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(","),
            reps,
            if args.quick { " --quick" } else { "" },
            timestamp(),
            machine_line(),
            dir.display(),
            data.train.len,
        );
        return emit(&report, args.write.as_deref());
    }
    if args.training {
        crate::console::note!("training steps per second …");
        let steps = if args.quick { 200 } else { 2000 };
        let (table, rates) = training::measure(&data, steps).map_err(Failure::from)?;
        crate::console::note!("PyTorch training steps (if torch is importable) …");
        let torch = torch::measure(
            &dir,
            (0, 0),
            &initial_theta()?,
            &["train"],
            steps,
            &torch::Ours {
                training: Some(rates),
                ..torch::Ours::default()
            },
        );
        let report = format!(
            "## `eigensweep bench --training{}` — {}\n\n{}Data: {} ({} train images).\n\n{table}{torch}",
            if args.quick { " --quick" } else { "" },
            timestamp(),
            machine_line(),
            dir.display(),
            data.train.len,
        );
        return emit(&report, args.write.as_deref());
    }
    let mut report = String::new();
    let _ = writeln!(
        report,
        "## `eigensweep bench{}` — {}\n\n{}Data: {} ({} train images).\n",
        if args.quick { " --quick" } else { "" },
        timestamp(),
        machine_line(),
        dir.display(),
        data.train.len
    );
    crate::console::note!("[1/4] training steps per second …");
    let train_steps = if args.quick { 200 } else { 2000 };
    let (train, rates) = training::measure(&data, train_steps).map_err(Failure::from)?;
    report.push_str(&train);
    crate::console::note!("[2/4] Hessian-vector product against its GEMM floor …");
    let samples = if args.quick { 8_000 } else { args.hvp_samples };
    let (hvp_report, our_hvp_seconds, _blocked_seconds) =
        hvp::measure(&data, samples, if args.quick { 2 } else { 5 }).map_err(Failure::from)?;
    report.push_str(&hvp_report);
    crate::console::note!("[3/4] eigensolver cold vs warm along a training trajectory …");
    let snapshots = if args.quick { 3 } else { args.snapshots };
    let spec = eigen::Spec {
        k: 3,
        tol: 1e-3,
        arpack: true,
    };
    let (early, means) = eigen::measure(&data, snapshots, 0, spec).map_err(Failure::from)?;
    let (mut cold, mut warm) = (means.cold, means.warm);
    let first_cold = means.first_cold;
    report.push_str(&early);
    if !args.quick {
        // Most of a 10⁵-step run lies past the first few hundred steps, where the top
        // eigenvectors move more slowly: measure there too.
        let (late, means) =
            eigen::measure(&data, args.snapshots, args.late_start, spec).map_err(Failure::from)?;
        report.push_str(&late);
        (cold, warm) = (means.cold, means.warm);
    }
    let _ = writeln!(
        report,
        "Projected to a Hessian on {samples} samples (the Krylov–Schur solver applies one vector \
         at a time, {:.1} ms per product here): cold {:.1} s, warm {:.1} s per top-3 snapshot; \
         1,584 warm snapshots (the paper's schedule) ≈ {:.0} min of Hessian work per run.\n",
        our_hvp_seconds * 1e3,
        cold * our_hvp_seconds,
        warm * our_hvp_seconds,
        1584.0 * warm * our_hvp_seconds / 60.0
    );
    crate::console::note!(
        "[4/4] the paper's stack: PyTorch HVP, scipy eigsh, PyTorch training (if importable) …"
    );
    report.push_str(&torch::measure(
        &dir,
        (samples, data.train.len),
        &initial_theta()?,
        &["hvp", "eigsh", "train"],
        train_steps,
        &torch::Ours {
            hvp_seconds: Some(our_hvp_seconds),
            cold: Some(first_cold),
            training: Some(rates),
        },
    ));
    emit(&report, args.write.as_deref())
}

/// "Machine: CPU model, logical CPUs, threads for tensor work." — every CPU figure is named
/// with the CPU it was measured on (the machines under this project change between sessions).
fn machine_line() -> String {
    format!(
        "Machine: {}, {} logical CPUs, {} threads for tensor work. ",
        gpu::cpu_model(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        candle_core::utils::get_num_threads()
    )
}

/// Prints the report and appends it to `write` when given.
fn emit(report: &str, write: Option<&std::path::Path>) -> Result<(), Failure> {
    crate::console::say!("{report}");
    if let Some(path) = write {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .exit_code(exit_codes::OUTPUT, format!("opening {}", path.display()))?;
        f.write_all(report.as_bytes())
            .exit_code(exit_codes::OUTPUT, format!("writing {}", path.display()))?;
        crate::console::note!("appended to {}", path.display());
    }
    Ok(())
}

/// The network every benchmark measures: the paper's 784-100-100-10 at initialisation (seed 0,
/// zero biases, f32) on `device`.
pub(crate) fn initial_params(
    arch: &eigensweep_worker::mlp::Architecture,
    device: &candle_core::Device,
) -> anyhow::Result<eigensweep_worker::mlp::Params> {
    use eigensweep_worker::rng::{stream_rng, Stream};
    Ok(eigensweep_worker::mlp::Params::init(
        arch,
        eigensweep_worker::mlp::BiasInit::Zero,
        &mut stream_rng(0, Stream::Init, 0),
        candle_core::DType::F32,
        device,
    )?)
}

/// [`initial_params`] as flat f32, for the PyTorch script.
fn initial_theta() -> Result<Vec<f32>, Failure> {
    let params = initial_params(
        &eigensweep_worker::mlp::Architecture::paper(),
        &candle_core::Device::Cpu,
    )?;
    Ok(params
        .to_flat()
        .map_err(anyhow::Error::from)?
        .into_iter()
        .map(|v| v as f32)
        .collect())
}

/// Best (minimum) time of `reps` runs of `f`, in seconds. The minimum is the estimate least
/// disturbed by other work on a shared machine.
pub(crate) fn best_of(
    reps: usize,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let t = std::time::Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Civil date from days since the epoch (Howard Hinnant's algorithm), to avoid a date crate.
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        (secs % 86_400) / 3600,
        (secs % 3600) / 60
    )
}

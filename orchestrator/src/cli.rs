//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use eigensweep_common::device::DeviceRequest;
use eigensweep_report::{ImageFormat, ReportOptions, YAxes};

/// Sweeps of Hessian-eigenvector studies: train MLPs, follow the top Hessian eigenvectors.
#[derive(Debug, Parser)]
#[command(name = "eigensweep", version, long_version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("EIGENSWEEP_GIT_COMMIT"), ")"), about, after_help = eigensweep_common::exit_codes::help_text())]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage datasets (download MNIST / FashionMNIST into the cache).
    #[command(subcommand)]
    Data(DataCommand),
    /// Train one network and print its top Hessian eigenpairs at snapshots.
    Train(TrainArgs),
    /// Measure training speed, Hessian-vector products and the eigensolver on this machine.
    Bench(BenchArgs),
    /// Check a sweep file and report every problem in it at once.
    Validate(SweepArgs),
    /// Print a sweep's runs and baseline tasks with their keys and estimated cost.
    Plan(PlanArgs),
    /// Run a sweep on this machine: every run and baseline network, resumable.
    Run(RunArgs),
    /// Analyse a sweep's output: every two-time displacement pair, the random-init baseline,
    /// weight displacement, update alignment, convergence, subspace overlap, summaries.
    Analyze(AnalyzeArgs),
    /// Compare the minima the optimisers found (Appendix B.2): the best run of each, the loss
    /// along the line between every two, λ1 and ε-sharpness at each.
    Minima(MinimaArgs),
    /// Render every figure of the paper from a sweep's tables (SVG, PNG, CSV, index.html).
    Report(ReportArgs),
    /// How a sweep is doing, from its files (read-only; works while it runs, from any node):
    /// per task status and progress, counts, ETA, tasks whose launch is gone. Exit code 0
    /// when every task is done, 10 when not.
    Status(StatusArgs),
}

/// `eigensweep status OUT [--json]`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The sweep's output directory (holds sweep.yaml and the runs tables).
    pub out: PathBuf,
    /// Print one JSON document (tasks, counts, ETA, launches) instead of the table.
    #[arg(long)]
    pub json: bool,
}

impl Command {
    /// The CPU thread budget of a command whose tensor work uses one (`--threads`); `run`
    /// sizes its threads itself.
    pub fn threads(&self) -> Option<usize> {
        match self {
            Command::Train(a) => a.threads.threads,
            Command::Bench(a) => a.threads.threads,
            Command::Analyze(a) => a.threads.threads,
            Command::Minima(a) => a.threads.threads,
            Command::Report(a) => a.threads.threads,
            Command::Data(_)
            | Command::Validate(_)
            | Command::Plan(_)
            | Command::Run(_)
            | Command::Status(_) => None,
        }
    }
}

/// `--threads` of the commands that compute with tensors. Not on `validate` and `data`, where
/// it could not change anything (`plan` has its own: the layout it estimates time for).
#[derive(Debug, Args)]
pub struct ThreadArgs {
    /// CPU threads for tensor work (default: the CPUs this process may run on; sets
    /// RAYON_NUM_THREADS).
    #[arg(long, value_parser = positive)]
    pub threads: Option<usize>,
}

/// A count that must be at least 1, for the thread and job options: clap names the option
/// and the value in its message.
fn positive(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("expected at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("expected a whole number ≥ 1, got `{text}`")),
    }
}

/// `eigensweep minima OUT …`
#[derive(Debug, Args)]
pub struct MinimaArgs {
    /// The sweep's output directory (its datasets are loaded as `OUT/sweep.yaml` says).
    pub out: PathBuf,
    /// The comparison's settings.
    #[command(flatten)]
    pub settings: MinimaSettings,
    /// Where the datasets are, when not where the sweep read them.
    #[command(flatten)]
    pub data: DataArgs,
    /// CPU threads.
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `--data NAME=DIR`: a dataset of the sweep read from another folder, for an output copied
/// to a machine where the recorded path (or the cache) does not hold it.
#[derive(Debug, Args, Default)]
pub struct DataArgs {
    /// Read dataset NAME from DIR (the four IDX files) instead of the folder or cache the
    /// sweep recorded; repeat for several datasets. The files must be the ones the runs were
    /// trained on: a directory dataset's content digest is checked against the runs table.
    #[arg(long = "data", value_name = "NAME=DIR", value_parser = parse_data_dir)]
    pub dirs: Vec<(String, PathBuf)>,
}

/// Parses `NAME=DIR` (both non-empty).
fn parse_data_dir(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, dir)) if !name.is_empty() && !dir.is_empty() => {
            Ok((name.to_string(), PathBuf::from(dir)))
        }
        _ => Err(format!(
            "expected NAME=DIR (a dataset name of the sweep, `=`, a folder), got `{s}`"
        )),
    }
}

/// Settings of the minima comparison.
#[derive(Debug, Args)]
pub struct MinimaSettings {
    /// Points of the α grid on [−1, 2] for θ = α θ_A + (1 − α) θ_B (α = 0, 1 always added).
    #[arg(long, default_value_t = 31)]
    pub alpha_points: usize,
    /// ε of the ε-sharpness box |y_j| ≤ ε(|θ_j| + 1) (Keskar et al.).
    #[arg(long, default_value_t = 1e-3)]
    pub epsilon: f64,
    /// Projected gradient-ascent iterations of the ε-sharpness.
    #[arg(long, default_value_t = 20)]
    pub sharpness_iterations: usize,
}

/// `eigensweep report OUT …`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The sweep's output directory (run `eigensweep analyze OUT` first for the two-time
    /// figures).
    pub out: PathBuf,
    /// Gaussian smoothing σ (snapshots) of the convergence curves, Figure 7.
    #[arg(long, default_value_t = 2.0)]
    pub convergence_sigma: f64,
    /// Gaussian smoothing σ (snapshots) of the raw alignments, Figure 12.
    #[arg(long, default_value_t = 5.0)]
    pub alignment_sigma: f64,
    /// Waiting times t_w with a curve in Figures 1/9, 10, 11.
    #[arg(long, default_value_t = 6)]
    pub waiting_times: usize,
    /// Seed of the single-run figures 12, 14/15, 16 (default: the one with the most
    /// eigenpairs).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Steps of the spectral-density figure D, comma-separated (each drawn at the nearest
    /// density snapshot; default: the first, the last and two log-spaced between).
    #[arg(long, value_delimiter = ',')]
    pub density_steps: Vec<u64>,
    /// Do not compute the minima comparison (Figure 8) when it is missing or stale.
    #[arg(long)]
    pub no_minima: bool,
    /// Keep a minima comparison computed from other run states (runs that have gone on,
    /// finished or diverged since) instead of recomputing it; Figure 8 marks it stale.
    #[arg(long)]
    pub keep_stale_minima: bool,
    /// Width of every figure, inches (7: a two-column paper's text width; 3.3: one column).
    #[arg(long, default_value_t = ReportOptions::default().width_in)]
    pub width_in: f64,
    /// Height of every figure, inches (default: as its panels need, about 2.5 in for three
    /// panels 7 in wide).
    #[arg(long)]
    pub height_in: Option<f64>,
    /// Size of axis labels and panel titles, points (ticks, legends and notes: 7/8 of it).
    #[arg(long, default_value_t = ReportOptions::default().font_pt)]
    pub font_pt: f64,
    /// Files written per figure, comma-separated: png, svg (a CSV of the data always). For a
    /// PDF, convert the SVG (rsvg-convert -f pdf, Inkscape).
    #[arg(long = "format", value_delimiter = ',', default_values_t = ReportOptions::default().formats)]
    pub formats: Vec<ImageFormat>,
    /// Resolution of the PNGs, pixels per inch.
    #[arg(long, default_value_t = ReportOptions::default().dpi)]
    pub dpi: u32,
    /// Vertical axes of panels that compare optimisers: shared (one range, a tenfold
    /// difference shows) or free (each panel its own).
    #[arg(long, default_value_t = ReportOptions::default().y_axes)]
    pub y_axes: YAxes,
    /// Settings of the minima comparison, when the report computes it.
    #[command(flatten)]
    pub minima: MinimaSettings,
    /// Where the datasets are (Figure 8 and its minima comparison need the training data).
    #[command(flatten)]
    pub data: DataArgs,
    /// CPU threads.
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `eigensweep analyze OUT …`
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The sweep's output directory (holds runs/, baseline/, runs.parquet).
    pub out: PathBuf,
    /// Timely worker threads in this process (default: its CPUs).
    #[arg(short = 'w', long)]
    pub workers: Option<usize>,
    /// Eigenvector rows per tile (a tile pair's dot products are one matrix product).
    #[arg(long, default_value_t = 256)]
    pub tile_rows: usize,
    /// Tiles per side of a panel (each tile read serves up to this many products; memory
    /// grows with it).
    #[arg(long, default_value_t = 4)]
    pub panel: usize,
    /// Analyse only finished runs (with `_SUCCESS`); by default runs in progress are analysed
    /// as far as their snapshots go, and a later `analyze` computes only what is new.
    #[arg(long)]
    pub only_finished: bool,
    /// Recompute everything instead of reusing current results.
    #[arg(long)]
    pub force: bool,
    /// Keep the tables current while a `run` writes OUT (here or on another node): poll every
    /// --poll-seconds, analyse what is new, write OUT/analysis/_frontier.json, and end by
    /// itself once no task is pending or running and the tables are final. Exit 8 on a signal.
    #[arg(long, help_heading = "Following a running sweep")]
    pub follow: bool,
    /// Seconds between two looks at OUT with --follow.
    #[arg(long, default_value_t = 30.0, value_parser = positive_seconds, requires = "follow", help_heading = "Following a running sweep")]
    pub poll_seconds: f64,
    /// With --follow: draw the report (OUT/report/index.html) after every pass that changed
    /// the tables (Figure 8's minima only at the end).
    #[arg(long, requires = "follow", help_heading = "Following a running sweep")]
    pub report: bool,
    /// CPU threads of the tile products' matrix multiplies.
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `eigensweep plan FILE [--set …] [--jobs J] [--threads T] [--ranks R] [--calibration F]`
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The sweep and its overrides.
    #[command(flatten)]
    pub sweep: SweepArgs,
    /// Runs at the same time per process, as `run --jobs` (for the wall-time estimate).
    #[arg(long, default_value_t = 1, value_parser = positive, help_heading = "Layout")]
    pub jobs: usize,
    /// Threads per process, as `run --threads` (default: this machine's CPUs).
    #[arg(long, value_parser = positive, help_heading = "Layout")]
    pub threads: Option<usize>,
    /// Processes: MPI ranks (`mpirun -n R`, `srun --ntasks R`); 1 without MPI.
    #[arg(long, default_value_t = 1, value_parser = positive, help_heading = "Layout")]
    pub ranks: usize,
    /// Calibration measured by `eigensweep bench --calibrate` (default: the one it stored in
    /// the cache directory, or $EIGENSWEEP_CALIBRATION; else the built-in one, whose machine
    /// is named).
    #[arg(long, value_name = "FILE", help_heading = "Layout")]
    pub calibration: Option<PathBuf>,
}

/// `eigensweep validate|plan FILE [--set KEY.PATH=VALUE]... [--out DIR]`
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep file (YAML; see sweeps/*.yaml for examples). A relative dataset `source` in
    /// it is read from the file's folder.
    pub file: PathBuf,
    /// Override a field for this launch, e.g. `--set training.steps=200`,
    /// `--set optimizers[1].lr=3e-4`, `--set seeds=[0,1]` (the value is YAML; repeatable; a
    /// relative dataset `source` here is read from the current directory).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE", help_heading = "Sweep")]
    pub set: Vec<String>,
    /// Output directory (replaces the file's `output`; no `key=value` folders in it).
    #[arg(long, help_heading = "Output")]
    pub out: Option<PathBuf>,
}

/// `run --fuse`: whether runs train as fused ensembles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FuseMode {
    /// On a GPU, yes; on the CPU, no.
    Auto,
    /// Wherever runs are fusible, on any device.
    On,
    /// One run at a time.
    Off,
}

/// `eigensweep run …`: options grouped under the headings `--help` shows them in.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The sweep and its overrides.
    #[command(flatten)]
    pub sweep: SweepArgs,
    /// Continue the finished runs in the output that differ from this sweep's only in their
    /// step count (`--set training.steps=…` with the same snapshot and evaluation steps up to
    /// their end): their steps, snapshots and tables are kept and they train on from their
    /// last step. Runs that cannot be continued are named, with why, and nothing changes.
    #[arg(long, help_heading = "Output")]
    pub extend: bool,
    /// Runs executed at the same time.
    #[arg(long, default_value_t = 1, value_parser = positive, help_heading = "Parallelism")]
    pub jobs: usize,
    /// CPU threads of this process, shared by its jobs (under MPI: of each rank). Default:
    /// the CPUs this process may run on, shared fairly with the other ranks on the same node.
    #[arg(
        long,
        alias = "threads-per-rank",
        value_parser = positive,
        help_heading = "Parallelism"
    )]
    pub threads: Option<usize>,
    /// CPU threads of each run (default: --threads / --jobs). Part of a run's arithmetic: a
    /// run resumed with another count is refused.
    #[arg(long, value_parser = positive, help_heading = "Parallelism")]
    pub threads_per_run: Option<usize>,
    /// Write parts and a checkpoint after every this many snapshots.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Checkpoints")]
    pub checkpoint_every: u64,
    /// Also checkpoint after this many minutes without one.
    #[arg(long, default_value_t = 5.0, value_parser = positive_minutes, help_heading = "Checkpoints")]
    pub checkpoint_minutes: f64,
    /// Where runs compute: cpu, cuda (a GPU per node-local rank, or per job without MPI:
    /// ordinal = rank or job mod the visible GPUs) or cuda:N. Default: the sweep file's
    /// `device`, else cpu. `cuda` needs a build with `--features cuda`; it never falls back to
    /// the CPU.
    #[arg(
        long,
        env = "EIGENSWEEP_DEVICE",
        value_name = "DEVICE",
        help_heading = "Parallelism"
    )]
    pub device: Option<DeviceRequest>,
    /// Fused ensembles: runs of one dataset, network and batch size train in lockstep as one
    /// step over stacked parameters. `auto` fuses on a GPU (where one run cannot fill it) and
    /// not on the CPU (where the host engine trains one run faster: `bench --fused`); `on`
    /// fuses on any device (so the fused engine can be exercised on a CPU); `off` trains one
    /// run at a time. Each run keeps its own tables, checkpoint and row.
    #[arg(long, value_enum, default_value_t = FuseMode::Auto, help_heading = "Parallelism")]
    pub fuse: FuseMode,
    /// Run only the tasks i with i mod K = I (0-based `I/K`), e.g. one Slurm array task each;
    /// the shards of one sweep together cover it exactly once.
    #[arg(long, value_name = "I/K", help_heading = "Cluster")]
    pub shard: Option<String>,
    /// Do not lock the output directory (for filesystems without file locks, e.g. Lustre
    /// mounted without `-o flock`): you make sure that no other launch uses it meanwhile.
    #[arg(long, help_heading = "Cluster")]
    pub no_lock: bool,
    /// When stderr is not a terminal (a batch log): a progress line for every running run
    /// this often (step/total, snapshots, the last snapshot's products and seconds, steps/s,
    /// ETA), and the sweep's totals; also how often running tasks update their row of the
    /// runs table. With a terminal, progress bars instead.
    #[arg(
        long,
        env = "EIGENSWEEP_PROGRESS_SECONDS",
        default_value_t = 60.0,
        value_name = "SECONDS",
        value_parser = positive_seconds,
        help_heading = "Output"
    )]
    pub progress_seconds: f64,
}

/// `--checkpoint-minutes`: a positive, finite number of minutes.
fn positive_minutes(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(m) if m > 0.0 && m.is_finite() => Ok(m),
        _ => Err(format!(
            "expected a positive number of minutes, got `{text}`"
        )),
    }
}

/// `eigensweep data …`
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Verify a standard dataset's files by their (decompressed) SHA-256, and download only
    /// those missing or not verified; a local file is replaced only once a verified download
    /// sits beside it, so an offline run leaves the cache as it was.
    Fetch {
        /// mnist or fashion-mnist.
        dataset: String,
        /// Directory to put the files in (default: the cache, $EIGENSWEEP_DATA or
        /// ~/.cache/eigensweep/<dataset>).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print where datasets are looked for.
    Where,
}

/// Optimisers on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptimizerName {
    /// SGD, lr 1e-2.
    Sgd,
    /// Adam, lr 1e-3, β = (0.9, 0.999), ε = 1e-8.
    Adam,
    /// AdamW, Adam's defaults with decoupled weight decay 1e-2.
    Adamw,
    /// RMSprop, lr 1e-2, α = 0.99, ε = 1e-8.
    Rmsprop,
    /// SAM on SGD, lr 1e-2, ρ = 0.05.
    Sam,
}

/// `eigensweep train …`
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// `synthetic`, `mnist`, `fashion-mnist` (from the cache) or a directory with IDX files.
    #[arg(long, default_value = "synthetic")]
    pub data: String,
    /// cpu, cuda or cuda:N (`cuda` needs the `cuda` build; never falls back to the CPU).
    #[arg(
        long,
        env = "EIGENSWEEP_DEVICE",
        default_value = "cpu",
        value_name = "DEVICE"
    )]
    pub device: DeviceRequest,
    /// Use only the first N training samples (synthetic: generate N).
    #[arg(long)]
    pub train_size: Option<usize>,
    /// Optimiser.
    #[arg(long, value_enum, default_value_t = OptimizerName::Sgd)]
    pub optimizer: OptimizerName,
    /// Learning rate (default: the optimiser's METHOD.md value).
    #[arg(long)]
    pub lr: Option<f64>,
    /// SAM's ρ.
    #[arg(long, default_value_t = 0.05)]
    pub rho: f64,
    /// Training steps.
    #[arg(long, default_value_t = 600)]
    pub steps: u64,
    /// Take an eigen-snapshot every K steps (and at step 0).
    #[arg(long, default_value_t = 100)]
    pub snapshot_every: u64,
    /// Number of top eigenpairs.
    #[arg(long, default_value_t = eigensweep_common::sweep::DEFAULT_TOP_K)]
    pub top_k: usize,
    /// Eigenvalue tolerance (0 = machine precision).
    #[arg(long, default_value_t = eigensweep_common::sweep::DEFAULT_TOL)]
    pub tol: f64,
    /// Hessian on the first N training samples (default: all).
    #[arg(long)]
    pub hessian_samples: Option<usize>,
    /// Run seed (init, data order, eigensolver start vectors).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Hidden widths, e.g. 100,100.
    #[arg(long, value_delimiter = ',', default_value = "100,100")]
    pub hidden: Vec<usize>,
    /// Normalise pixels as (x − MEAN)/STD, e.g. 0.1307,0.3081 (MNIST's).
    #[arg(long, value_name = "MEAN,STD", value_parser = mean_std)]
    pub normalize: Option<(f32, f32)>,
    /// CPU threads.
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `eigensweep bench …`
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Directory with MNIST IDX files used for real-data measurements (default: the
    /// repository's ../shared/data/mnist-10k, or $EIGENSWEEP_TEST_MNIST_DIR).
    #[arg(long)]
    pub mnist_dir: Option<PathBuf>,
    /// Samples for the HVP measurement (the training images repeated up to this count).
    #[arg(long, default_value_t = 60_000)]
    pub hvp_samples: usize,
    /// Snapshots along the training trajectory for the cold/warm eigensolver comparison.
    #[arg(long, default_value_t = 6)]
    pub snapshots: usize,
    /// SGD steps before the second cold/warm trajectory segment starts.
    #[arg(long, default_value_t = 3000)]
    pub late_start: u64,
    /// Append the results as a section to this Markdown file.
    #[arg(long)]
    pub write: Option<PathBuf>,
    /// Smaller sizes, for a smoke test of the benchmark itself.
    #[arg(long)]
    pub quick: bool,
    /// Measure the analysis engine instead: pairs per second, tile-product FLOP rate against
    /// the machine's matrix-multiply rate, peak memory, on synthetic data at the paper's sizes.
    #[arg(long)]
    pub analysis: bool,
    /// Snapshots per run for `--analysis` (the paper: 1,584).
    #[arg(long, default_value_t = 1584)]
    pub analysis_snapshots: usize,
    /// Eigen-indices per snapshot for `--analysis` and `--analysis-update`.
    #[arg(long, default_value_t = 1)]
    pub analysis_k: usize,
    /// Measure what keeping the analysis current costs (`analyze --follow`): a synthetic
    /// sweep of --update-runs runs × --update-snapshots snapshots at N = 89,610, one new
    /// snapshot, the incremental pass against `analyze --force`.
    #[arg(long)]
    pub analysis_update: bool,
    /// Runs for --analysis-update.
    #[arg(long, default_value_t = 60, value_parser = positive)]
    pub update_runs: usize,
    /// Snapshots per run for --analysis-update (the 60,000-digit reproduction: 68).
    #[arg(long, default_value_t = 68, value_parser = positive)]
    pub update_snapshots: usize,
    /// Measure a CUDA GPU against this machine's CPU instead: one HVP on --hvp-samples
    /// images, training steps/s, a top-3 snapshot, 1/2/4 runs sharing the GPU and
    /// bit-reproducibility (needs the `cuda` build; see --device).
    #[arg(long)]
    pub gpu: bool,
    /// The GPU for --gpu: cuda or cuda:N.
    #[arg(long, default_value = "cuda", value_name = "DEVICE")]
    pub device: DeviceRequest,
    /// Measure what `plan` needs to estimate time on this machine — training steps/s per
    /// optimiser (one thread), one Hessian-vector product, a snapshot's set-up and an
    /// evaluation pass — and store it (see --calibration). Takes about a minute.
    #[arg(long)]
    pub calibrate: bool,
    /// Where --calibrate stores its calibration (default: `calibration.json` in the cache
    /// directory, or $EIGENSWEEP_CALIBRATION).
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// Measure only the eigensolver: products and seconds per snapshot, cold and warm, along
    /// SGD from initialisation and from --late-start, against ARPACK (scipy eigsh) on the same
    /// operator where python3 has scipy.
    #[arg(long)]
    pub eigen: bool,
    /// Measure only the training step: steps/s per optimiser on the host and tensor engines
    /// (one thread, batch 128), the GEMM bound, and PyTorch's steps where python3 has torch.
    #[arg(long)]
    pub training: bool,
    /// Measure only the Hessian-vector product against its GEMM floor (--hvp-samples images,
    /// best of --hvp-reps interleaved repetitions).
    #[arg(long)]
    pub hvp: bool,
    /// Repetitions for --hvp (each quantity's best is kept) and --shared-hvp (medians).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub hvp_reps: u64,
    /// Measure two runs' Hessian-vector products in one shared pass over --hvp-samples images
    /// against the same products side by side on one thread each (what `run --jobs 2` does)
    /// and one run after the other (--hvp-reps interleaved repetitions, medians; issue 24).
    #[arg(long)]
    pub shared_hvp: bool,
    /// Vectors per run for --shared-hvp, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,3,5", value_parser = positive)]
    pub shared_hvp_blocks: Vec<usize>,
    /// Eigenpairs per snapshot for --eigen.
    #[arg(long, default_value_t = 3, value_parser = positive)]
    pub eigen_k: usize,
    /// Relative tolerance for --eigen (0 = machine precision).
    #[arg(long, default_value_t = 1e-3, value_parser = nonnegative_tol)]
    pub eigen_tol: f64,
    /// Measure fused ensembles instead: training model-steps/s of M runs stacked into one
    /// step (M from --fused-members) against one run at a time, on --fused-device.
    #[arg(long)]
    pub fused: bool,
    /// Ensemble sizes for --fused, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64", value_parser = positive)]
    pub fused_members: Vec<usize>,
    /// The device for --fused: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub fused_device: DeviceRequest,
    /// Measure the MPI fleet instead: speed-up of 2 ranks over 1 on a sweep of equal runs,
    /// and the cost of handing out a task (needs the `mpi` build and `mpirun`).
    #[arg(long)]
    pub fleet: bool,
    /// CPU threads.
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `MEAN,STD`: two finite numbers, the second > 0 (one argument, as `--hidden` takes its list).
fn mean_std(text: &str) -> Result<(f32, f32), String> {
    let bad = || format!("expected MEAN,STD, e.g. 0.1307,0.3081, got {text:?}");
    let (mean, std) = text.split_once(',').ok_or_else(bad)?;
    let number = |x: &str| x.trim().parse::<f32>().ok().filter(|x| x.is_finite());
    match (number(mean), number(std)) {
        (Some(mean), Some(std)) if std > 0.0 => Ok((mean, std)),
        (Some(_), Some(_)) => Err(format!("STD must be > 0, got {text:?}")),
        _ => Err(bad()),
    }
}

/// A finite tolerance ≥ 0.
fn nonnegative_tol(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(t) if t >= 0.0 && t.is_finite() => Ok(t),
        _ => Err(format!(
            "expected a finite number >= 0, e.g. 1e-3, got {text:?}"
        )),
    }
}

/// A positive, finite number of seconds.
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() => Ok(s),
        _ => Err(format!(
            "expected a positive number of seconds, e.g. 60, got {text:?}"
        )),
    }
}

/// A clap error about an option's value that came from its environment variable (the option
/// itself is not on the command line), reworded to name the variable: clap names the option,
/// which the user never typed. `None` for every other error.
pub(crate) fn from_environment(e: &clap::Error, args: &[std::ffi::OsString]) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        e.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        return None;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = arg.split_whitespace().next()?.strip_prefix("--")?;
    let flag = format!("--{long}");
    let typed = args.iter().any(|a| {
        a.to_str()
            .is_some_and(|a| a == flag || a.starts_with(&format!("{flag}=")))
    });
    if typed {
        return None;
    }
    let variable = environment_variable(&<Cli as clap::CommandFactory>::command(), long)?;
    std::env::var_os(&variable)?;
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    let reworded = first.replacen(
        &format!("for '{arg}'"),
        &format!("in the environment variable {variable} (which sets {flag})"),
        1,
    );
    Some(format!(
        "{reworded}\nunset {variable} or set it to a valid value; `eigensweep help` lists the variables each option reads"
    ))
}

/// The environment variable an option `--long` of any subcommand reads, if any.
fn environment_variable(cmd: &clap::Command, long: &str) -> Option<String> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env())
        .map(|v| v.to_string_lossy().into_owned())
        .or_else(|| {
            cmd.get_subcommands()
                .find_map(|sub| environment_variable(sub, long))
        })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// Issue 26.4: `train --normalize 0.1307,0.3081`, the example of its own help, exited 2.
    /// Every example the help texts give parses as they write it.
    #[test]
    fn every_example_in_the_help_parses() {
        for line in [
            "train --normalize 0.1307,0.3081",
            "train --hidden 100,100",
            "train --device cuda:1",
            "run s.yaml --set training.steps=200 --set optimizers[1].lr=3e-4 --set seeds=[0,1]",
            "run s.yaml --shard 0/4",
            "validate s.yaml --set training.steps=200",
            "report out --density-steps 0,100,1000",
            "bench --fused --fused-members 1,4,16,64 --fused-device cuda:0",
            "bench --eigen-tol 1e-3",
            "bench --shared-hvp --shared-hvp-blocks 1,3,5 --hvp-reps 7",
        ] {
            let args = std::iter::once("eigensweep").chain(line.split(' '));
            if let Err(e) = Cli::try_parse_from(args) {
                panic!("{line}: {e}");
            }
        }
        let Command::Train(train) =
            Cli::parse_from(["x", "train", "--normalize", "0.1307,0.3081"]).command
        else {
            unreachable!()
        };
        assert_eq!(train.normalize, Some((0.1307, 0.3081)));
        for bad in ["0.1307", "0.1,0", "a,b", "0.1,0.2,0.3"] {
            assert!(
                Cli::try_parse_from(["x", "train", "--normalize", bad]).is_err(),
                "{bad}"
            );
        }
    }
}

//! What a launch says as it starts: the sweep, its tasks and where they compute, what the
//! output already holds, and a note when runs would share a GPU.

use eigensweep_common::device::DeviceRequest;
use eigensweep_worker::output::{RunDirState, CHECKPOINT_FILE};
use eigensweep_worker::run::{baseline_done, Checkpoint};

use super::prepare::{Prepared, Task};

/// The launch's first lines: the sweep, its tasks and output, the processes × jobs × threads
/// (`processes`: `K ranks × ` under MPI, else empty) and the device; then what the output
/// already holds.
pub(super) fn banner(prep: &Prepared, processes: &str, jobs: usize, threads: usize) {
    crate::console::note!(
        "sweep `{}`: {} runs and {} baseline networks → {} ({processes}{jobs} jobs × {threads} threads, device {})",
        prep.name,
        prep.runs,
        prep.tasks.len() - prep.runs,
        prep.out.display(),
        prep.device,
    );
    crate::console::note!("{}", found_line(prep));
    if let Some(note) = gpu_sharing_note(prep.device, jobs) {
        crate::console::note!("{note}");
    }
}

/// The device a worker in `slot` (node-local rank) uses, for its log line: `cpu`, or the CUDA
/// ordinal that `cuda` resolves to on this node.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub(super) fn device_for_slot(device: DeviceRequest, slot: usize) -> String {
    let visible = eigensweep_worker::device::visible_gpus().unwrap_or(0);
    match device.ordinal(slot, visible) {
        Some(n) => format!("cuda:{n} (of {visible} visible)"),
        None => device.to_string(),
    }
}

/// A note when more runs than GPUs will share a GPU from this process: measured on an H200
/// (BENCHMARKS.md), runs sharing a GPU from one process finished later in total than the same
/// runs one after another, because every run's steps are too small to fill the GPU and the
/// threads contend for it.
fn gpu_sharing_note(device: DeviceRequest, jobs: usize) -> Option<String> {
    if !device.is_cuda() || jobs < 2 {
        return None;
    }
    let gpus = match device {
        DeviceRequest::Cuda(Some(_)) => 1,
        _ => eigensweep_worker::device::visible_gpus().ok()?,
    };
    (jobs > gpus).then(|| {
        format!(
            "note: {jobs} jobs share {gpus} GPU(s); measured on an H200, 3 runs sharing one GPU from one process took 1.3× longer in total than one after another (BENCHMARKS.md): prefer --jobs {gpus} with --device cuda"
        )
    })
}

/// What this launch found in the output: finished tasks (skipped), runs resuming from a
/// checkpoint (and from which step), tasks starting from scratch.
fn found_line(prep: &Prepared) -> String {
    let (mut done, mut fresh) = (0, 0);
    let (mut resuming, mut unreadable) = (Vec::new(), Vec::new());
    for task in &prep.tasks {
        match task {
            Task::Run(spec) => {
                let dir = prep.out.join("runs").join(spec.partition());
                if RunDirState::read(&dir).finished_status().is_some() {
                    done += 1;
                } else {
                    let label = format!(
                        "{}/{}/{}",
                        spec.dataset.name, spec.optimizer.name, spec.seed
                    );
                    match Checkpoint::load(&dir.join(CHECKPOINT_FILE)) {
                        Ok(Some(c)) => {
                            resuming.push(format!("{label} at step {}/{}", c.step, spec.steps))
                        }
                        Ok(None) => fresh += 1,
                        Err(_) => unreadable.push(label),
                    }
                }
            }
            Task::Baseline(t) => {
                let dir = prep.out.join("baseline").join(t.partition());
                if baseline_done(&dir, t.network as u32) {
                    done += 1;
                } else {
                    fresh += 1;
                }
            }
        }
    }
    let mut line = format!(
        "found: {done} tasks finished (skipped), {} resuming from a checkpoint, {fresh} starting from scratch",
        resuming.len()
    );
    if !resuming.is_empty() {
        line.push_str(&format!(" (resuming: {})", resuming.join(", ")));
    }
    if !unreadable.is_empty() {
        line.push_str(&format!(
            ", {} with a checkpoint that cannot be read ({})",
            unreadable.len(),
            unreadable.join(", ")
        ));
    }
    line
}

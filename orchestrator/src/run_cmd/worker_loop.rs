//! A worker thread's loop: take tasks from its [`Dispatch`] and execute them until there are
//! none left or the stop flag is set. A panic in a task (a bug) fails that task, not the
//! sweep.

use std::sync::atomic::Ordering;

use eigensweep_worker::output::TaskStatus;

use super::clock::now_ms;
use super::dispatch::{Dispatch, RecordUpdate, TaskOutcome};
use super::task::{execute_task, WorkerContext};

/// The worker loop of job `job` (0-based within this process): take tasks until there are
/// none or the stop flag is set.
pub(super) fn work(ctx: &WorkerContext, dispatch: &dyn Dispatch, job: usize) {
    loop {
        if ctx.stop.load(Ordering::SeqCst) {
            break;
        }
        let Some(index) = dispatch.next() else { break };
        if ctx.stop.load(Ordering::SeqCst) {
            // Stopped while asking: hand the task back unstarted (it stays pending).
            dispatch.finished(
                index,
                Ok(TaskOutcome {
                    status: TaskStatus::Pending,
                    ..TaskOutcome::default()
                }),
            );
            break;
        }
        // A panic (a bug) fails the task, not the sweep, and never leaves other ranks
        // waiting for a rank that is gone.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            execute_task(ctx, index, dispatch, job)
        }))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            let text = format!("internal error (a bug, please report it): {what}");
            let key = ctx.prep.tasks[index].key().to_string();
            dispatch.record(
                &key,
                RecordUpdate {
                    status: Some(TaskStatus::Failed),
                    error: Some(text.clone()),
                    end_time: Some(now_ms()),
                    ..RecordUpdate::default()
                },
            )?;
            Ok(TaskOutcome {
                problem: Some(format!("{}: {text}", ctx.prep.tasks[index].label())),
                status: TaskStatus::Failed,
                worked: true,
                ..TaskOutcome::default()
            })
        });
        let fatal = outcome.is_err();
        dispatch.finished(index, outcome);
        if fatal {
            // After a fatal error no new task starts, here or anywhere else.
            ctx.stop.store(true, Ordering::SeqCst);
            break;
        }
    }
}

//! Time left, for the progress bars and the batch log: extrapolated only from what this launch
//! has measured past its warm-up, and withheld (`ETA —`) until then. Every duration the
//! progress shows, elapsed times included, reads as [`human_seconds`] writes it (`3m 20s`).
//!
//! Issue 26.6: the bars used indicatif's own ETA, the time so far per step times the steps
//! left, so a run whose first steps waited for the cold eigen-solve at step 0 read `15m` at
//! step 1 of a 10-second run, and the sweep's bar read `ETA 00:00:00` before anything had been
//! measured. Here a run's pace is split into what it is made of, each part measured on its
//! own: training steps (their rate from the step after a launch's first on, snapshots
//! excluded) and warm snapshots (a run's first solve is a cold one, about twice as long).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressState, ProgressStyle};

/// Steps a run must have trained in this launch (past its first, whose time holds the
/// launch's start) before its training rate is extrapolated.
pub(super) const PACE_STEPS: u64 = 20;

/// Share of the cost a launch had left at its start that its running tasks must have done,
/// before any task has finished, for the sweep's time so far to be extrapolated to the rest:
/// their progress is counted from the runs table, which a task's cold first solve and start
/// weigh on (at 1 % the quickstart's bar read 2m 23s at 2 s of a 23-second launch).
pub(super) const SWEEP_SHARE: f64 = 0.1;

/// What `ETA` reads: `ETA 3m 20s`, or `ETA —` while there is no estimate.
pub(super) fn eta_text(seconds_left: Option<f64>) -> String {
    match seconds_left {
        Some(s) => format!("ETA {}", human_seconds(s)),
        None => "ETA —".into(),
    }
}

/// `1h 02m`, `3m 20s`, `12s`.
pub(super) fn human_seconds(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A run's pace in this launch, from its progress reports.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct RunPace {
    /// Steps trained between reports, and the seconds they took (snapshots excluded).
    pub steps: u64,
    pub training_seconds: f64,
    /// Warm snapshots completed, and the seconds their solves took.
    pub warm_snapshots: u64,
    pub warm_snapshot_seconds: f64,
}

impl RunPace {
    /// Takes note of `seconds` between two progress reports, over which the run trained
    /// `steps` steps and completed the snapshot of `snapshot` = (its solve's seconds, whether
    /// it was warm-started), if any.
    pub fn add(&mut self, steps: u64, seconds: f64, snapshot: Option<(f64, bool)>) {
        let solve = snapshot.map_or(0.0, |(s, _)| s);
        if let Some((s, true)) = snapshot {
            self.warm_snapshots += 1;
            self.warm_snapshot_seconds += s;
        }
        self.steps += steps;
        self.training_seconds += (seconds - solve).max(0.0);
    }

    /// Training steps per second, once [`PACE_STEPS`] steps have been measured.
    pub fn steps_per_second(&self) -> Option<f64> {
        (self.steps >= PACE_STEPS && self.training_seconds > 0.0)
            .then(|| self.steps as f64 / self.training_seconds)
    }

    /// Seconds left for `steps_left` steps and `snapshots_left` snapshots: `None` while a
    /// part that is left has not been measured (the training rate, or one warm snapshot).
    pub fn seconds_left(&self, steps_left: u64, snapshots_left: u64) -> Option<f64> {
        let training = match steps_left {
            0 => 0.0,
            n => n as f64 / self.steps_per_second()?,
        };
        let snapshots = match (snapshots_left, self.warm_snapshots) {
            (0, _) => 0.0,
            (_, 0) => return None,
            (n, w) => n as f64 * self.warm_snapshot_seconds / w as f64,
        };
        Some(training + snapshots)
    }
}

/// Seconds left of a launch that in `elapsed` seconds has finished tasks of cost `finished`
/// and done `partial` of its running ones, of the cost it had left at its start (`finished +
/// partial + left`, in any unit): its pace so far, extrapolated; `None` until a task has
/// finished or [`SWEEP_SHARE`] of the cost is done.
pub(super) fn sweep_seconds_left(
    elapsed: f64,
    finished: f64,
    partial: f64,
    left: f64,
) -> Option<f64> {
    let left = left.max(0.0);
    if left == 0.0 {
        return Some(0.0);
    }
    let worked = finished + partial;
    let measured = finished > 0.0 || worked >= SWEEP_SHARE * (worked + left);
    (worked > 0.0 && measured).then(|| elapsed * left / worked)
}

/// An ETA that a progress bar counts down between two estimates: its template key
/// `{eta_left}` reads `ETA 12s`, or `ETA —` while there is no estimate.
#[derive(Clone, Default)]
pub(super) struct Countdown(Arc<Mutex<Option<Instant>>>);

impl Countdown {
    /// A new estimate: `seconds_left` from now, or none.
    pub fn set(&self, seconds_left: Option<f64>) {
        let deadline = seconds_left
            .filter(|s| s.is_finite())
            .map(|s| Instant::now() + Duration::from_secs_f64(s.clamp(0.0, 1e9)));
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = deadline;
    }

    /// Seconds to the deadline now (0 once it is past), if there is one.
    pub fn seconds_left(&self) -> Option<f64> {
        let deadline = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        deadline.map(|d| d.saturating_duration_since(Instant::now()).as_secs_f64())
    }

    /// A bar style of `template`, which may show this countdown as `{eta_left}`.
    pub fn style(&self, template: &str) -> ProgressStyle {
        let this = self.clone();
        ProgressStyle::with_template(template)
            .expect("template")
            .with_key(
                "eta_left",
                move |_: &ProgressState, w: &mut dyn fmt::Write| {
                    let _ = w.write_str(&eta_text(this.seconds_left()));
                },
            )
            .progress_chars("=> ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 26.6: a 10-second run (600 steps, 11 snapshots) read `ETA 15m` at step 1–2,
    /// because its first step's time held the cold eigen-solve at step 0.
    #[test]
    fn a_run_has_no_eta_until_its_rate_and_a_warm_snapshot_are_measured() {
        let mut pace = RunPace::default();
        // The first report came after the cold solve (1.5 s) and one step: the launch's
        // first report only starts the clock, so nothing of it is in the pace.
        assert_eq!(pace.seconds_left(599, 10), None);
        // Step 1 → 2 with the warm snapshot at step 1 (0.5 s of its 0.504 s).
        pace.add(1, 0.504, Some((0.5, true)));
        assert_eq!(pace.steps_per_second(), None, "one step is no rate");
        assert_eq!(pace.seconds_left(598, 9), None);
        // 19 more steps at 3 ms: 20 steps measured in 0.061 s.
        for _ in 0..19 {
            pace.add(1, 0.003, None);
        }
        let rate = pace.steps_per_second().unwrap();
        assert!((rate - 20.0 / 0.061).abs() < 1e-9, "{rate}");
        let eta = pace.seconds_left(578, 8).unwrap();
        assert!((eta - (578.0 / rate + 8.0 * 0.5)).abs() < 1e-9, "{eta}");
        assert!(
            eta < 10.0,
            "a 10-second run reads seconds, not minutes: {eta}"
        );
    }

    #[test]
    fn a_cold_solve_is_not_taken_for_the_warm_ones_and_finished_parts_need_no_measure() {
        let mut pace = RunPace::default();
        pace.add(30, 2.09, Some((2.0, false)));
        assert_eq!(pace.warm_snapshots, 0);
        assert!((pace.training_seconds - 0.09).abs() < 1e-12);
        // No warm snapshot yet: withheld while snapshots are left, known when none are.
        assert_eq!(pace.seconds_left(100, 1), None);
        assert!((pace.seconds_left(30, 0).unwrap() - 0.09).abs() < 1e-12);
        // A snapshot longer than the report interval (clock granularity) counts no
        // negative training time.
        pace.add(0, 0.9, Some((1.0, true)));
        assert!((pace.training_seconds - 0.09).abs() < 1e-12);
        assert_eq!(pace.seconds_left(0, 0), Some(0.0));
        assert_eq!(pace.seconds_left(0, 2), Some(2.0));
    }

    /// Issue 26.6's class at the sweep's level: the quickstart's first run, 2 s in, had done
    /// its cold solve and 4 % of its cost by the runs table; extrapolated, that read 2m 23s.
    #[test]
    fn a_sweep_is_extrapolated_once_a_task_finished_or_a_tenth_is_done() {
        assert_eq!(
            sweep_seconds_left(5.0, 0.0, 0.0, 10.0),
            None,
            "nothing done yet"
        );
        assert_eq!(
            sweep_seconds_left(2.0, 0.0, 0.14, 3.3),
            None,
            "4 % in progress"
        );
        assert_eq!(
            sweep_seconds_left(5.0, 0.0, 2.0, 6.0),
            Some(15.0),
            "25 % in progress"
        );
        assert_eq!(
            sweep_seconds_left(5.0, 0.5, 0.0, 9.5),
            Some(95.0),
            "a task finished"
        );
        assert_eq!(sweep_seconds_left(5.0, 1.0, 1.0, 6.0), Some(15.0));
        assert_eq!(sweep_seconds_left(5.0, 2.0, 0.0, 0.0), Some(0.0));
        assert_eq!(sweep_seconds_left(5.0, 0.0, 0.0, -1.0), Some(0.0));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_seconds(12.4), "12s");
        assert_eq!(human_seconds(200.0), "3m 20s");
        assert_eq!(human_seconds(3720.0), "1h 02m");
    }

    #[test]
    fn etas_read_as_durations_or_a_dash() {
        assert_eq!(eta_text(None), "ETA —");
        assert_eq!(eta_text(Some(200.0)), "ETA 3m 20s");
        let c = Countdown::default();
        assert_eq!(c.seconds_left(), None);
        c.set(Some(90.0));
        let left = c.seconds_left().unwrap();
        assert!(left > 89.0 && left <= 90.0, "{left}");
        c.set(Some(f64::INFINITY));
        assert_eq!(c.seconds_left(), None);
        c.set(Some(-3.0));
        assert_eq!(c.seconds_left(), Some(0.0));
    }
}

//! Which training steps a [`Schedule`] selects.

use super::file::Schedule;

/// The steps `schedule` selects in a run of `total_steps` steps: the union of its parts,
/// clipped to `[0, total_steps]`, sorted, without duplicates.
///
/// - `every: K` → `0, K, 2K, … ≤ total_steps`, and `total_steps` itself;
/// - `log: {count: C}` → `round(geomspace(1, total_steps, C))` (`C = 1` gives step 1);
/// - `linear: {count: C}` → `round(i · total_steps / (C − 1))` for `i` in `0..C`, halves
///   rounded up (exact integer arithmetic; `C = 1` gives step 0);
/// - `steps: [...]` → those steps.
///
/// Parts that validation rejects (`every: 0`, `count: 0`) select nothing here.
///
/// ```
/// use eigensweep_common::sweep::{schedule_steps, Count, Schedule};
/// let s = Schedule { every: Some(40), log: Some(Count { count: 3 }), ..Schedule::default() };
/// assert_eq!(schedule_steps(&s, 100), vec![0, 1, 10, 40, 80, 100]);
/// ```
pub fn schedule_steps(schedule: &Schedule, total_steps: u64) -> Vec<u64> {
    let mut steps = Vec::new();
    if let Some(k) = schedule.every.filter(|&k| k > 0) {
        steps.extend((0..=total_steps).step_by(usize::try_from(k).unwrap_or(usize::MAX)));
        steps.push(total_steps);
    }
    if let Some(c) = schedule.log.map(|c| c.count) {
        steps.extend(log_spaced(total_steps, c));
    }
    if let Some(c) = schedule.linear.map(|c| c.count) {
        steps.extend(linear_spaced(total_steps, c));
    }
    if let Some(explicit) = &schedule.steps {
        steps.extend(explicit.iter().copied());
    }
    steps.retain(|&s| s <= total_steps);
    steps.sort_unstable();
    steps.dedup();
    steps
}

fn log_spaced(total_steps: u64, count: u64) -> impl Iterator<Item = u64> {
    let last = count.saturating_sub(1);
    let ln_total = (total_steps.max(1) as f64).ln();
    (0..count).map(move |i| {
        if i == last && count > 1 {
            // exp(ln(S)) can miss S by an ulp; the end point is S by definition.
            total_steps
        } else if last == 0 {
            1
        } else {
            (ln_total * i as f64 / last as f64).exp().round() as u64
        }
    })
}

fn linear_spaced(total_steps: u64, count: u64) -> impl Iterator<Item = u64> {
    let intervals = u128::from(count.saturating_sub(1));
    (0..count).map(move |i| {
        if intervals == 0 {
            0
        } else {
            // round(i·S/(C−1)) with halves up, in integers: ⌊(2·i·S + (C−1)) / (2(C−1))⌋.
            let num = 2 * u128::from(i) * u128::from(total_steps) + intervals;
            (num / (2 * intervals)) as u64
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::file::Count;

    fn every(k: u64) -> Schedule {
        Schedule {
            every: Some(k),
            ..Schedule::default()
        }
    }

    #[test]
    fn every_includes_zero_and_the_last_step() {
        assert_eq!(schedule_steps(&every(100), 300), vec![0, 100, 200, 300]);
        assert_eq!(schedule_steps(&every(100), 250), vec![0, 100, 200, 250]);
        assert_eq!(schedule_steps(&every(1000), 250), vec![0, 250]);
        assert_eq!(schedule_steps(&every(0), 250), Vec::<u64>::new());
    }

    #[test]
    fn log_is_rounded_geomspace_without_duplicates() {
        let s = Schedule {
            log: Some(Count { count: 5 }),
            ..Schedule::default()
        };
        // geomspace(1, 10000, 5) = 1, 10, 100, 1000, 10000.
        assert_eq!(schedule_steps(&s, 10_000), vec![1, 10, 100, 1000, 10_000]);
        // geomspace(1, 600, 5) = 1, 4.95, 24.49, 121.2, 600.
        assert_eq!(schedule_steps(&s, 600), vec![1, 5, 24, 121, 600]);
        // geomspace(1, 4, 10) rounds to 1,1,1,2,2,2,3,3,4,4 → deduplicated.
        let dense = Schedule {
            log: Some(Count { count: 10 }),
            ..Schedule::default()
        };
        assert_eq!(schedule_steps(&dense, 4), vec![1, 2, 3, 4]);
        let single = Schedule {
            log: Some(Count { count: 1 }),
            ..Schedule::default()
        };
        assert_eq!(schedule_steps(&single, 50), vec![1]);
    }

    #[test]
    fn linear_rounds_halves_up() {
        let s = Schedule {
            linear: Some(Count { count: 3 }),
            ..Schedule::default()
        };
        assert_eq!(schedule_steps(&s, 5), vec![0, 3, 5]); // 2.5 → 3
        let s = Schedule {
            linear: Some(Count { count: 5 }),
            ..Schedule::default()
        };
        assert_eq!(schedule_steps(&s, 100), vec![0, 25, 50, 75, 100]);
    }

    #[test]
    fn the_union_is_clipped_sorted_and_deduplicated() {
        let s = Schedule {
            every: Some(50),
            log: Some(Count { count: 3 }),
            linear: Some(Count { count: 2 }),
            steps: Some(vec![7, 50, 500, 7]),
        };
        // every: 0 50 100; log: 1 10 100; linear: 0 100; steps: 7 50 (500 clipped).
        assert_eq!(schedule_steps(&s, 100), vec![0, 1, 7, 10, 50, 100]);
    }

    #[test]
    fn paper_schedule_has_1584_snapshots() {
        let s = Schedule {
            linear: Some(Count { count: 1584 }),
            ..Schedule::default()
        };
        let steps = schedule_steps(&s, 100_000);
        assert_eq!(steps.len(), 1584);
        assert_eq!(
            (steps[0], steps[1], *steps.last().unwrap()),
            (0, 63, 100_000)
        );
    }
}

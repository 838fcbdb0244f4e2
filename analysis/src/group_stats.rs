//! Statistics over seeds (the run summaries) as a differential-dataflow computation.
//!
//! Records `(group, [a, b])` enter a collection; a `reduce` keyed by group turns the values of
//! each group into count, mean, sample standard deviation, minimum and maximum of each of the
//! two components. Differential presents a group's values sorted and with multiplicities, so
//! the sums run in an order that depends only on the values: the result is the same however
//! the records were produced. The summaries are small (one record per run and snapshot), so
//! one worker runs the dataflow; it is the place where a future incremental analysis would feed
//! only the changed records.

use std::cell::RefCell;
use std::hash::Hash;
use std::rc::Rc;

use differential_dataflow::input::Input;
use differential_dataflow::ExchangeData;

/// A group and its statistics as bits, as they leave the dataflow.
type Encoded<K> = Vec<(K, Vec<u64>)>;

/// Statistics of one component over the non-NaN values of a group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Non-NaN values.
    pub count: u64,
    /// Their mean (NaN when there are none).
    pub mean: f64,
    /// Their sample standard deviation, n − 1 (NaN for fewer than two).
    pub std: f64,
    /// Minimum (NaN when there are none).
    pub min: f64,
    /// Maximum (NaN when there are none).
    pub max: f64,
}

/// `values` (value, multiplicity), in any order: the statistics of the non-NaN ones.
fn stats(values: impl Iterator<Item = (f64, u64)> + Clone) -> Stats {
    let finite = values.filter(|(v, _)| !v.is_nan());
    let count: u64 = finite.clone().map(|(_, n)| n).sum();
    if count == 0 {
        return Stats {
            count,
            mean: f64::NAN,
            std: f64::NAN,
            min: f64::NAN,
            max: f64::NAN,
        };
    }
    let mean = finite.clone().map(|(v, n)| v * n as f64).sum::<f64>() / count as f64;
    let std = if count < 2 {
        f64::NAN
    } else {
        let squares: f64 = finite
            .clone()
            .map(|(v, n)| (v - mean) * (v - mean) * n as f64)
            .sum();
        (squares / (count - 1) as f64).sqrt()
    };
    let min = finite.clone().map(|(v, _)| v).fold(f64::INFINITY, f64::min);
    let max = finite.map(|(v, _)| v).fold(f64::NEG_INFINITY, f64::max);
    Stats {
        count,
        mean,
        std,
        min,
        max,
    }
}

/// Per group (in group order): the number of records and the statistics of each component.
pub fn group_stats<K>(records: Vec<(K, [f64; 2])>) -> Vec<(K, u64, [Stats; 2])>
where
    K: ExchangeData + Hash + Send + Sync,
{
    // f64 is not Ord: values travel as their bits (the order only fixes the summation order).
    let records: Vec<(K, (u64, u64))> = records
        .into_iter()
        .map(|(k, [a, b])| (k, (a.to_bits(), b.to_bits())))
        .collect();
    let mut rows = timely::execute_directly(move |worker| {
        let out: Rc<RefCell<Encoded<K>>> = Rc::default();
        let sink = Rc::clone(&out);
        let (mut input, probe) = worker.dataflow::<u32, _, _>(|scope| {
            let (input, data) = scope.new_collection::<(K, (u64, u64)), isize>();
            let (probe, _) = data
                .reduce(|_group, values, output| {
                    let records: u64 = values.iter().map(|(_, n)| *n as u64).sum();
                    let component = |c: usize| {
                        values.iter().map(move |(v, n)| {
                            let bits = if c == 0 { v.0 } else { v.1 };
                            (f64::from_bits(bits), *n as u64)
                        })
                    };
                    let mut encoded = vec![records];
                    for c in 0..2 {
                        let s = stats(component(c));
                        encoded.extend([
                            s.count,
                            s.mean.to_bits(),
                            s.std.to_bits(),
                            s.min.to_bits(),
                            s.max.to_bits(),
                        ]);
                    }
                    output.push((encoded, 1isize));
                })
                .inspect(move |((group, encoded), _time, diff)| {
                    if *diff > 0 {
                        sink.borrow_mut().push((group.clone(), encoded.clone()));
                    }
                })
                .probe();
            (input, probe)
        });
        for r in records {
            input.insert(r);
        }
        input.advance_to(1);
        input.flush();
        worker.step_while(|| probe.less_than(input.time()));
        let rows = out.borrow().clone();
        rows
    });
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.into_iter()
        .map(|(k, e)| {
            let s = |o: usize| Stats {
                count: e[o],
                mean: f64::from_bits(e[o + 1]),
                std: f64::from_bits(e[o + 2]),
                min: f64::from_bits(e[o + 3]),
                max: f64::from_bits(e[o + 4]),
            };
            (k, e[0], [s(1), s(6)])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_match_plain_loops_and_ignore_nan() {
        let records = vec![
            (("a".to_string(), 1u32), [1.0, 10.0]),
            (("a".to_string(), 1u32), [3.0, f64::NAN]),
            (("a".to_string(), 1u32), [3.0, 30.0]), // a duplicate value: multiplicity 2
            (("b".to_string(), 2u32), [-2.0, 5.0]),
        ];
        let out = group_stats(records);
        assert_eq!(out.len(), 2);
        let (k, n, [x, y]) = &out[0];
        assert_eq!((k.0.as_str(), k.1, *n), ("a", 1, 3));
        assert_eq!((x.count, x.min, x.max), (3, 1.0, 3.0));
        assert!((x.mean - 7.0 / 3.0).abs() < 1e-15);
        let var = ((1.0f64 - 7.0 / 3.0).powi(2) + 2.0 * (3.0f64 - 7.0 / 3.0).powi(2)) / 2.0;
        assert!((x.std - var.sqrt()).abs() < 1e-15);
        assert_eq!((y.count, y.mean, y.min, y.max), (2, 20.0, 10.0, 30.0));
        let (_, n, [x, _]) = &out[1];
        assert_eq!((*n, x.count, x.mean), (1, 1, -2.0));
        assert!(x.std.is_nan(), "one value has no sample deviation");
    }
}

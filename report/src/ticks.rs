//! Ticks of the figures' axes: where they go (round values of the quantity itself, no more
//! than fit beside each other) and how they are labelled.
//!
//! Positions are in drawing coordinates: the value on a linear axis, log10 of the value on a
//! log axis. Log axes are drawn as linear axes over log10 of the values, with ticks labelled
//! by the values themselves, because plotters' own log axes label only powers of ten, so a
//! range within one decade would get one label or none.

use crate::figure::Scale;

/// `v` rounded to 7 significant digits: 10^log10(2) is 1.9999999999999996.
pub(crate) fn round_significant(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(6 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// Short numbers for notes and legends: plain where they are short, scientific notation
/// (`2.1e-5`) otherwise.
pub(crate) fn tick(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".to_string()
    } else if (1e-3..1e5).contains(&a) {
        let digits = if a >= 100.0 {
            0
        } else if a >= 1.0 {
            2
        } else {
            4
        };
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        let s = format!("{v:.1e}");
        s.replace(".0e", "e")
    }
}

/// An axis's label of the tick at `v` (drawing coordinates): [`typeset`] of its value.
pub(crate) fn axis_label(v: f64, scale: Scale) -> String {
    typeset(match scale {
        Scale::Linear => v,
        Scale::Log => round_significant(10f64.powf(v)),
    })
}

/// [`tick`]'s short number as a paper sets it, for figures: a true minus sign, and powers of
/// ten with a raised exponent (`3×10^{−5}`, [`crate::math_text`] markup).
pub(crate) fn typeset(value: f64) -> String {
    let text = tick(value);
    let minus = |s: &str| s.replace('-', "−");
    match text.split_once('e') {
        Some((mantissa, exponent)) => {
            let power = format!("10^{{{}}}", minus(exponent));
            match mantissa {
                "1" => power,
                "-1" => format!("−{power}"),
                m => format!("{}×{power}", minus(m)),
            }
        }
        None => minus(&text),
    }
}

/// A "nice" step (1, 2 or 5 × 10^k) near `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let m = raw / magnitude;
    let nice = if m < 1.5 {
        1.0
    } else if m < 3.5 {
        2.0
    } else if m < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// The nice step after `step` (itself nice): 1 → 2 → 5 → 10 (× 10^k).
fn next_nice(step: f64) -> f64 {
    let magnitude = 10f64.powf(step.log10().floor());
    let next = match (step / magnitude).round() as u32 {
        1 => 2.0,
        2 => 5.0,
        _ => 10.0,
    };
    next * magnitude
}

/// Multiples of `step` within [lo, hi].
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Labelled (bold) and unlabelled (light) tick positions of an axis.
pub(crate) type Ticks = (Vec<f64>, Vec<f64>);

/// Ticks at whole numbers only (seeds, eigen-indices): steps of 1, 2, 5, 10, … and no light
/// ticks between them; at most `max` labelled ones (but at least one).
pub(crate) fn integer_ticks(lo: f64, hi: f64, max: usize) -> Ticks {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return (vec![lo.round()], Vec::new());
    }
    let mut step = nice_step(span / 6.0).max(1.0).round();
    while multiples(lo, hi, step).len() > max.max(1) {
        step = next_nice(step).round();
    }
    (multiples(lo, hi, step), Vec::new())
}

/// Ticks on an axis spanning [lo, hi] in drawing coordinates, at round values of the quantity
/// itself: 1, 2, 5 × 10^k on a log axis of a few decades, plain round numbers within one
/// decade; `dense` = false for a horizontal axis, whose labels sit side by side (1 and
/// 3 × 10^k would collide there beyond three decades). At most `max` labelled ticks (at
/// least two where the range has them): fewer, rounder ones on a short axis.
pub(crate) fn ticks(lo: f64, hi: f64, scale: Scale, dense: bool, max: usize) -> Ticks {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return (vec![lo], Vec::new());
    }
    let max = max.max(2);
    match scale {
        Scale::Linear => {
            let mut step = nice_step(span / 5.0);
            while multiples(lo, hi, step).len() > max {
                step = next_nice(step);
            }
            (multiples(lo, hi, step), multiples(lo, hi, step / 5.0))
        }
        Scale::Log if span < 0.6 => {
            let (a, b) = (10f64.powf(lo), 10f64.powf(hi));
            let mut step = nice_step((b - a) / 5.0);
            while multiples(a, b, step).len() > max {
                step = next_nice(step);
            }
            let log = |v: Vec<f64>| v.into_iter().filter(|&x| x > 0.0).map(f64::log10).collect();
            (log(multiples(a, b, step)), log(multiples(a, b, step / 5.0)))
        }
        Scale::Log => {
            // Enough labelled ticks to read a value off the axis (the final loss of Fig. 4
            // spans four or five decades): 1, 2, 5 within three decades, 1 and 3 within six;
            // then sparser until they fit.
            let preferred: &[f64] = if span <= 3.0 {
                &[1.0, 2.0, 5.0]
            } else if span <= 6.0 && dense {
                &[1.0, 3.0]
            } else {
                &[1.0]
            };
            let every = ((span / 7.0).ceil() as i32).max(1);
            let mut candidates: Vec<(&[f64], i32)> = vec![(preferred, every)];
            if preferred.len() == 3 {
                candidates.push((&[1.0, 3.0], every));
            }
            candidates.extend((every..=every + 20).map(|e| (&[1.0][..], e)));
            let light_too = span <= 6.0;
            for (mantissas, every) in &candidates {
                let t = log_ticks(lo, hi, mantissas, *every, light_too);
                if t.0.len() <= max {
                    return t;
                }
            }
            log_ticks(lo, hi, &[1.0], every + 20, light_too)
        }
    }
}

/// Log-axis ticks: the mantissas given at every `every`-th decade labelled, the other whole
/// mantissas light (where `light` asks for them).
fn log_ticks(lo: f64, hi: f64, mantissas: &[f64], every: i32, light: bool) -> Ticks {
    let (k0, k1) = (lo.floor() as i32, hi.ceil() as i32);
    let (mut bold, mut faint) = (Vec::new(), Vec::new());
    for k in k0..=k1 {
        for m in 1..10 {
            let v = (f64::from(m) * 10f64.powi(k)).log10();
            if v < lo || v > hi {
                continue;
            }
            if mantissas.contains(&f64::from(m)) && (m != 1 || k.rem_euclid(every) == 0) {
                bold.push(v);
            } else if light {
                faint.push(v);
            }
        }
    }
    (bold, faint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_sit_at_round_values() {
        let (bold, _) = ticks(5f64.log10(), 40f64.log10(), Scale::Log, true, 10);
        let values: Vec<String> = bold
            .iter()
            .map(|v| tick(round_significant(10f64.powf(*v))))
            .collect();
        assert_eq!(values, ["5", "10", "20"]);
        // Within six decades, 1 and 3 × 10^k on a vertical axis, so a value can be read off;
        // 1 × 10^k on a horizontal one, where labels sit side by side.
        let (bold, _) = ticks(-5.2, -0.5, Scale::Log, true, 10);
        assert_eq!(bold.len(), 10); // 1e-5, 3e-5, … 1e-1, 3e-1
        let (bold, _) = ticks(-5.2, -0.5, Scale::Log, false, 10);
        assert_eq!(bold.len(), 5); // 1e-5 … 1e-1
        let (bold, _) = ticks(-12.0, -0.5, Scale::Log, true, 10);
        assert!(bold.len() <= 7, "{bold:?}");
        // Seeds and eigen-indices: whole numbers only.
        assert_eq!(
            integer_ticks(-0.5, 4.5, 10).0,
            vec![0.0, 1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(integer_ticks(0.5, 3.5, 10).0, vec![1.0, 2.0, 3.0]);
        assert!(integer_ticks(0.5, 15.5, 10)
            .0
            .iter()
            .all(|v| v.fract() == 0.0));
        let (bold, _) = ticks(0.7f64.log10(), 1.0f64.log10(), Scale::Log, true, 10);
        assert!(bold.len() >= 3, "{bold:?}");
        assert_eq!(
            ticks(0.0, 1.0, Scale::Linear, true, 10).0,
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(tick(0.30000000000000004), "0.3");
    }

    #[test]
    fn fewer_rounder_ticks_where_few_fit() {
        assert_eq!(
            ticks(0.0, 1.0, Scale::Linear, true, 3).0,
            vec![0.0, 0.5, 1.0]
        );
        assert_eq!(integer_ticks(-0.5, 9.5, 3).0, vec![0.0, 5.0]);
        // Eight decades, room for three labels: every fourth decade.
        let (bold, _) = ticks(-8.0, 0.0, Scale::Log, true, 3);
        assert!(bold.len() <= 3 && bold.len() >= 2, "{bold:?}");
        assert!(bold.iter().all(|v| v.fract() == 0.0), "{bold:?}");
    }

    #[test]
    fn axis_labels_are_typeset() {
        assert_eq!(axis_label(-5.0, Scale::Log), "10^{−5}");
        assert_eq!(axis_label(3e-5f64.log10(), Scale::Log), "3×10^{−5}");
        assert_eq!(axis_label(-0.5, Scale::Linear), "−0.5");
        assert_eq!(axis_label(2.0f64.log10(), Scale::Log), "2");
        assert_eq!(axis_label(150000.0, Scale::Linear), "1.5×10^{5}");
    }
}

//! The collector every check of [`validate`](super::validate()) writes to: a [`Checker`]
//! records each problem as a [`FieldError`] and carries on, so that every problem of a sweep
//! file is reported at once, and holds the checks shared by its sections (names, counts,
//! rates, eigen settings).

use std::collections::HashMap;

use super::error::{fmt_number, FieldError};
use super::solve::SOLVER_GUARD;

/// Collects errors; each check records a [`FieldError`] and carries on.
#[derive(Default)]
pub(super) struct Checker {
    /// The errors found, in the order found, each once.
    pub(super) errors: Vec<FieldError>,
    /// Settings that are valid but probably not what was meant.
    pub(super) warnings: Vec<FieldError>,
}

impl Checker {
    pub(super) fn fail(
        &mut self,
        path: impl Into<String>,
        value: impl Into<String>,
        message: impl Into<String>,
    ) {
        // A setting shared by several optimiser variants is checked once per variant: say it
        // once.
        let error = FieldError::new(path, value, message);
        if !self.errors.contains(&error) {
            self.errors.push(error);
        }
    }

    pub(super) fn errors_under(&self, prefix: &str) -> usize {
        self.errors
            .iter()
            .filter(|e| e.path.starts_with(prefix))
            .count()
    }

    /// Names become directory names (`dataset=NAME`), so they stay within a safe alphabet.
    pub(super) fn name(&mut self, path: &str, name: &str) {
        let alphabet = |ch: char| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-');
        if name.is_empty() || !name.chars().all(alphabet) || name == "." || name == ".." {
            self.fail(
                path,
                format!("{name:?}"),
                "expected a name of letters, digits, `_`, `.` and `-` (not `.` or `..`)",
            );
        }
    }

    pub(super) fn non_empty(&mut self, path: &str, empty: bool, what: &str) {
        if empty {
            self.fail(path, "[]", format!("expected {what}"));
        }
    }

    /// Reports every repeat of a value, pointing at its first occurrence.
    pub(super) fn unique(&mut self, list: &str, what: &str, values: impl Iterator<Item = String>) {
        let mut first: HashMap<String, usize> = HashMap::new();
        for (i, v) in values.enumerate() {
            if let Some(&j) = first.get(&v) {
                let path = if what == "seed" {
                    format!("{list}[{i}]")
                } else {
                    format!("{list}[{i}].name")
                };
                self.fail(
                    path,
                    v,
                    format!("expected a unique {what} ({list}[{j}] has it too)"),
                );
            } else {
                first.insert(v, i);
            }
        }
    }

    pub(super) fn at_least(&mut self, path: &str, value: u64, min: u64) {
        if value < min {
            let what = if min == 1 {
                "a positive integer".to_string()
            } else {
                format!("at least {min}")
            };
            self.fail(path, value.to_string(), format!("expected {what}"));
        }
    }

    /// The output tables store integers as signed 64-bit (DuckDB `BIGINT`): a larger step or
    /// seed could be trained but not written, so it is refused before anything runs.
    pub(super) fn fits_a_table(&mut self, path: &str, value: u64) {
        if i64::try_from(value).is_err() {
            self.fail(
                path,
                value.to_string(),
                format!(
                    "expected at most {} (the output tables store signed 64-bit integers)",
                    i64::MAX
                ),
            );
        }
    }

    pub(super) fn positive(&mut self, path: &str, x: f64) {
        if !(x.is_finite() && x > 0.0) {
            self.fail(path, fmt_number(x), "expected a positive number");
        }
    }

    /// A positive number that stays a positive, finite, normal f32 (the data are normalised in
    /// f32, so a smaller one would divide by zero or by a subnormal there).
    pub(super) fn positive_f32(&mut self, path: &str, x: f64) {
        let single = x as f32;
        if !(x.is_finite() && x > 0.0) {
            self.fail(path, fmt_number(x), "expected a positive number");
        } else if !(single.is_finite() && single.is_normal()) {
            self.fail(
                path,
                fmt_number(x),
                format!(
                    "expected a positive number within the f32 range ({:e} to {:e}): the data are normalised in f32, where this is {}",
                    f32::MIN_POSITIVE,
                    f32::MAX,
                    if single == 0.0 {
                        "0".to_string()
                    } else {
                        format!("{single:e}")
                    }
                ),
            );
        }
    }

    pub(super) fn non_negative(&mut self, path: &str, x: f64) {
        if !(x.is_finite() && x >= 0.0) {
            self.fail(path, fmt_number(x), "expected a finite number ≥ 0");
        }
    }

    /// `x` in [0, 1), or [0, 1] with `closed`.
    pub(super) fn in_unit(&mut self, path: &str, x: f64, closed: bool) {
        let ok = x >= 0.0 && (x < 1.0 || (closed && x == 1.0));
        if !ok {
            let range = if closed { "[0, 1]" } else { "[0, 1)" };
            self.fail(path, fmt_number(x), format!("expected a number in {range}"));
        }
    }

    pub(super) fn open_unit(&mut self, path: &str, x: f64) {
        if !(x > 0.0 && x < 1.0) {
            self.fail(
                path,
                fmt_number(x),
                "expected a number strictly between 0 and 1",
            );
        }
    }

    pub(super) fn tol(&mut self, path: &str, x: f64) {
        if !(x.is_finite() && x >= 0.0) {
            self.fail(
                path,
                fmt_number(x),
                "expected a finite number ≥ 0 (0 = machine precision)",
            );
        }
    }

    pub(super) fn eigen_k(&mut self, path: &str, top_k: usize, params: u64) {
        if top_k == 0 {
            self.fail(path, "0", "expected at least 1 eigenpair");
        } else if top_k as u64 > params {
            self.fail(
                path,
                top_k.to_string(),
                format!("expected at most the model's {params} parameters"),
            );
        }
    }

    /// `top_k`, `tol` and `max_products` of one eigen-settings block under `at`.
    pub(super) fn eigen(
        &mut self,
        at: &str,
        top_k: usize,
        tol: f64,
        max_products: usize,
        params: u64,
    ) {
        self.eigen_k(&format!("{at}.top_k"), top_k, params);
        self.tol(&format!("{at}.tol"), tol);
        if max_products < top_k.saturating_add(SOLVER_GUARD) {
            self.fail(
                format!("{at}.max_products"),
                max_products.to_string(),
                format!(
                    "expected at least top_k + {SOLVER_GUARD} = {} (one start block of the \
                     eigensolver)",
                    top_k.saturating_add(SOLVER_GUARD)
                ),
            );
        }
    }
}

//! How numbers read where eigensweep prints them for people (logs, summaries): one format for
//! eigenvalues, losses and residuals, so that `15.74` in a run's summary and in `train`'s log
//! are the same number written the same way. The tables keep every digit.

/// `x` with 4 significant digits: in plain decimals from 0.001 to 9,999 (`15.74`, `1.019`,
/// `0.003125`, `2048`), in scientific notation with a signed two-digit exponent outside
/// (`1.574e-05`, `2.500e+06`); `0`, `NaN`, `inf` and `-inf` as such.
///
/// ```
/// use eigensweep_common::display::number;
/// assert_eq!(number(15.73555), "15.74");
/// assert_eq!(number(1.019268), "1.019");
/// assert_eq!(number(-2.5e-7), "-2.500e-07");
/// ```
pub fn number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return format!("{x}");
    }
    // The exponent after rounding to 4 digits (9.9996 is 1.000e1, so `10.00`).
    let sci = format!("{x:.3e}");
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} writes an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} writes an integer exponent");
    if (-3..4).contains(&exponent) {
        let decimals = (3 - exponent) as usize;
        format!("{x:.decimals$}")
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn four_significant_digits_plain_in_the_middle_scientific_outside() {
        // Issue 26.6: λ1 printed as `1.573555e1`.
        assert_eq!(number(15.73555), "15.74");
        assert_eq!(number(1.019268), "1.019");
        assert_eq!(number(0.87), "0.8700");
        assert_eq!(number(0.003125), "0.003125");
        assert_eq!(number(0.001), "0.001000");
        assert_eq!(number(2048.0), "2048");
        assert_eq!(number(9999.4), "9999");
        // Rounding that carries into the next power of ten changes the layout with it.
        assert_eq!(number(9.9996), "10.00");
        assert_eq!(number(9999.6), "1.000e+04");
        assert_eq!(number(0.00099996), "0.001000");
        assert_eq!(number(1.2345e-5), "1.234e-05");
        assert_eq!(number(-2.5e-7), "-2.500e-07");
        assert_eq!(number(3.0e120), "3.000e+120");
        assert_eq!(number(-15.73555), "-15.74");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "inf");
        assert_eq!(number(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn what_is_printed_reads_back_within_half_a_unit_of_the_fourth_digit() {
        for &x in &[15.73555, 1.019268, 0.8700001, 3.3e-9, 123456.0, -0.0421] {
            let back: f64 = number(x).parse().unwrap();
            assert!((back - x).abs() <= 5e-4 * x.abs(), "{x} → {}", number(x));
        }
    }
}

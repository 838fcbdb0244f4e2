//! Writing to stdout and stderr without ever failing the command, and without breaking the
//! progress bars drawn meanwhile.
//!
//! `println!` and `eprintln!` panic when the stream is gone (`eigensweep run … | head -1`,
//! `less` quit with `q`, a `tee` that died at logout). In a sweep such a panic on a
//! coordinating thread once left worker threads waiting for good. Progress and summaries are
//! for people: if nobody reads them any more, the work goes on and the files on disk say how
//! it ended.
//!
//! Each line is formatted first and written with one `write` call: unbuffered stderr would
//! otherwise write a line piece by piece, and the lines of MPI ranks that share one log (through
//! `mpirun`) would interleave mid-line. A pipe keeps writes of up to 4,096 bytes whole.
//!
//! While `run` draws progress bars on a terminal ([`BarsShown`]), a line written behind their
//! back would leave a copy of the bars above it that nothing redraws or clears (issue 26.6: a
//! `0/7 tasks … ETA 00:00:00` line stayed on screen for the whole run). Every line therefore
//! goes through [`write_line`], which lifts the bars, writes the line and draws them again
//! below it.

use std::io::Write as _;
use std::sync::Mutex;

use indicatif::MultiProgress;

/// The bars on screen now, if any.
static BARS: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Writes `line` and a newline to stderr (`to_stderr`) or stdout in one `write`, above the
/// progress bars if some are drawn; write errors are ignored.
pub(crate) fn write_line(to_stderr: bool, line: &str) {
    let mut bytes = String::with_capacity(line.len() + 1);
    bytes.push_str(line);
    bytes.push('\n');
    let write = || {
        let _ = if to_stderr {
            std::io::stderr().lock().write_all(bytes.as_bytes())
        } else {
            std::io::stdout().lock().write_all(bytes.as_bytes())
        };
    };
    let bars = BARS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match bars {
        Some(bars) => bars.suspend(write),
        None => write(),
    }
}

/// Progress bars that [`write_line`] writes above, for as long as this lives.
pub(crate) struct BarsShown(());

impl BarsShown {
    /// Routes every line written from now on above `bars`.
    pub(crate) fn new(bars: &MultiProgress) -> Self {
        *BARS.lock().unwrap_or_else(|e| e.into_inner()) = Some(bars.clone());
        BarsShown(())
    }
}

impl Drop for BarsShown {
    fn drop(&mut self) {
        *BARS.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// `println!` that ignores write errors (closed pipe, full log disk).
macro_rules! say {
    ($($arg:tt)*) => {{
        $crate::console::write_line(false, &format!($($arg)*));
    }};
}

/// `eprintln!` that ignores write errors (closed pipe, full log disk).
macro_rules! note {
    ($($arg:tt)*) => {{
        $crate::console::write_line(true, &format!($($arg)*));
    }};
}

pub(crate) use note;
pub(crate) use say;

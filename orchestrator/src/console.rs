//! Writing to stdout and stderr without ever failing the command.
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

/// `println!` that ignores write errors (closed pipe, full log disk).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }};
}

/// `eprintln!` that ignores write errors (closed pipe, full log disk).
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }};
}

pub(crate) use note;
pub(crate) use say;

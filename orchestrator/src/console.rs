//! Writing to stdout and stderr without ever failing the command.
//!
//! `println!` and `eprintln!` panic when the stream is gone (`eigensweep run … | head -1`,
//! `less` quit with `q`, a `tee` that died at logout). In a sweep such a panic on a
//! coordinating thread once left worker threads waiting for good. Progress and summaries are
//! for people: if nobody reads them any more, the work goes on and the files on disk say how
//! it ended.

/// `println!` that ignores write errors (closed pipe, full log disk).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` that ignores write errors (closed pipe, full log disk).
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub(crate) use note;
pub(crate) use say;

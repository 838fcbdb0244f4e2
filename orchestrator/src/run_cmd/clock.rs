//! The wall clock as the runs table records it: the times a launch writes into a row (start,
//! end, last update, last checkpoint) are Unix milliseconds, from [`now_ms`].

use std::time::{SystemTime, UNIX_EPOCH};

/// Current time in Unix milliseconds.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

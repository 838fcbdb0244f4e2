//! The status of a run or baseline task ([`TaskStatus`]), spelt as in the runs tables'
//! `status` column. A leaf of its own: the runs table (`runs.rs`) reads its rows' status with
//! it, and the state reader (`state.rs`), which reads the runs tables, ranks rows by it.

use std::fmt;

/// The status of a run or baseline task, as the runs tables' `status` column spells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskStatus {
    /// Not started, or stopped (by a signal) and waiting to resume from its checkpoint.
    #[default]
    Pending,
    /// A launch is working on it.
    Running,
    /// Finished: trained to its last step, or its baseline network measured.
    Done,
    /// Stopped by an error (recorded in `error`); the next launch retries it.
    Failed,
    /// Stopped on a non-finite loss (`_DIVERGED`); never retried.
    Diverged,
}

impl TaskStatus {
    /// Every status, in the order `status` lists them.
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Pending,
        TaskStatus::Running,
        TaskStatus::Done,
        TaskStatus::Failed,
        TaskStatus::Diverged,
    ];

    /// The text in the runs tables.
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Running => "running",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
            TaskStatus::Diverged => "diverged",
        }
    }

    /// The status a runs table's text names; `None` for any other text.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Done or diverged: a launch skips the task.
    pub const fn is_finished(self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::Diverged)
    }
}

impl fmt::Display for TaskStatus {
    /// The table's text, padded as the format asks (`{:>9}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_text() {
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TaskStatus::parse("finished"), None);
        assert!(TaskStatus::Done.is_finished() && TaskStatus::Diverged.is_finished());
        assert!(!TaskStatus::Failed.is_finished());
    }

    #[test]
    fn the_text_is_padded_as_the_format_asks() {
        assert_eq!(format!("[{:>9}]", TaskStatus::Done), "[     done]");
        assert_eq!(TaskStatus::Diverged.to_string(), "diverged");
        assert_eq!(TaskStatus::default(), TaskStatus::Pending);
    }
}

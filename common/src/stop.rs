//! A request to stop, shared between a signal handler and long computations.
//!
//! Slurm sends SIGKILL 30 s after SIGTERM (its default KillWait), so every long loop of every
//! command polls one of these between units of work of a few seconds at most, and the command
//! exits with [`INTERRUPTED`](crate::exit_codes::INTERRUPTED) having written nothing
//! half-done.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag that is set once (by a signal handler, or by a test) and read by the computations
/// it should end. Clones share the flag.
///
/// Equality is by state (set or not), so that options holding one still compare by value.
#[derive(Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The flag a signal handler sets (`signal_hook::flag::register` takes this).
    pub fn as_arc(&self) -> &Arc<AtomicBool> {
        &self.0
    }

    /// Asks every holder to stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl From<Arc<AtomicBool>> for StopFlag {
    fn from(flag: Arc<AtomicBool>) -> Self {
        Self(flag)
    }
}

impl PartialEq for StopFlag {
    fn eq(&self, other: &Self) -> bool {
        self.is_requested() == other.is_requested()
    }
}

impl Eq for StopFlag {}

impl fmt::Debug for StopFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StopFlag({})", self.is_requested())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_request() {
        let a = StopFlag::new();
        let b = a.clone();
        assert!(!b.is_requested());
        a.request();
        assert!(b.is_requested());
        assert!(StopFlag::from(Arc::clone(a.as_arc())).is_requested());
    }
}

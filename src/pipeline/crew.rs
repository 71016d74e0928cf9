//! A run's workers as the one deciding a long document (a record or a `\r` file of many
//! chunks, which is one job) sees them: the workers waiting for a job, whose threads it
//! borrows to decide several of its chunks at once instead of leaving the run on one core,
//! and whether the run is over, so that it stops there instead of finishing a document
//! whose output no one will write.

use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering};

/// How many threads a run can lend to a worker deciding a long document: its workers
/// waiting for a job (or, for a caller deciding one text, a fixed number); and whether
/// the run is over. Lending keeps the threads running at about the run's thread count: a
/// helper runs while a worker waits. A worker that finds a job while its thread is lent
/// goes on, so for at most one helper round the run has a thread more than it was given.
#[derive(Debug, Default)]
pub struct Crew {
    /// Workers waiting, less the threads lent; below zero while a worker that found a
    /// job runs beside the helper lent in its stead.
    idle: AtomicIsize,
    /// Helper threads started so far, for tests and accounting.
    lent: AtomicU64,
    /// The run is over (stopped, or failed): a document being decided is not finished.
    over: AtomicBool,
}

impl Crew {
    /// `n` threads to lend, whatever else runs: for a caller deciding one long text on
    /// several cores ([`super::decide_document`]).
    pub fn new(n: usize) -> Self {
        Crew {
            idle: AtomicIsize::new(isize::try_from(n).unwrap_or(isize::MAX)),
            ..Crew::default()
        }
    }

    /// A worker starts waiting for a job.
    pub(super) fn waiting(&self) {
        self.idle.fetch_add(1, Ordering::AcqRel);
    }

    /// A worker has a job.
    pub(super) fn working(&self) {
        self.idle.fetch_sub(1, Ordering::AcqRel);
    }

    /// Takes up to `most` threads to lend; give them back with [`Crew::give_back`].
    pub(super) fn borrow(&self, most: usize) -> usize {
        let mut taken = 0;
        while taken < most
            && self
                .idle
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                    (v > 0).then(|| v - 1)
                })
                .is_ok()
        {
            taken += 1;
        }
        taken
    }

    /// Returns threads taken with [`Crew::borrow`], counting `started` of them as lent.
    pub(super) fn give_back(&self, taken: usize, started: usize) {
        self.idle.fetch_add(taken as isize, Ordering::AcqRel);
        self.lent.fetch_add(started as u64, Ordering::Relaxed);
    }

    /// Helper threads started so far: chunks decided beside the worker that held them.
    pub fn lent(&self) -> u64 {
        self.lent.load(Ordering::Relaxed)
    }

    /// The run is over: its writer stopped (a stop request, an error).
    pub(super) fn end(&self) {
        self.over.store(true, Ordering::Release);
    }

    /// Ends the run when dropped: held by the writer, so that however it stops, a
    /// worker deciding a long document stops too.
    pub(super) fn ending(&self) -> Ending<'_> {
        Ending(self)
    }

    /// Whether the run is over, or a stop was requested ([`crate::interrupt`]).
    pub(super) fn over(&self) -> bool {
        self.over.load(Ordering::Acquire) || crate::interrupt::requested()
    }
}

/// [`Crew::ending`]'s guard.
pub(super) struct Ending<'a>(&'a Crew);

impl Drop for Ending<'_> {
    fn drop(&mut self) {
        self.0.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_waiting_workers_are_lent_and_they_come_back() {
        let crew = Crew::default();
        assert_eq!(crew.borrow(4), 0, "no worker waits");
        crew.waiting();
        crew.waiting();
        assert_eq!(crew.borrow(4), 2);
        assert_eq!(crew.borrow(4), 0, "both are lent");
        // A lent worker finds a job: the run is a thread over until the helper is done.
        crew.working();
        assert_eq!(crew.borrow(1), 0);
        crew.give_back(2, 2);
        assert_eq!(crew.borrow(4), 1, "one is still waiting");
        crew.give_back(1, 0);
        assert_eq!(crew.lent(), 2);
        let fixed = Crew::new(3);
        assert_eq!(fixed.borrow(2), 2);
        assert_eq!(fixed.borrow(2), 1);
        assert!(!fixed.over());
        drop(fixed.ending());
        assert!(fixed.over());
    }
}

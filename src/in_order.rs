//! Blocks of a stream compressed on rayon's pool and handed on in the order they were
//! sent, whichever finishes first: the machinery the parallel gzip and bzip2 writers
//! ([`crate::gzip`], [`crate::bz2`]) share. What is written depends on the blocks alone,
//! never on the number of threads. Its [`spawn`] and [`wait`] also serve the parallel
//! bzip2 reader ([`crate::bunzip2`]).

use std::collections::VecDeque;
use std::io;
use std::sync::mpsc;

/// Blocks in flight, in stream order; `T` is a compressed block.
pub struct InOrder<T> {
    pending: VecDeque<mpsc::Receiver<io::Result<T>>>,
    /// How many blocks may be in flight (bounds memory).
    most: usize,
    /// Names the codec in the error of a compressor that stopped without a result.
    codec: &'static str,
}

impl<T: Send + 'static> InOrder<T> {
    /// No block in flight yet; up to two a pool thread, and two more, may be.
    pub fn new(codec: &'static str) -> InOrder<T> {
        InOrder {
            pending: VecDeque::new(),
            most: 2 * rayon::current_num_threads() + 2,
            codec,
        }
    }

    /// Whether no block was sent since the last complete [`InOrder::drain`].
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Runs `compress` on rayon's pool; its block comes out of [`InOrder::drain`] after
    /// every block sent before.
    pub fn send(&mut self, compress: impl FnOnce() -> io::Result<T> + Send + 'static) {
        self.pending.push_back(spawn(compress));
    }

    /// Hands finished blocks to `put` in order: those already done, then waits for more
    /// until at most `left` are in flight.
    pub fn drain(
        &mut self,
        left: usize,
        mut put: impl FnMut(T) -> io::Result<()>,
    ) -> io::Result<()> {
        while let Some(rx) = self.pending.front() {
            let done = if self.pending.len() > left {
                self.wait(rx)?
            } else {
                match rx.try_recv() {
                    Ok(done) => done,
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return Err(self.lost()),
                }
            };
            self.pending.pop_front();
            put(done?)?;
        }
        Ok(())
    }

    /// [`InOrder::drain`] down to the bound on blocks in flight: what a writer calls after
    /// sending a full block.
    pub fn drain_to_bound(&mut self, put: impl FnMut(T) -> io::Result<()>) -> io::Result<()> {
        self.drain(self.most, put)
    }

    fn wait(&self, rx: &mpsc::Receiver<io::Result<T>>) -> io::Result<io::Result<T>> {
        wait(rx).map_err(|_| self.lost())
    }

    fn lost(&self) -> io::Error {
        io::Error::other(format!(
            "a {} block's compressor stopped without a result",
            self.codec
        ))
    }
}

/// Runs `work` on rayon's pool; its result comes out of the receiver.
pub fn spawn<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::sync_channel(1);
    rayon::spawn(move || {
        let _ = tx.send(work());
    });
    rx
}

/// The result of work [`spawn`]ed on the pool, waited for; an error if the work stopped
/// without one. On one of the pool's own threads (a caller inside rayon), pool work is
/// run meanwhile: blocking there could wait for work that only this thread would get to.
pub fn wait<T>(rx: &mpsc::Receiver<T>) -> Result<T, mpsc::RecvError> {
    loop {
        match rx.try_recv() {
            Ok(done) => return Ok(done),
            Err(mpsc::TryRecvError::Disconnected) => return Err(mpsc::RecvError),
            Err(mpsc::TryRecvError::Empty) => {
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    // Not a pool thread, or nothing queued: the work is being done
                    // elsewhere.
                    return rx.recv();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn blocks_come_out_in_the_order_sent_whichever_finishes_first() {
        let mut order = InOrder::new("test");
        let mut out = Vec::new();
        for i in 0..20u8 {
            // Earlier blocks take longer, so they finish last.
            order.send(move || {
                std::thread::sleep(std::time::Duration::from_millis(u64::from(20 - i)));
                Ok(vec![i])
            });
            order.drain_to_bound(|b| out.write_all(&b)).unwrap();
        }
        order.drain(0, |b| out.write_all(&b)).unwrap();
        assert!(order.is_empty());
        assert_eq!(out, (0..20).collect::<Vec<u8>>());
    }

    #[test]
    fn a_block_that_fails_is_the_drains_error() {
        let mut order = InOrder::new("test");
        order.send(|| Ok(b"a".to_vec()));
        order.send(|| Err(io::Error::other("no room")));
        order.send(|| Ok(b"c".to_vec()));
        let mut out = Vec::new();
        let err = order.drain(0, |b: Vec<u8>| out.write_all(&b)).unwrap_err();
        assert_eq!(err.to_string(), "no room");
        assert_eq!(out, b"a");
    }
}

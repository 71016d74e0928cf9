//! Standard input read on a thread of its own, so that a stop request is seen while the
//! input is idle.
//!
//! A `read` on an idle pipe or terminal blocks until data comes, and a thread blocked
//! there cannot notice Ctrl-C; the run would wait for the next byte (or a second Ctrl-C)
//! to stop. [`Stdin`] hands the blocking reads to a detached pump thread and waits for its
//! blocks with a timeout, checking [`crate::interrupt::requested`] in between. The pump
//! forwards each block as soon as it is read: records piped one at a time go through at
//! once.

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// Bytes per block read from standard input.
const BLOCK: usize = 1 << 16;

/// How often a reader waiting for input checks for a stop request.
const POLL: Duration = Duration::from_millis(50);

/// Standard input, read by a pump thread (see the module documentation).
pub struct Stdin {
    blocks: Receiver<io::Result<Vec<u8>>>,
    block: Vec<u8>,
    at: usize,
    done: bool,
}

impl Stdin {
    /// Starts the pump thread. It ends at end of input, at a read error, or once this
    /// reader is dropped and another block has been read.
    pub fn start() -> io::Result<Stdin> {
        // Two blocks in flight: the pump reads ahead a little, never without bound.
        let (tx, blocks) = mpsc::sync_channel(2);
        std::thread::Builder::new()
            .name("chaff-stdin".into())
            .spawn(move || {
                let mut input = io::stdin().lock();
                loop {
                    let mut block = vec![0; BLOCK];
                    let sent = match input.read(&mut block) {
                        Ok(n) => {
                            block.truncate(n);
                            tx.send(Ok(block)).is_ok() && n > 0
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            false
                        }
                    };
                    if !sent {
                        return;
                    }
                }
            })?;
        Ok(Stdin {
            blocks,
            block: Vec::new(),
            at: 0,
            done: false,
        })
    }
}

impl Read for Stdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.block.len() {
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            match self.blocks.recv_timeout(POLL) {
                Ok(Ok(block)) => {
                    // An empty block is the end of input.
                    self.done = block.is_empty();
                    self.block = block;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(RecvTimeoutError::Timeout) => {
                    if crate::interrupt::requested() {
                        // Not `ErrorKind::Interrupted`: readers retry that one.
                        return Err(io::Error::other("stopped while waiting for input"));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => self.done = true,
            }
        }
        let n = buf.len().min(self.block.len() - self.at);
        buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

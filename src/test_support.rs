//! Helpers shared by the unit tests of the compressed writers and readers.

use crate::compression::Compression;
use std::io::{self, BufRead, Read, Write};
use std::sync::{Arc, Condvar, Mutex};

/// `n` bytes of Chinese text, compressible but not trivially: a counter in prose.
pub fn text(n: usize) -> Vec<u8> {
    let mut s = String::new();
    let mut i = 0u64;
    while s.len() < n {
        s += &format!(
            "第{i}段：新闻稿件，{}。\n",
            i.wrapping_mul(2654435761) % 9973
        );
        i += 1;
    }
    s.into_bytes()[..n].to_vec()
}

/// `data` compressed by chaff's writer for `c` ([`crate::output::Compressed`]), written
/// in pieces of the given sizes, cycled.
pub fn written(c: Compression, data: &[u8], pieces: &[usize]) -> Vec<u8> {
    let mut w = crate::output::Compressed::new(Vec::new(), c, None, true).unwrap();
    let mut at = 0;
    for &n in pieces.iter().cycle() {
        if at == data.len() {
            break;
        }
        let end = (at + n.max(1)).min(data.len());
        w.write_all(&data[at..end]).unwrap();
        at = end;
    }
    w.finish().unwrap()
}

/// Asserts that `data` compressed as `c` gives the same bytes however it is written: in
/// other pieces, and on rayon pools of 1 and 3 threads.
pub fn assert_the_bytes_depend_on_the_data_alone(c: Compression, data: &[u8]) {
    let a = written(c, data, &[1 << 20]);
    assert!(
        written(c, data, &[1, 77, 4096, 100_003]) == a,
        "{c:?}: other pieces"
    );
    for n in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap();
        assert!(
            pool.install(|| written(c, data, &[5000])) == a,
            "{c:?}: {n} threads"
        );
    }
}

/// Writes `data` to `w` in pieces of the sizes in `cuts`, flushing after a piece where
/// `flushes` says so (both cycled), as a pipe run writes record by record.
pub fn write_with_flushes(w: &mut impl Write, data: &[u8], cuts: &[usize], flushes: &[bool]) {
    let mut at = 0;
    for (&cut, &flush) in cuts.iter().cycle().zip(flushes.iter().cycle()) {
        if at == data.len() {
            break;
        }
        let end = (at + cut.max(1)).min(data.len());
        w.write_all(&data[at..end]).unwrap();
        if flush {
            w.flush().unwrap();
        }
        at = end;
    }
}

/// A pipe's read end as a streaming step sees it: the bytes its writer has sent so far
/// (up to a mark the test moves with the [`Sent`] handle [`Waiting::new`] returns),
/// then a wait. Asked for more than was sent on the test's own thread, it fails with
/// `WouldBlock` where a pipe would block: that reader waits for the next record before
/// handing out this one's text, and its writer, waiting for that text, would never send
/// the next. A reader's own threads (reading ahead) wait, as on a pipe.
pub struct Waiting {
    all: Vec<u8>,
    at: usize,
    sent: Sent,
    /// The test's thread, the one that moves the mark.
    writer: std::thread::ThreadId,
}

/// How much of a [`Waiting`] pipe's bytes are sent.
#[derive(Clone)]
pub struct Sent(Arc<(Mutex<usize>, Condvar)>);

impl Sent {
    /// Sends the bytes up to `n`.
    pub fn to(&self, n: usize) {
        *self.0 .0.lock().unwrap() = n;
        self.0 .1.notify_all();
    }
}

impl Waiting {
    /// A pipe that will carry `all`, nothing of it sent yet; the handle sends.
    pub fn new(all: Vec<u8>) -> (Waiting, Sent) {
        let sent = Sent(Arc::new((Mutex::new(0), Condvar::new())));
        let w = Waiting {
            all,
            at: 0,
            sent: sent.clone(),
            writer: std::thread::current().id(),
        };
        (w, sent)
    }
}

impl Read for Waiting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.fill_buf()?.len().min(buf.len());
        buf[..n].copy_from_slice(&self.all[self.at..self.at + n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Waiting {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let (mark, moved) = &*self.sent.0;
        let mut sent = mark.lock().unwrap();
        // The bound only ends a wait left behind by a failed test.
        let wait = std::time::Duration::from_secs(120);
        while self.at == *sent && *sent < self.all.len() {
            if std::thread::current().id() == self.writer {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!("waited at byte {} for more input", *sent),
                ));
            }
            let (next, timeout) = moved.wait_timeout(sent, wait).unwrap();
            if timeout.timed_out() {
                return Err(io::Error::other("no more input came"));
            }
            sent = next;
        }
        let end = (*sent).min(self.all.len());
        drop(sent);
        Ok(&self.all[self.at..end])
    }

    fn consume(&mut self, n: usize) {
        self.at += n;
    }
}

/// A writer whose bytes stay readable through a handle while it is borrowed or owned
/// elsewhere (inside a compressing writer).
#[derive(Clone, Default)]
pub struct Shared(pub Arc<Mutex<Vec<u8>>>);

impl Shared {
    /// How many bytes were written so far.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

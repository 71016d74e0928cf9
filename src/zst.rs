//! zstd output: one frame. A large stream (more than one chunk of input: stdout, a file
//! read in chunks) is compressed as it comes, by up to 4 libzstd workers. A
//! small one (a file of one chunk, most files of a dump) is held and compressed at its
//! end in one go, its size told to libzstd first: the frame then records the size, and
//! libzstd sizes its tables to the data. A streaming encoder does not know the size and
//! sets up the level's full tables for every file: the bench's 4,000 pages into an
//! output folder took 4.4 s instead of 1.9 s at level 3, and 176 s instead of 6.9 s at
//! level 19.

use std::io::{self, Write};
use zstd::stream::write::Encoder;

/// Most of libzstd's workers for one large stream: each holds a job of a few MB.
const WORKERS: usize = 4;
/// The most a small stream holds before it is compressed as it comes (a file of one
/// chunk can be large: one long line).
const HOLD: usize = 4 << 20;

/// A zstd writer; [`ZstdWriter::finish`] ends the frame. The bytes depend on the data,
/// the level and `large` (and where a flush came), not on the number of threads.
pub struct ZstdWriter<W: Write> {
    /// `None` only after the switch to streaming failed (an error already returned).
    state: Option<State<W>>,
}

enum State<W: Write> {
    /// A small stream so far: the bytes written, not yet compressed.
    Held { inner: W, held: Vec<u8>, level: i32 },
    /// Compressing as bytes come.
    Streaming(Encoder<'static, W>),
}

impl<W: Write> ZstdWriter<W> {
    /// A zstd writer into `inner` at `level`. `large`: the stream will hold more than one
    /// chunk of input, so libzstd's workers compress it as it comes (their output is the
    /// same for any number of workers from 1 up, not that of the single-threaded mode,
    /// so it does not depend on `--threads`).
    pub fn new(inner: W, level: u32, large: bool) -> io::Result<ZstdWriter<W>> {
        let level = level as i32;
        let state = if large {
            let mut e = Encoder::new(inner, level)?;
            let n = rayon::current_num_threads().clamp(1, WORKERS);
            e.multithread(n as u32)?;
            // Each job sees a whole window of the text before it, as one thread would
            // (the default at level 3 is an eighth): the output is ~6 % smaller for ~6 %
            // more of libzstd's time (itself ~1 % of a run's), and a flush (a
            // checkpoint, [`crate::journal`]) costs next to nothing instead of ~1 %.
            e.set_parameter(zstd::zstd_safe::CParameter::OverlapSizeLog(9))?;
            State::Streaming(e)
        } else {
            State::Held {
                inner,
                held: Vec::new(),
                level,
            }
        };
        Ok(ZstdWriter { state: Some(state) })
    }

    /// Ends the frame and hands `inner` back; a stream still held is compressed here,
    /// its size known.
    pub fn finish(self) -> io::Result<W> {
        match self.state {
            Some(State::Held { inner, held, level }) => {
                let mut e = Encoder::new(inner, level)?;
                e.set_pledged_src_size(Some(held.len() as u64))?;
                e.write_all(&held)?;
                e.finish()
            }
            Some(State::Streaming(e)) => e.finish(),
            None => Err(io::Error::other("zstd: a write failed before the end")),
        }
    }

    /// What is written into (all that was written before a flush is there); `None`
    /// after a failed write.
    pub fn get_mut(&mut self) -> Option<&mut W> {
        match &mut self.state {
            Some(State::Held { inner, .. }) => Some(inner),
            Some(State::Streaming(e)) => Some(e.get_mut()),
            None => None,
        }
    }

    /// The encoder, from here on compressing as bytes come (no size known), started
    /// with what was held.
    fn streaming(&mut self) -> io::Result<&mut Encoder<'static, W>> {
        if let Some(State::Held { .. }) = self.state {
            let Some(State::Held { inner, held, level }) = self.state.take() else {
                unreachable!("matched above")
            };
            let mut e = Encoder::new(inner, level)?;
            e.write_all(&held)?;
            self.state = Some(State::Streaming(e));
        }
        match &mut self.state {
            Some(State::Streaming(e)) => Ok(e),
            _ => Err(io::Error::other("zstd: a write failed before this one")),
        }
    }
}

impl<W: Write> Write for ZstdWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(State::Held { held, .. }) = &mut self.state {
            if held.len() + buf.len() <= HOLD {
                held.extend_from_slice(buf);
                return Ok(buf.len());
            }
        }
        self.streaming()?.write(buf)
    }

    /// Writes everything so far as compressed bytes the reader can decode (pipe mode
    /// flushes record by record): a held stream starts streaming.
    fn flush(&mut self) -> io::Result<()> {
        self.streaming()?.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::text;

    fn zstd_of(data: &[u8], level: u32, large: bool, pieces: usize) -> Vec<u8> {
        let mut w = ZstdWriter::new(Vec::new(), level, large).unwrap();
        for p in data.chunks(pieces.max(1)) {
            w.write_all(p).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn small_streams_record_their_size_and_every_stream_reads_back() {
        for n in [0, 1, 5000, HOLD, HOLD + 1, 2 * HOLD + 77] {
            let data = text(n);
            for (level, large) in [(3, false), (3, true), (19, false), (1, true)] {
                if level == 19 && n > 5000 {
                    continue; // slow, and its path is level 3's
                }
                let z = zstd_of(&data, level, large, 300_000);
                assert_eq!(zstd::decode_all(&z[..]).unwrap(), data, "{n} bytes");
                let size = zstd::zstd_safe::get_frame_content_size(&z).unwrap();
                // Held whole: the frame says how long it is.
                if !large && n <= HOLD {
                    assert_eq!(size, Some(n as u64), "{n} bytes");
                } else if n > 0 {
                    assert_eq!(size, None, "{n} bytes, large {large}");
                }
            }
        }
    }

    #[test]
    fn a_flush_makes_everything_so_far_readable() {
        let data = text(5000);
        let mut w = ZstdWriter::new(Vec::new(), 3, false).unwrap();
        w.write_all(&data[..300]).unwrap();
        w.flush().unwrap();
        let Some(State::Streaming(e)) = &w.state else {
            panic!("a flush starts streaming")
        };
        let mut got = vec![0; 300];
        let mut d = zstd::stream::read::Decoder::new(&e.get_ref()[..]).unwrap();
        std::io::Read::read_exact(&mut d, &mut got).unwrap();
        assert_eq!(got, &data[..300]);
        w.write_all(&data[300..]).unwrap();
        assert_eq!(zstd::decode_all(&w.finish().unwrap()[..]).unwrap(), data);
    }

    #[test]
    fn the_bytes_depend_on_the_data_alone() {
        crate::test_support::assert_the_bytes_depend_on_the_data_alone(
            crate::compression::Compression::Zstd,
            &text(3 * HOLD + 999),
        );
    }
}

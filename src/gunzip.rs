//! gzip input: every member of a file, one after another (pigz's and bgzip's output,
//! Common Crawl's member per record, `cat a.gz b.gz`), zero padding after a member
//! skipped; a member cut short, damaged or followed by anything else is an error
//! ([`crate::streams`]). flate2's `MultiGzDecoder` reads members too, but calls what
//! follows the last one `invalid gzip header` or `unexpected end of file`, and refuses
//! the zero padding gzip(1) reads past.

use crate::streams::{Codec, Magic, Padding, Streams};
use flate2::bufread::GzDecoder;
use std::io::{self, BufRead, Read};

/// gzip members: magic 1f 8b, zero padding skipped.
pub const GZIP: Codec = Codec {
    stream: "gzip member",
    a: "a",
    magics: &[Magic::exact(&[0x1f, 0x8b])],
    padding: Padding::Any,
};

/// Every gzip member of an input, decompressed in turn.
pub struct Gunzip<R: BufRead> {
    /// The member being read (flate2's gzip decoder reads one; a new one for each).
    /// `None` only while the next is set up.
    member: Option<GzDecoder<Streams<R>>>,
    /// The member has ended: what follows is looked at before reading on.
    between: bool,
}

impl<R: BufRead> Gunzip<R> {
    /// Reads the members of `inner`; the first begins at its first byte.
    pub fn new(inner: R) -> Gunzip<R> {
        Gunzip {
            member: Some(GzDecoder::new(Streams::new(inner))),
            between: false,
        }
    }
}

impl<R: BufRead> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(member) = self.member.as_mut() else {
                return Err(io::Error::other("a gzip member's decoder was lost"));
            };
            if self.between {
                if !member.get_mut().next_stream(&GZIP)? {
                    return Ok(0);
                }
                // Resetting the decoder instead (its inflate state kept) measured the
                // same: 4 KiB members, `cargo bench --bench decompress`.
                self.member = self.member.take().map(|m| GzDecoder::new(m.into_inner()));
                self.between = false;
                continue;
            }
            match member.read(buf) {
                Ok(0) => self.between = true,
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(member.get_ref().inside(&GZIP, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use proptest::prelude::*;
    use std::io::{BufReader, Write};

    fn gz(text: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(text).unwrap();
        e.finish().unwrap()
    }

    fn gunzip(z: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Gunzip::new(z).read_to_end(&mut out)?;
        Ok(out)
    }

    fn message(z: &[u8]) -> String {
        gunzip(z).unwrap_err().to_string()
    }

    #[test]
    fn members_follow_one_another_and_zeros_after_one_are_skipped() {
        let (a, b) = (gz(b"one\n"), gz(b"two\n"));
        assert_eq!(gunzip(&a).unwrap(), b"one\n");
        assert_eq!(
            gunzip(&[a.clone(), b.clone()].concat()).unwrap(),
            b"one\ntwo\n"
        );
        // As gzip(1) and Python read them: zeros at the end, and between members.
        let zeros = vec![0u8; 1000];
        assert_eq!(gunzip(&[&a[..], &zeros].concat()).unwrap(), b"one\n");
        let between = [&a[..], &zeros[..7], &b].concat();
        assert_eq!(gunzip(&between).unwrap(), b"one\ntwo\n");
        // An empty member is a member.
        let empty = gz(b"");
        assert_eq!(
            gunzip(&[&empty[..], &a, &empty].concat()).unwrap(),
            b"one\n"
        );
    }

    #[test]
    fn what_follows_a_member_is_a_member_or_an_error_naming_its_byte() {
        let a = gz(b"one\n");
        let n = a.len();
        let garbage = message(&[&a[..], b"garbage after it"].concat());
        assert_eq!(
            garbage,
            format!("what follows the end of a gzip member, at byte {n}, is not a gzip member (damaged, or other data after it)")
        );
        // Past the zeros, where the data begins; one byte that is not a magic's start.
        let after_zeros = message(&[&a[..], &[0, 0, 0], b"x"].concat());
        assert!(
            after_zeros.contains(&format!("at byte {}", n + 3)),
            "{after_zeros}"
        );
        assert!(message(&[&a[..], &[0x1f]].concat()).starts_with("gzip member cut short"));
        let kind = gunzip(&[&a[..], &[0x1f, 0x8b, 8]].concat())
            .unwrap_err()
            .kind();
        assert_eq!(kind, io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_member_cut_anywhere_is_cut_short_and_a_flipped_bit_is_an_error() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| (i * 7 % 251).to_le_bytes())
            .collect();
        let z = [gz(&text), gz(b"tail")].concat();
        for cut in (0..z.len()).step_by(97).chain([1, 9, z.len() - 1]) {
            let got = gunzip(&z[..cut]);
            let end_of_first = z.len() - gz(b"tail").len();
            if cut == end_of_first {
                assert_eq!(got.unwrap(), text);
                continue;
            }
            let e = got.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "cut at {cut}: {e}");
            assert!(e.to_string().starts_with("gzip member cut short"), "{e}");
        }
        let mut damaged = z.clone();
        damaged[z.len() / 3] ^= 0x10;
        assert!(gunzip(&damaged).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Any members, padding and buffer size read as flate2's own multi-member
        /// reader reads them (which takes no padding).
        #[test]
        fn members_read_as_flate2_reads_them(
            texts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..5),
            pad in 0usize..3,
            buffer in 1usize..100,
        ) {
            let mut z = Vec::new();
            for t in &texts {
                z.extend(gz(t));
            }
            let mut want = Vec::new();
            flate2::read::MultiGzDecoder::new(&z[..]).read_to_end(&mut want).unwrap();
            z.extend(std::iter::repeat_n(0, pad));
            let mut got = Vec::new();
            Gunzip::new(BufReader::with_capacity(buffer, &z[..])).read_to_end(&mut got).unwrap();
            prop_assert_eq!(got, want);
        }
    }
}

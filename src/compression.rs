//! Compression: the codecs chaff reads and writes, recognised by magic bytes (so stdin
//! works too) or named by a file's extension, and the decoders that undo them. Their
//! writers are in [`crate::output`] and the parallel encoders' own modules.

use crate::error::{Error, Result};
use std::io::{self, BufRead, Cursor, Read};

/// Compression of a stream, recognised by magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
    /// bzip2 (`.bz2`).
    Bzip2,
    /// xz (`.xz`).
    Xz,
    /// lz4 frames (`.lz4`).
    Lz4,
}

impl Compression {
    /// Recognises a compressed stream from its first bytes.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.starts_with(b"\xFD7zXZ\x00") {
            Compression::Xz
        } else if head.starts_with(LZ4) {
            Compression::Lz4
        } else if is_bzip2(head) {
            Compression::Bzip2
        } else {
            Compression::None
        }
    }

    /// The compression a file name asks for, by extension.
    pub fn from_name(name: &std::path::Path) -> Compression {
        match name.extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("zst") => Compression::Zstd,
            Some("bz2") => Compression::Bzip2,
            Some("xz") => Compression::Xz,
            Some("lz4") => Compression::Lz4,
            _ => Compression::None,
        }
    }

    /// Parses `--compress`: `auto` (outputs follow their inputs), `none`, `gz` (`gzip`),
    /// `zst` (`zstd`), `bz2` (`bzip2`), `xz` or `lz4`, a codec optionally with a level
    /// after a colon (`gz:1`, `zst:19`; see [`Compression::levels`]).
    pub fn parse_flag(s: &str) -> Result<CompressFlag> {
        let (name, level) = match s.split_once(':') {
            Some((name, level)) => (name, Some(level)),
            None => (s, None),
        };
        let codec = match name {
            "auto" => None,
            "none" => Some(Compression::None),
            "gz" | "gzip" => Some(Compression::Gzip),
            "zst" | "zstd" => Some(Compression::Zstd),
            "bz2" | "bzip2" => Some(Compression::Bzip2),
            "xz" => Some(Compression::Xz),
            "lz4" => Some(Compression::Lz4),
            _ => {
                return Err(Error::Usage(format!(
                    "--compress {s}: expected auto, none, gz, zst, bz2, xz or lz4, \
                     a codec optionally with a level (gz:1, zst:19)"
                )))
            }
        };
        let Some(level) = level else {
            return Ok(CompressFlag { codec, level: None });
        };
        let usage = |why: String| Err(Error::Usage(format!("--compress {s}: {why}")));
        let Some((range, _)) = codec.and_then(Compression::levels) else {
            return match codec {
                None => usage("a level needs a codec: gz:1, zst:19, ...".into()),
                Some(_) => usage(format!("{name} output has no levels")),
            };
        };
        match level.parse::<u32>() {
            Ok(n) if range.contains(&n) => Ok(CompressFlag {
                codec,
                level: Some(n),
            }),
            _ => usage(format!(
                "{name} levels are {} to {}",
                range.start(),
                range.end()
            )),
        }
    }

    /// The levels `--compress CODEC:LEVEL` takes for this codec (those of its own
    /// command-line tool; zstd's without `--ultra`), and the one written when none is
    /// given; `None` for a codec without levels. bzip2's level is its block size in
    /// units of 100 kB (chaff fills 7/9 of it, [`crate::bz2`]); xz presets 7 to 9 are 6
    /// here, their larger dictionaries exceeding the 4 MiB blocks ([`crate::xz`]).
    pub fn levels(self) -> Option<(std::ops::RangeInclusive<u32>, u32)> {
        match self {
            Compression::Gzip => Some((1..=9, 6)),
            Compression::Zstd => Some((1..=19, 3)),
            Compression::Bzip2 => Some((1..=9, 9)),
            Compression::Xz => Some((0..=9, 6)),
            Compression::None | Compression::Lz4 => None,
        }
    }

    /// `asked` if given, else this codec's default level (0 for a codec without levels).
    pub fn level(self, asked: Option<u32>) -> u32 {
        asked.unwrap_or_else(|| self.levels().map_or(0, |(_, default)| default))
    }

    /// The decompressed bytes of `compressed`, a stream in this compression: every
    /// stream of a file of several, one after another (`cat a.xz b.xz`, pbzip2's output);
    /// after the last, only the padding the codec's tools skip ([`crate::streams`]).
    pub fn decoder<R: BufRead + Send + 'static>(
        self,
        compressed: R,
    ) -> io::Result<Box<dyn Read + Send>> {
        self.threaded_decoder(compressed, 1)
    }

    /// [`Compression::decoder`], xz on up to `xz_threads` threads of liblzma's
    /// ([`crate::unxz`]; [`crate::unxz::threads_for`] tells how many are worth it).
    pub fn threaded_decoder<R: BufRead + Send + 'static>(
        self,
        compressed: R,
        xz_threads: usize,
    ) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Compression::None => Box::new(compressed),
            // Decoded a block at a time on the pool. Its big reads bypass the buffer.
            Compression::Bzip2 => Box::new(crate::bunzip2::Bunzip2::new(Box::new(compressed))?),
            Compression::Gzip => Box::new(crate::gunzip::Gunzip::new(compressed)),
            Compression::Zstd => Box::new(crate::unzstd::Unzstd::new(compressed)?),
            Compression::Xz => Box::new(crate::unxz::Unxz::new(compressed, xz_threads)),
            Compression::Lz4 => Box::new(crate::lz4::Frames::new(compressed)),
        })
    }

    /// File-name extension, without the dot.
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gz"),
            Compression::Zstd => Some("zst"),
            Compression::Bzip2 => Some("bz2"),
            Compression::Xz => Some("xz"),
            Compression::Lz4 => Some("lz4"),
        }
    }
}

/// `--compress` as parsed by [`Compression::parse_flag`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressFlag {
    /// The codec of every output; `None` (`auto`): each output as its input.
    pub codec: Option<Compression>,
    /// The level asked for; `None`: the codec's default.
    pub level: Option<u32>,
}

impl CompressFlag {
    /// Whether `other` asks for the same outputs: the same codec at the same level, a
    /// codec's default level counted as itself (`gzip` is `gz`, `zst:3` is `zst`).
    pub fn asks_same(&self, other: &CompressFlag) -> bool {
        let level = |f: &CompressFlag| f.codec.map(|c| c.level(f.level));
        self.codec == other.codec && level(self) == level(other)
    }
}

/// The longest magic [`Compression::sniff`] looks for: bzip2's.
const MAGIC: usize = 10;
/// An lz4 frame's magic number (0x184D2204, little-endian).
const LZ4: &[u8] = b"\x04\x22\x4D\x18";

/// Whether bytes that begin with `head` could open a compressed stream: `head` is a
/// prefix of a magic (or empty).
fn could_open_magic(head: &[u8]) -> bool {
    let fixed: [&[u8]; 4] = [b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"\xFD7zXZ\x00", LZ4];
    let bzip2 = head.iter().enumerate().all(|(i, &b)| match i {
        0..3 => b == b"BZh"[i],
        3 => (b'1'..=b'9').contains(&b),
        _ => b == b"\x31\x41\x59\x26\x53\x59"[i - 4] || b == b"\x17\x72\x45\x38\x50\x90"[i - 4],
    });
    bzip2
        || fixed
            .iter()
            .any(|m| head.len() < m.len() && m.starts_with(head))
}

/// Whether `head` opens a bzip2 stream. Its three letters alone (`BZh`) could open a
/// text; a level digit and the magic of a block, or of the end of an empty stream, follow.
fn is_bzip2(head: &[u8]) -> bool {
    head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && matches!(
            &head[4..10],
            b"\x31\x41\x59\x26\x53\x59" | b"\x17\x72\x45\x38\x50\x90"
        )
}

/// Reads the first bytes of `raw` until they show its compression, and returns the
/// stream whole again with that compression. A pipe's first read may be shorter than a
/// magic (bzip2's is 10 bytes): it reads on while what came could still open one, and no
/// further (a record piped alone is answered at once).
pub fn sniff_stream(mut raw: Box<dyn Read + Send>) -> io::Result<(Compression, impl Read + Send)> {
    let mut head = [0u8; MAGIC];
    let mut got = 0;
    while got < MAGIC && could_open_magic(&head[..got]) {
        match raw.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let compression = Compression::sniff(&head[..got]);
    Ok((compression, Cursor::new(head[..got].to_vec()).chain(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_flags_ask_the_same_by_codec_and_level_however_spelled() {
        let same = |a: &str, b: &str| {
            let (a, b) = (Compression::parse_flag(a), Compression::parse_flag(b));
            a.unwrap().asks_same(&b.unwrap())
        };
        for (a, b) in [
            ("gz", "gzip"),
            ("gz:6", "gzip"),
            ("zst", "zstd:3"),
            ("bzip2:9", "bz2"),
            ("xz", "xz:6"),
            ("auto", "auto"),
            ("lz4", "lz4"),
        ] {
            assert!(same(a, b), "{a} {b}");
        }
        for (a, b) in [
            ("gz", "gz:1"),
            ("gz", "zst"),
            ("auto", "none"),
            ("auto", "gz"),
        ] {
            assert!(!same(a, b), "{a} {b}");
        }
    }

    #[test]
    fn compress_flag_names_every_choice_and_rejects_the_rest() {
        let parse = |s| Compression::parse_flag(s).map(|f| f.codec);
        assert_eq!(parse("auto").unwrap(), None);
        assert_eq!(parse("none").unwrap(), Some(Compression::None));
        for s in ["gz", "gzip"] {
            assert_eq!(parse(s).unwrap(), Some(Compression::Gzip));
        }
        for s in ["zst", "zstd"] {
            assert_eq!(parse(s).unwrap(), Some(Compression::Zstd));
        }
        for s in ["bz2", "bzip2"] {
            assert_eq!(parse(s).unwrap(), Some(Compression::Bzip2));
        }
        assert_eq!(parse("xz").unwrap(), Some(Compression::Xz));
        assert_eq!(parse("lz4").unwrap(), Some(Compression::Lz4));
        let e = parse("brotli").unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e}");
        assert!(e.to_string().contains("--compress brotli"), "{e}");
    }

    #[test]
    fn a_level_is_taken_within_its_codecs_range_and_refused_outside_it() {
        let flag = |s| Compression::parse_flag(s).unwrap();
        let with = |codec, level| CompressFlag {
            codec: Some(codec),
            level,
        };
        assert_eq!(flag("gz"), with(Compression::Gzip, None));
        assert_eq!(flag("gzip:1"), with(Compression::Gzip, Some(1)));
        assert_eq!(flag("gz:9"), with(Compression::Gzip, Some(9)));
        assert_eq!(flag("zst:19"), with(Compression::Zstd, Some(19)));
        assert_eq!(flag("bz2:1"), with(Compression::Bzip2, Some(1)));
        assert_eq!(flag("xz:0"), with(Compression::Xz, Some(0)));
        for (s, why) in [
            ("gz:0", "gz levels are 1 to 9"),
            ("gz:10", "gz levels are 1 to 9"),
            ("zst:20", "zst levels are 1 to 19"),
            ("zstd:-1", "zstd levels are 1 to 19"),
            ("bz2:", "bz2 levels are 1 to 9"),
            ("xz:fast", "xz levels are 0 to 9"),
            ("lz4:1", "lz4 output has no levels"),
            ("none:1", "none output has no levels"),
            ("auto:3", "a level needs a codec"),
        ] {
            let e = Compression::parse_flag(s).unwrap_err().to_string();
            assert!(e.contains(&format!("--compress {s}: {why}")), "{s}: {e}");
        }
        assert_eq!(Compression::Gzip.level(None), 6);
        assert_eq!(Compression::Zstd.level(None), 3);
        assert_eq!(Compression::Bzip2.level(None), 9);
        assert_eq!(Compression::Xz.level(Some(0)), 0);
    }

    #[test]
    fn a_stream_is_read_on_only_while_it_could_open_a_magic() {
        assert!(could_open_magic(b"BZh91AY&S") && could_open_magic(b"BZh1\x17"));
        assert!(could_open_magic(b"") && could_open_magic(b"\xFD7zX"));
        assert!(!could_open_magic(b"B2") && !could_open_magic(b"{") && !could_open_magic(b"BZh0"));
        // bzip2's letters alone are text.
        assert_eq!(Compression::sniff(b"BZh9 is a text"), Compression::None);
        assert_eq!(Compression::sniff(b"BZh"), Compression::None);
    }
}

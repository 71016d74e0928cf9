//! Input lists (`--files-from LIST`, `--files0-from LIST`): the paths of a run read from a
//! file, for runs over more files than a command line holds (`find ... > LIST`) or over a
//! chosen subset of a dump's shards. A listed path is an input as a command-line one is
//! (a file, or a folder walked recursively), but under an output folder it keeps its whole
//! path, as tar's `-T` and rsync's `--files-from` keep it: shards of one name in different
//! folders stay apart.

use crate::compression::{sniff_stream, Compression};
use crate::error::{Error, Result};
use crate::sources::InputList;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// How a list ends its paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// One path per line (`\n`; a `\r` before it is part of the path).
    Newline,
    /// Each path ended by a NUL byte (`find -print0`), for names holding line breaks.
    Nul,
}

/// The inputs of a run with a list's paths added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileList {
    /// The inputs given to [`read`], then the listed paths in the list's order.
    pub inputs: InputList,
    /// How many paths the list named.
    pub listed: usize,
    /// The number of paths and a CRC-32 of them (`"3 paths, crc32 1a2b3c4d"`), which a
    /// run's settings record holds instead of the paths.
    pub digest: String,
}

/// Reads the list at `list` (`-`: standard input) and adds its paths, as listed inputs,
/// to `inputs` (the command line's). Empty entries (blank lines, a final separator) are
/// skipped. Every path must exist when the list is read, so a wrong list stops the run
/// before anything is written; the error names the list and the line (the entry, for a
/// NUL-separated list). `-` cannot be listed: standard input is named on the command
/// line. The list is read as a stream, decompressed if it is compressed (as an input
/// is, by its first bytes: `find ... | gzip > list.gz`), and its paths held compactly
/// ([`InputList`]).
pub fn read(list: &Path, sep: Separator, inputs: InputList) -> Result<FileList> {
    let stdin = list.as_os_str() == "-";
    let shown = if stdin { Path::new("<stdin>") } else { list };
    let raw: Box<dyn Read + Send> = if stdin {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(list).map_err(|e| Error::io(list, e))?)
    };
    let (compression, stream) = sniff_stream(raw).map_err(|e| Error::io(shown, e))?;
    let stream = std::io::BufReader::with_capacity(1 << 16, stream);
    let reader: Box<dyn BufRead> = match compression {
        Compression::None => Box::new(stream),
        codec => Box::new(std::io::BufReader::with_capacity(
            1 << 16,
            codec.decoder(stream).map_err(|e| Error::io(shown, e))?,
        )),
    };
    read_from(reader, shown, sep, inputs)
}

/// [`read`] from `reader`, the list `shown` in errors.
fn read_from(
    mut reader: impl BufRead,
    shown: &Path,
    sep: Separator,
    mut inputs: InputList,
) -> Result<FileList> {
    let byte = match sep {
        Separator::Newline => b'\n',
        Separator::Nul => b'\0',
    };
    let at = |n: usize, msg: String| match sep {
        Separator::Newline => Error::input(shown, n, msg),
        Separator::Nul => Error::Usage(format!("{}: entry {n}: {msg}", shown.display())),
    };
    let given = inputs.len();
    let mut crc = crc32fast::Hasher::new();
    let mut entry = Vec::new();
    for n in 1.. {
        entry.clear();
        let read = reader
            .read_until(byte, &mut entry)
            .map_err(|e| Error::io(shown, e))?;
        if read == 0 {
            break;
        }
        if entry.last() == Some(&byte) {
            entry.pop();
        }
        if entry.is_empty() {
            continue;
        }
        if sep == Separator::Newline && entry.contains(&0) {
            return Err(at(
                n,
                "a NUL byte in a path (a list from find -print0 needs --files0-from)".into(),
            ));
        }
        let path = path_of(&entry).map_err(|msg| at(n, msg))?;
        if path.as_os_str() == "-" {
            return Err(at(
                n,
                "`-` (standard input) cannot be listed; name it on the command line".into(),
            ));
        }
        if let Err(e) = std::fs::metadata(&path) {
            // Quoted, so a stray space or carriage return shows.
            let hint = if entry.last() == Some(&b'\r') {
                " (the line ends in a carriage return: convert the list with dos2unix)"
            } else if n == 1 && entry.starts_with(b"\xEF\xBB\xBF") {
                " (the list begins with a byte-order mark, which some editors write: save it without one)"
            } else if entry.first() == Some(&b' ') || entry.last() == Some(&b' ') {
                " (spaces around a path are part of its name)"
            } else {
                ""
            };
            return Err(at(n, format!("{path:?}: {e}{hint}")));
        }
        crc.update(&entry);
        crc.update(&[0]);
        inputs.push_path(&path, true);
    }
    let listed = inputs.len() - given;
    let digest = format!("{listed} paths, crc32 {:08x}", crc.finalize());
    Ok(FileList {
        inputs,
        listed,
        digest,
    })
}

/// A listed path: any bytes on Unix, UTF-8 elsewhere.
fn path_of(entry: &[u8]) -> std::result::Result<PathBuf, String> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(entry)))
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(entry)
            .map(PathBuf::from)
            .map_err(|_| "a path that is not UTF-8".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::Input;

    /// A list read with no command-line inputs.
    fn read(list: &Path, sep: Separator) -> Result<FileList> {
        super::read(list, sep, InputList::new())
    }

    #[test]
    fn lists_are_read_in_order_skipping_blank_entries_and_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir(dir.join("sub")).unwrap();
        for f in ["a b.txt", "sub/c.txt", "line\nbreak.txt"] {
            std::fs::write(dir.join(f), "x\n").unwrap();
        }
        let p = |f: &str| dir.join(f).display().to_string();
        let list = dir.join("list");
        std::fs::write(&list, format!("{}\n\n{}\n", p("a b.txt"), p("sub"))).unwrap();
        let got = read(&list, Separator::Newline).unwrap();
        let want = [
            Input::listed(dir.join("a b.txt")),
            Input::listed(dir.join("sub")),
        ];
        assert_eq!(got.inputs, InputList::from(want.clone()));
        assert_eq!(got.listed, 2);
        assert!(got.digest.starts_with("2 paths, crc32 "), "{}", got.digest);
        // The command line's inputs come first; only the list's are counted and digested.
        let given = Input::all_given(&[dir.join("sub"), "-".into()]);
        let both = super::read(&list, Separator::Newline, given).unwrap();
        let all: Vec<Input> = both.inputs.iter().collect();
        assert_eq!(all[..2], [Input::given(dir.join("sub")), Input::given("-")]);
        assert_eq!(all[2..], want);
        assert_eq!((both.listed, &both.digest), (2, &got.digest));
        // The same paths with NUL separators give the same digest; a name holding a line
        // break needs them.
        let nul = dir.join("list0");
        std::fs::write(&nul, format!("{}\0{}\0", p("a b.txt"), p("sub"))).unwrap();
        assert_eq!(read(&nul, Separator::Nul).unwrap(), got);
        std::fs::write(&nul, format!("{}\0", p("line\nbreak.txt"))).unwrap();
        assert_eq!(read(&nul, Separator::Nul).unwrap().inputs.len(), 1);
        let e = read(&nul, Separator::Newline).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}:1: ", list.with_file_name("list0").display())),
            "{e}"
        );
        assert!(e.contains("No such file"), "{e}");
        // A missing path, `-` and a NUL in a line list name the list's line.
        std::fs::write(&list, format!("{}\n{}\n", p("a b.txt"), p("gone.txt"))).unwrap();
        let e = read(&list, Separator::Newline).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}:2: {:?}: ",
                list.display(),
                dir.join("gone.txt")
            )),
            "{e}"
        );
        std::fs::write(&list, format!("{}\r\n", p("a b.txt"))).unwrap();
        let e = read(&list, Separator::Newline).unwrap_err().to_string();
        assert!(e.contains("a b.txt\\r\": No such file"), "{e}");
        assert!(
            e.ends_with("(the line ends in a carriage return: convert the list with dos2unix)"),
            "{e}"
        );
        // So is a Windows editor's byte-order mark, and spaces around a path.
        std::fs::write(&list, format!("\u{feff}{}\n", p("a b.txt"))).unwrap();
        let e = read(&list, Separator::Newline).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}:1: \"\\u{{feff}}", list.display()))
                && e.ends_with("(the list begins with a byte-order mark, which some editors write: save it without one)"),
            "{e}"
        );
        std::fs::write(&list, format!("{}\n{} \n", p("a b.txt"), p("a b.txt"))).unwrap();
        let e = read(&list, Separator::Newline).unwrap_err().to_string();
        assert!(
            e.contains(":2: ") && e.ends_with("(spaces around a path are part of its name)"),
            "{e}"
        );
        std::fs::write(&list, "-\n").unwrap();
        let e = read(&list, Separator::Newline).unwrap_err().to_string();
        assert!(
            e.contains(":1: `-` (standard input) cannot be listed"),
            "{e}"
        );
        std::fs::write(&list, format!("{}\0x\n", p("a b.txt"))).unwrap();
        let e = read(&list, Separator::Newline).unwrap_err().to_string();
        assert!(e.contains(":1: a NUL byte"), "{e}");
        std::fs::write(&nul, format!("{}\0\0{}\0", p("a b.txt"), p("gone"))).unwrap();
        let e = read(&nul, Separator::Nul).unwrap_err().to_string();
        assert!(e.contains(": entry 3: "), "{e}");
        // A list longer than the reader's buffer: paths across its edges come out whole.
        let long: Vec<PathBuf> = (0..6000)
            .map(|n| dir.join("./".repeat(n % 7)).join("a b.txt"))
            .collect();
        let text: String = long.iter().map(|p| format!("{}\n", p.display())).collect();
        assert!(text.len() > 2 << 16);
        std::fs::write(&list, text).unwrap();
        let got = read(&list, Separator::Newline).unwrap();
        let want: Vec<Input> = long.into_iter().map(Input::listed).collect();
        assert_eq!(got.inputs, InputList::from(want));
        // A compressed list is read decompressed: the same inputs, the same digest. A
        // damaged one is an error naming it.
        let plain = read(&list, Separator::Newline).unwrap();
        let gz = dir.join("list.gz");
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut z, &std::fs::read(&list).unwrap()).unwrap();
        let zipped = z.finish().unwrap();
        std::fs::write(&gz, &zipped).unwrap();
        assert_eq!(read(&gz, Separator::Newline).unwrap(), plain);
        std::fs::write(&gz, &zipped[..zipped.len() / 2]).unwrap();
        let e = read(&gz, Separator::Newline).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}: gzip", gz.display())), "{e}");
        // An empty list is a run over nothing; an unreadable one is an error naming it.
        std::fs::write(&list, "\n").unwrap();
        let empty = read(&list, Separator::Newline).unwrap();
        assert!(empty.inputs.is_empty());
        assert_eq!(empty.digest, "0 paths, crc32 00000000");
        let e = read(&dir.join("nope"), Separator::Newline).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }
}

//! Destinations: how a file the user names (`--removed`, `--file-stats`, `--stats`,
//! `--html`, a model, a plot) is written. A file is written under a temporary name and
//! renamed onto its path when complete ([`crate::output::AtomicFile`]). What is not a file
//! is written into as it is: a device (`/dev/null`), a FIFO, or one of the process's own
//! descriptors (`/dev/stderr`, a shell's `>(zstd > removed.zst)`, which is `/dev/fd/63`).
//! Renaming a file onto those would replace the device node or link itself (as root,
//! `/dev/null` for the whole machine), and a descriptor's link cannot be created beside.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Where a named file's bytes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A file (or nothing yet): written beside the path it holds and renamed onto it.
    /// That is the named path with a link at its end followed, so the link stays and
    /// its file gets the bytes, as a shell's `>` writes through a link.
    Replace(PathBuf),
    /// A device, FIFO or socket, or a descriptor's path (`/dev/stdout`, `/dev/stderr`,
    /// `/dev/fd/N`, `/proc/self/fd/N`): written into, never created or cut short. A
    /// device or FIFO is opened to append; a descriptor is the process's own, duplicated
    /// (as `>&N` writes it).
    Straight(PathBuf),
}

impl Destination {
    /// The destination of the file named `path`.
    pub fn of(path: &Path) -> Destination {
        let descriptor = descriptor(path).is_some()
            || path.starts_with("/dev/fd")
            || path.starts_with("/proc/self/fd");
        // Links followed: a link to a device is the device.
        let special = std::fs::metadata(path)
            .map(|m| !m.is_file() && !m.is_dir())
            .unwrap_or(false);
        if descriptor || special {
            return Destination::Straight(path.to_path_buf());
        }
        match followed(path) {
            Some(at) => Destination::Replace(at),
            // Opened as it is, it fails as the kernel fails it (a rename would replace
            // the link).
            None => Destination::Straight(path.to_path_buf()),
        }
    }

    /// Whether the bytes go straight into the path rather than a file renamed onto it.
    pub fn is_straight(&self) -> bool {
        matches!(self, Destination::Straight(_))
    }
}

/// `path` with the links at its end followed (to a file, or to where a file would be
/// made: a shell's `>` makes a dangling link's file); `None` for a loop of links, which
/// no file ends (given up at the 40th link, as Linux gives up).
fn followed(path: &Path) -> Option<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..=40 {
        let Ok(target) = std::fs::read_link(&at) else {
            return Some(at);
        };
        // A relative target is relative to the link's folder.
        at = match at.parent() {
            Some(folder) if !folder.as_os_str().is_empty() => folder.join(target),
            _ => target,
        };
    }
    None
}

/// Opens the straight destination `path` for writing: a descriptor's path duplicates the
/// descriptor, anything else is opened to append.
pub fn open_straight(path: &Path) -> Result<std::fs::File> {
    #[cfg(unix)]
    if let Some(fd) = descriptor(path) {
        // The descriptor itself, as the shell's `>&N` writes it: shared with the process's
        // own use of it (its offset, a socket that a path cannot open).
        use std::os::fd::{AsFd, BorrowedFd};
        // SAFETY: only borrowed to be duplicated; an fd not open makes `fcntl` fail.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let owned = match fcntl_ok(fd) {
            true => borrowed.as_fd().try_clone_to_owned(),
            false => Err(std::io::Error::from_raw_os_error(libc::EBADF)),
        };
        return owned
            .map(std::fs::File::from)
            .map_err(|e| Error::io(path, e));
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// The descriptor number a path names: `/dev/stdout` (1), `/dev/stderr` (2), `/dev/fd/N`
/// or `/proc/self/fd/N`.
fn descriptor(path: &Path) -> Option<i32> {
    let text = path.to_str()?;
    match text {
        "/dev/stdout" => Some(1),
        "/dev/stderr" => Some(2),
        _ => text
            .strip_prefix("/dev/fd/")
            .or_else(|| text.strip_prefix("/proc/self/fd/"))?
            .parse()
            .ok()
            .filter(|&n: &i32| n >= 0),
    }
}

/// Whether `fd` is an open descriptor of this process.
#[cfg(unix)]
fn fcntl_ok(fd: i32) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_descriptors_are_written_straight_and_links_followed() {
        for p in [
            "/dev/null",
            "/dev/stdout",
            "/dev/stderr",
            "/dev/fd/1",
            "/proc/self/fd/2",
        ] {
            assert_eq!(
                Destination::of(Path::new(p)),
                Destination::Straight(p.into()),
                "{p}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("stats.json");
        assert_eq!(Destination::of(&file), Destination::Replace(file.clone()));
        std::fs::write(&file, b"{}").unwrap();
        assert_eq!(Destination::of(&file), Destination::Replace(file.clone()));
        // A link to a file: its file is replaced, the link stays.
        #[cfg(unix)]
        {
            let link = dir.path().join("link.json");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            assert_eq!(Destination::of(&link), Destination::Replace(file.clone()));
            // Relative, dangling (where `>` makes the file), and a link to a link.
            let dangling = dir.path().join("dangling.json");
            std::os::unix::fs::symlink("none.json", &dangling).unwrap();
            let none = dir.path().join("none.json");
            assert_eq!(
                Destination::of(&dangling),
                Destination::Replace(none.clone())
            );
            let twice = dir.path().join("twice.json");
            std::os::unix::fs::symlink(&dangling, &twice).unwrap();
            assert_eq!(Destination::of(&twice), Destination::Replace(none));
            // A loop is opened as it is, which fails.
            let (a, b) = (dir.path().join("a"), dir.path().join("b"));
            std::os::unix::fs::symlink(&a, &b).unwrap();
            std::os::unix::fs::symlink(&b, &a).unwrap();
            assert_eq!(Destination::of(&a), Destination::Straight(a.clone()));
            assert!(open_straight(&a).is_err());
        }
        // A descriptor's path is the descriptor: not reopened (which a socket refuses),
        // and one not open is an error naming the path.
        assert_eq!(descriptor(Path::new("/dev/fd/63")), Some(63));
        assert_eq!(descriptor(Path::new("/proc/self/fd/2")), Some(2));
        assert_eq!(descriptor(Path::new("/dev/fd/x")), None);
        #[cfg(unix)]
        {
            assert!(open_straight(Path::new("/dev/stderr")).is_ok());
            let e = open_straight(Path::new("/dev/fd/1000")).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("/dev/fd/1000: Bad file descriptor"),
                "{e}"
            );
            let to_null = dir.path().join("null");
            std::os::unix::fs::symlink("/dev/null", &to_null).unwrap();
            assert!(Destination::of(&to_null).is_straight());
        }
    }
}

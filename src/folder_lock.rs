//! One run at a time in an output folder. A run into an OUTDIR (or a Dolma attributes
//! folder) holds an advisory lock on the folder itself from before it looks at what the
//! folder holds until it ends, so a second run there (a cron job started again before the
//! last one ended, a `--resume` typed while the run still goes) is refused instead of
//! removing the first run's temporary files, writing over its resumable outputs and
//! appending to its journal.
//!
//! The lock is `flock(2)` on the folder: nothing is written for it, the kernel lets it go
//! when the process ends however it ends (a SIGKILL leaves no stale lock behind), and
//! `flock(1)` sees it (`flock -n clean/ true` fails while a run holds it; `flock clean/
//! true` waits for the run to end). Where the file system cannot lock (some network
//! mounts), the run goes on unlocked, as it would without this module. The same lock
//! ([`lock`]) keeps a side file's partial file to one run ([`crate::side_file`]).

use crate::error::{Error, Result};
use std::path::Path;

/// The lock on an output folder, held until dropped.
#[derive(Debug)]
pub struct FolderLock {
    /// The folder, open: the lock belongs to this open file.
    _folder: std::fs::File,
}

impl FolderLock {
    /// Locks the folder `dir` (which exists) for this run, or fails if another run holds
    /// it. `Ok(None)`: the file system cannot lock, and the run goes on unlocked.
    pub fn take(dir: &Path) -> Result<Option<FolderLock>> {
        let folder = std::fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
        let why = "another chaff run is writing into this folder (it holds the folder's lock); \
                   wait for it to end, or stop it and finish with --resume";
        Ok(lock(&folder, dir, why)?.then_some(FolderLock { _folder: folder }))
    }
}

/// Locks the open `file` (at `path`) for as long as it stays open, or fails with `why` if
/// another process holds it; `false` where the file system cannot lock (ENOLCK, EINVAL,
/// EBADF: NFS without lockd, a file system without flock), as a lock is a safeguard,
/// not a reason to refuse the run. Also a side file's partial file, which two runs into
/// different folders could be given ([`crate::side_file::SideFile::resumable`]).
pub fn lock(file: &std::fs::File, path: &Path, why: &str) -> Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a descriptor the caller owns; no memory is passed.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            return match e.kind() {
                std::io::ErrorKind::WouldBlock => Err(Error::io(
                    path,
                    std::io::Error::new(std::io::ErrorKind::WouldBlock, why.to_string()),
                )),
                _ => Ok(false),
            };
        }
    }
    let _ = (file, path, why);
    Ok(true)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_locked_folder_is_refused_until_its_lock_is_let_go() {
        let dir = tempfile::tempdir().unwrap();
        // Each take opens the folder anew, so two in one process contend as two runs do.
        let first = FolderLock::take(dir.path()).unwrap();
        assert!(first.is_some(), "tmpfs and ext4 lock");
        let e = FolderLock::take(dir.path()).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: another chaff run", dir.path().display())),
            "{e}"
        );
        drop(first);
        assert!(FolderLock::take(dir.path()).unwrap().is_some());
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let e = FolderLock::take(&gone).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}: ", gone.display())), "{e}");
    }
}

//! The library's error type: every failure names what it was working on, so the CLI can
//! print one line (`chaff: ...`) that tells the user which file and line to look at.

use std::path::PathBuf;

/// Everything that can go wrong in chaff, each variant carrying enough context for a
/// one-line message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O failure on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder being read or written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Bad content at a specific line of a file (1-based).
    #[error("{path}:{line}: {msg}")]
    Input {
        /// The file holding the bad line.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        msg: String,
    },
    /// A model file that cannot be used (wrong magic, version, checksum, truncated...).
    #[error("{path}: not a usable chaff model: {msg}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// Why it was rejected.
        msg: String,
    },
    /// Training data that cannot produce a model (e.g. fewer than two classes).
    #[error("{0}")]
    Training(String),
    /// A file that is not what the run reads (binary, or another format), with `--strict`
    /// set.
    #[error("{path}: not {kind} ({reason}); --strict makes this an error")]
    NotText {
        /// The file.
        path: PathBuf,
        /// What the run reads: "plain text", "JSON lines", "WARC" or "Parquet".
        kind: &'static str,
        /// What gave it away.
        reason: String,
    },
    /// The run was stopped by SIGINT, SIGTERM or SIGHUP (the message is a run into an
    /// output folder's; the command line tells a run to standard output otherwise).
    #[error("interrupted; output files present are complete (finish with --resume)")]
    Interrupted,
    /// A bug: reported instead of a panic message.
    #[error("internal error: {0}")]
    Internal(String),
    /// A bad command-line request (unknown label, conflicting options...).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An input error at `path:line`.
    pub fn input(path: impl Into<PathBuf>, line: usize, msg: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            line,
            msg: msg.into(),
        }
    }

    /// A thread that could not be started (resource limits).
    pub fn spawn(source: std::io::Error) -> Self {
        Error::Internal(format!("cannot start a thread: {source}"))
    }

    /// A model-file error.
    pub fn model(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Model {
            path: path.into(),
            msg: msg.into(),
        }
    }
}

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

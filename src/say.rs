//! Lines for people on stderr, which may be gone: the reader of `chaff -v ... 2>&1 |
//! head` exits, a log collector dies. What chaff had to say is then dropped and the run
//! goes on to its end and exit code: `eprintln!` would panic there, and the panic
//! hook's own line with it, aborting the run where it stood (exit 134, its temporary
//! files left behind).

/// `eprintln!` that drops the line when stderr cannot be written.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

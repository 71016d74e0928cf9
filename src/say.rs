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

/// `n` and `noun`, the noun in the plural unless `n` is 1: `1 file`, `2 files`, `0
/// files`. For the nouns of chaff's counts (file, document, line, record), which all
/// take an `s`.
pub fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1, "file"), "1 file");
        assert_eq!(counted(0, "file"), "0 files");
        assert_eq!(counted(2, "bad record"), "2 bad records");
    }
}

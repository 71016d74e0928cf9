//! Ctrl-C, SIGTERM and SIGHUP: a long run stops between pieces of work, removes its
//! temporary files and leaves only complete output files, so `--resume` can finish it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// When the first signal came (CLOCK_MONOTONIC, in nanoseconds; 0: none yet).
#[cfg(unix)]
static FIRST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A second signal this soon after the first is the same stop, not a user insisting:
/// timeout(1) sends its signal to the run and then again to its whole process group,
/// so `timeout 6h chaff filter ...` gets two at once, which would end the run with no
/// clean-up, as SIGKILL does. A second Ctrl-C typed by a person comes later than this.
#[cfg(unix)]
const SAME_STOP_NS: u64 = 500_000_000;

/// Installs handlers for SIGINT, SIGTERM and SIGHUP (a closed terminal or SSH session,
/// which would otherwise kill the run where it stood) that request a stop. A second
/// signal, half a second or more after the first, terminates at once (the user
/// insists). Without this, signals kill the process as usual.
pub fn install() -> std::io::Result<()> {
    let flag = FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)));
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            let flag = Arc::clone(flag);
            let action = move || {
                let now = monotonic_ns().max(1);
                match FIRST.compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst) {
                    Ok(_) => flag.store(true, Ordering::SeqCst),
                    Err(first) if now.saturating_sub(first) >= SAME_STOP_NS => {
                        signal_hook::low_level::exit(130)
                    }
                    Err(_) => {}
                }
            };
            // SAFETY: the action is async-signal-safe: it reads the monotonic clock
            // (clock_gettime is on POSIX's list), touches atomics and may call _exit.
            unsafe { signal_hook::low_level::register(sig, action) }?;
        }
    }
    Ok(())
}

/// CLOCK_MONOTONIC in nanoseconds.
#[cfg(unix)]
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    FLAG.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

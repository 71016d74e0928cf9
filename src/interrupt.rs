//! Ctrl-C, SIGTERM and SIGHUP: a long run stops between pieces of work, removes its
//! temporary files and leaves only complete output files, so `--resume` can finish it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Installs handlers for SIGINT, SIGTERM and SIGHUP (a closed terminal or SSH session,
/// which would otherwise kill the run where it stood) that request a stop. A second
/// signal terminates at once (the user insists). Without this, signals kill the process
/// as usual.
pub fn install() -> std::io::Result<()> {
    let flag = FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)));
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            // Order matters: the conditional shutdown sees the flag before this signal
            // sets it.
            signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(flag))?;
            signal_hook::flag::register(sig, Arc::clone(flag))?;
        }
    }
    Ok(())
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    FLAG.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

//! The worker pool's first moments. Its threads are started when the
//! process starts and kept from parking until the build's first parallel
//! phase: a parked thread whose vCPU has gone idle took 1–8 ms to wake in a
//! VM, where a build that changes nothing takes ~9 ms in all, and a build
//! spends its first millisecond reading the config and the state anyway.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static STARTED: AtomicBool = AtomicBool::new(false);

/// How long the workers wait awake for a first phase that never comes (a
/// config error, `--graph-filter` on a cold tree).
const AWAKE_AT_MOST: Duration = Duration::from_millis(30);

/// Starts the pool and keeps each worker awake, yielding its core to any
/// thread that has work, until [`start`] or [`AWAKE_AT_MOST`].
pub fn warm_up() {
    for _ in 0..rayon::current_num_threads() {
        rayon::spawn(|| {
            let since = Instant::now();
            while !STARTED.load(Ordering::Relaxed) && since.elapsed() < AWAKE_AT_MOST {
                std::thread::yield_now();
            }
        });
    }
}

/// The first parallel phase begins: the waiting workers take its work.
/// Free when [`warm_up`] was never called.
pub fn start() {
    STARTED.store(true, Ordering::Relaxed);
}

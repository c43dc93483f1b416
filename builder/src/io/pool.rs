//! The worker pool's first moments. Its threads are started when the
//! process starts and kept from parking until the build's first parallel
//! phase: a parked thread whose vCPU has gone idle took 1–8 ms to wake in a
//! VM, where a build that changes nothing takes ~9 ms in all, and a build
//! spends its first millisecond reading the config and the state anyway.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static STARTED: AtomicBool = AtomicBool::new(false);

/// Workers running their wait (each has started and set itself up).
static AWAKE: AtomicUsize = AtomicUsize::new(0);

/// How long the workers wait awake for a first phase that never comes (a
/// config error, `--graph-filter` on a cold tree).
const AWAKE_AT_MOST: Duration = Duration::from_millis(30);

/// Starts the pool and keeps each worker awake, yielding its core to any
/// thread that has work, until [`start`] or [`AWAKE_AT_MOST`].
///
/// The workers keep the default stack: an analysis sizes the stack it needs
/// by the file's nesting and grows one only for a file that deep
/// (`analyze::on_deep_stack`).
pub fn warm_up() {
    for _ in 0..rayon::current_num_threads() {
        rayon::spawn(|| {
            AWAKE.fetch_add(1, Ordering::Release);
            let since = Instant::now();
            while !STARTED.load(Ordering::Relaxed) && since.elapsed() < AWAKE_AT_MOST {
                std::thread::yield_now();
            }
        });
    }
}

/// Returns once every worker is up and waiting (or [`AWAKE_AT_MOST`] has
/// passed). A measurement starts here: a worker's own start-up, its
/// allocations included, then falls before it, not inside it by chance.
pub fn wait_until_awake() {
    let since = Instant::now();
    while AWAKE.load(Ordering::Acquire) < rayon::current_num_threads()
        && since.elapsed() < AWAKE_AT_MOST
    {
        std::thread::yield_now();
    }
}

/// The first parallel phase begins: the waiting workers take its work.
/// Free when [`warm_up`] was never called.
pub fn start() {
    STARTED.store(true, Ordering::Relaxed);
}

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

/// Maps `items` in order, on the pool when there are at least
/// `inline_below` of them and on the calling thread otherwise.
///
/// A long-lived session's workers park between updates. Handing even one
/// item to the pool from outside it blocks the caller until a parked
/// worker wakes (1–8 ms on an idle vCPU), while an update after a one-file
/// edit does 3–6 ms of work in all: the wake, not the work, was most of
/// its spread from update to update (one rayon thread cut the σ of
/// successive updates' times three- to five-fold, measured in
/// docs/guides/harness-statistics.md §7c). Each caller sets `inline_below`
/// where its items' serial cost is about what a wake costs.
pub fn filter_map_ordered<T, R, F>(items: &[T], inline_below: usize, max_len: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Option<R> + Sync + Send,
{
    use rayon::prelude::*;
    if items.len() < inline_below {
        return items.iter().filter_map(f).collect();
    }
    items
        .par_iter()
        .with_max_len(max_len)
        .filter_map(f)
        .collect()
}

/// Runs `f` on each of `items`, on the pool when there are at least
/// `inline_below` of them and on the calling thread otherwise (the rule of
/// [`filter_map_ordered`], for work done in place).
pub fn for_each_mut<T, F>(items: &mut [T], inline_below: usize, max_len: usize, f: F)
where
    T: Send,
    F: Fn(&mut T) + Sync + Send,
{
    use rayon::prelude::*;
    if items.len() < inline_below {
        return items.iter_mut().for_each(f);
    }
    items.par_iter_mut().with_max_len(max_len).for_each(f);
}

#[cfg(test)]
mod tests {
    use super::filter_map_ordered;

    #[test]
    fn keeps_order_and_drops_nones_on_either_path() {
        let items: Vec<u32> = (0..100).collect();
        let odd_squares = |x: &u32| (x % 2 == 1).then_some(x * x);
        let expected: Vec<u32> = items.iter().filter_map(odd_squares).collect();
        for inline_below in [0, 1, 50, 100, 101] {
            assert_eq!(
                filter_map_ordered(&items, inline_below, 3, odd_squares),
                expected,
                "inline_below {inline_below}"
            );
        }
    }

    #[test]
    fn small_batches_run_on_the_calling_thread() {
        let caller = std::thread::current().id();
        let items = [1, 2, 3];
        let threads = filter_map_ordered(&items, 4, 1, |_| Some(std::thread::current().id()));
        assert!(threads.iter().all(|id| *id == caller));
        // At the threshold the pool takes them: a thread outside it never
        // runs a parallel map's items itself.
        let pooled = filter_map_ordered(&items, 3, 1, |_| Some(std::thread::current().id()));
        assert!(pooled.iter().all(|id| *id != caller));
    }
}

//! `soda-perf` entry point. The same binary is the parent (orchestration,
//! statistics, reports) and the measured child (`soda-perf worker`), whose
//! heap is counted by the allocator installed here.

/// jemalloc (as in production builds of the builder) wrapped by a counter of
/// allocated and peak bytes; only the worker reads the counters.
#[cfg(feature = "worker")]
#[global_allocator]
static ALLOCATOR: harness::worker::CountingAllocator<tikv_jemallocator::Jemalloc> =
    harness::worker::CountingAllocator::new(tikv_jemallocator::Jemalloc);

fn main() -> std::process::ExitCode {
    harness::cli::run()
}

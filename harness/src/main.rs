//! `soda-perf` entry point. The same binary is the parent (orchestration,
//! statistics, reports) and the measured child (`soda-perf worker`), whose
//! heap is counted by the allocator installed here.

/// jemalloc (as in production builds of the builder) wrapped by a counter of
/// allocated and peak bytes; only the worker reads the counters.
#[cfg(feature = "worker")]
#[global_allocator]
static ALLOCATOR: harness::measure::worker::CountingAllocator<tikv_jemallocator::Jemalloc> =
    harness::measure::worker::CountingAllocator::new(tikv_jemallocator::Jemalloc);

/// The same jemalloc options as `soda-builder` (`builder::JEMALLOC_CONF`), so
/// the worker measures the allocator the builder ships with.
#[cfg(feature = "worker")]
#[allow(non_upper_case_globals, unsafe_code)] // the one symbol jemalloc reads
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = builder::JEMALLOC_CONF;

fn main() -> std::process::ExitCode {
    harness::cli::run()
}

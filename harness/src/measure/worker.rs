//! The measured child (`soda-perf worker '<request json>'`, hidden). It runs
//! one scenario through the builder's library API inside a timed region,
//! counts heap bytes with [`CountingAllocator`] (installed as the global
//! allocator in `main.rs`), optionally checks the artifact against a clean
//! build outside the timed region, and prints one [`WorkerReport`] line.

use std::alloc::{GlobalAlloc, Layout};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use builder::build::{clean_build, run_build_session, BuildOptions};
use builder::config::load_config;
use builder::incremental::session::{BuildError, BuilderSession, SessionOptions};
use builder::ChangeSet;

use crate::fixtures::generate::TargetedEditPlan;
use crate::measure::protocol::{
    AllocCounters, CacheCounters, FileCounters, Injection, WorkerReport, WorkerRequest,
    WorkerScenario, PROTOCOL_VERSION,
};

static TOTAL_ALLOCATED: AtomicU64 = AtomicU64::new(0);
static CURRENT_ALLOCATED: AtomicU64 = AtomicU64::new(0);
static PEAK_ALLOCATED: AtomicU64 = AtomicU64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// Wraps an allocator and counts bytes: the total ever allocated, the bytes
/// live now, and the peak of live bytes. Relaxed atomics: each counter is
/// exact on its own; the peak may miss a concurrent instant by a few bytes.
pub struct CountingAllocator<A> {
    inner: A,
}

impl<A> CountingAllocator<A> {
    pub const fn new(inner: A) -> CountingAllocator<A> {
        CountingAllocator { inner }
    }
}

fn record_growth(bytes: u64) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    TOTAL_ALLOCATED.fetch_add(bytes, Ordering::Relaxed);
    let now = CURRENT_ALLOCATED.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK_ALLOCATED.fetch_max(now, Ordering::Relaxed);
}

fn record_shrink(bytes: u64) {
    CURRENT_ALLOCATED.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every method forwards to the wrapped allocator with the caller's
// arguments unchanged and returns its result unchanged; the counters are
// plain atomics that never allocate, so the GlobalAlloc contract of `A`
// carries over as is.
#[allow(unsafe_code)]
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours (non-zero size layout from the caller).
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            record_growth(layout.size() as u64);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record_growth(layout.size() as u64);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator (so by `inner`) with `layout`.
        unsafe { self.inner.dealloc(ptr, layout) };
        record_shrink(layout.size() as u64);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds realloc's contract for `inner`'s block.
        let new_ptr = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            let old_size = layout.size() as u64;
            let new_size = new_size as u64;
            if new_size >= old_size {
                record_growth(new_size - old_size);
            } else {
                record_shrink(old_size - new_size);
            }
        }
        new_ptr
    }
}

/// The counters at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocSnapshot {
    pub total: u64,
    pub current: u64,
    pub peak: u64,
    /// Allocations so far (growing reallocations included).
    pub count: u64,
}

pub fn alloc_snapshot() -> AllocSnapshot {
    AllocSnapshot {
        total: TOTAL_ALLOCATED.load(Ordering::Relaxed),
        current: CURRENT_ALLOCATED.load(Ordering::Relaxed),
        peak: PEAK_ALLOCATED.load(Ordering::Relaxed),
        count: ALLOCATIONS.load(Ordering::Relaxed),
    }
}

/// Starts a new peak at the current live size.
fn reset_peak() {
    PEAK_ALLOCATED.store(CURRENT_ALLOCATED.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// CPU time of this whole process (all threads), and `ru_maxrss`.
#[derive(Debug, Clone, Copy, Default)]
struct ProcessUsage {
    user_ms: f64,
    sys_ms: f64,
    /// KiB on Linux; only a fallback for [`own_peak_rss_kib`].
    max_rss_kib: u64,
}

#[allow(unsafe_code)]
fn process_usage() -> ProcessUsage {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, exclusively borrowed out-pointer;
    // RUSAGE_SELF covers every thread of this process.
    let result = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if result != 0 {
        return ProcessUsage::default();
    }
    let ms = |tv: libc::timeval| tv.tv_sec as f64 * 1000.0 + tv.tv_usec as f64 / 1000.0;
    ProcessUsage {
        user_ms: ms(usage.ru_utime),
        sys_ms: ms(usage.ru_stime),
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
    }
}

/// This process's own peak RSS since `exec`, in KiB (`VmHWM`). `ru_maxrss`
/// is not that: the kernel folds in the address space the process had
/// before `exec` — the parent's, copied or borrowed by fork/vfork — so a
/// child of a 40 MiB harness "peaks" at 40 MiB however little it uses.
fn own_peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status_kib(&status, "VmHWM:")
}

/// A `key: N kB` line of `/proc/<pid>/status`.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix(key))?;
    line.trim().strip_suffix("kB")?.trim().parse().ok()
}

/// The timed region: wall clock, CPU time and heap counters between `begin`
/// and `end`.
struct TimedRegion {
    started: Instant,
    usage: ProcessUsage,
    alloc_total: u64,
    alloc_count: u64,
    inject: Option<Injection>,
}

struct RegionFigures {
    wall_ms: f64,
    user_ms: f64,
    sys_ms: f64,
    /// Peak RSS of the process up to the end of the region.
    peak_rss_kib: u64,
    alloc: AllocCounters,
}

impl TimedRegion {
    fn begin(inject: Option<Injection>) -> TimedRegion {
        reset_peak();
        let snapshot = alloc_snapshot();
        TimedRegion {
            usage: process_usage(),
            alloc_total: snapshot.total,
            alloc_count: snapshot.count,
            inject,
            started: Instant::now(),
        }
    }

    fn end(self) -> RegionFigures {
        if let Some(inject) = self.inject {
            inject_work(
                &inject,
                self.started.elapsed(),
                alloc_snapshot().total.saturating_sub(self.alloc_total),
            );
        }
        let wall_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let usage = process_usage();
        let snapshot = alloc_snapshot();
        let (jemalloc_resident_bytes, jemalloc_allocated_bytes) = jemalloc_stats();
        // After the heap snapshot: reading the status file allocates.
        let peak_rss_kib = own_peak_rss_kib().unwrap_or(usage.max_rss_kib);
        RegionFigures {
            wall_ms,
            user_ms: (usage.user_ms - self.usage.user_ms).max(0.0),
            sys_ms: (usage.sys_ms - self.usage.sys_ms).max(0.0),
            peak_rss_kib,
            alloc: AllocCounters {
                total_allocated_bytes: snapshot.total.saturating_sub(self.alloc_total),
                peak_allocated_bytes: snapshot.peak,
                jemalloc_resident_bytes,
                jemalloc_allocated_bytes,
                allocations: snapshot.count.saturating_sub(self.alloc_count),
            },
        }
    }
}

/// How many updates a session scenario times in one worker; it reports
/// their mean. One 4–8 ms update is at the mercy of a single preemption or
/// CPU-time tick (a per-pair spread of 0.2–0.8 in the gate drills, more
/// pairs than the gate's cap to resolve 10%); the mean of eight is not, and
/// the initial build they share is paid once.
pub const SESSION_UPDATES_PER_SAMPLE: u32 = 8;

/// The figures of several timed regions, reported as one: times and heap
/// counters are means per region, peaks are maxima.
#[derive(Default)]
struct RegionSum {
    regions: u32,
    wall_ms: f64,
    user_ms: f64,
    sys_ms: f64,
    peak_rss_kib: u64,
    alloc: AllocCounters,
}

impl RegionSum {
    fn add(&mut self, figures: RegionFigures) {
        self.regions += 1;
        self.wall_ms += figures.wall_ms;
        self.user_ms += figures.user_ms;
        self.sys_ms += figures.sys_ms;
        self.peak_rss_kib = self.peak_rss_kib.max(figures.peak_rss_kib);
        let alloc = &mut self.alloc;
        alloc.total_allocated_bytes += figures.alloc.total_allocated_bytes;
        alloc.allocations += figures.alloc.allocations;
        alloc.peak_allocated_bytes = alloc
            .peak_allocated_bytes
            .max(figures.alloc.peak_allocated_bytes);
        // Gauges of the heap now: the last region's reading.
        alloc.jemalloc_resident_bytes = figures.alloc.jemalloc_resident_bytes;
        alloc.jemalloc_allocated_bytes = figures.alloc.jemalloc_allocated_bytes;
    }

    fn mean(self) -> RegionFigures {
        let n = self.regions.max(1);
        RegionFigures {
            wall_ms: self.wall_ms / f64::from(n),
            user_ms: self.user_ms / f64::from(n),
            sys_ms: self.sys_ms / f64::from(n),
            peak_rss_kib: self.peak_rss_kib,
            alloc: AllocCounters {
                total_allocated_bytes: self.alloc.total_allocated_bytes / u64::from(n),
                allocations: self.alloc.allocations / u64::from(n),
                ..self.alloc
            },
        }
    }
}

/// The synthetic extra work of `selftest` and the drills, inside the
/// measured region: a busy loop for `slowdown_pct` of the region's wall
/// time so far (CPU and wall grow alike, as with more work), and heap
/// blocks of 64 KiB, each written and freed, adding `alloc_pct` of the
/// region's allocated bytes.
fn inject_work(inject: &Injection, elapsed: std::time::Duration, allocated: u64) {
    if inject.alloc_pct > 0.0 {
        let extra = (allocated as f64 * inject.alloc_pct / 100.0) as u64;
        const BLOCK: u64 = 64 * 1024;
        let mut left = extra;
        while left > 0 {
            let size = left.min(BLOCK) as usize;
            let block = std::hint::black_box(vec![1u8; size]);
            drop(block);
            left -= size as u64;
        }
    }
    if inject.slowdown_pct > 0.0 {
        let spin = elapsed.mul_f64(inject.slowdown_pct / 100.0);
        let until = Instant::now() + spin;
        let mut state = 0u64;
        while Instant::now() < until {
            for _ in 0..256 {
                state = std::hint::black_box(
                    state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1),
                );
            }
        }
    }
}

/// jemalloc's resident and allocated bytes, refreshed; zeros when jemalloc
/// is not the allocator (unit tests) or its statistics cannot be read.
fn jemalloc_stats() -> (u64, u64) {
    if tikv_jemalloc_ctl::epoch::advance().is_err() {
        return (0, 0);
    }
    let resident = tikv_jemalloc_ctl::stats::resident::read().unwrap_or(0) as u64;
    let allocated = tikv_jemalloc_ctl::stats::allocated::read().unwrap_or(0) as u64;
    (resident, allocated)
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot load config {}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("cannot clear the cache of {}: {source}", config_path.display())]
    ClearCache {
        config_path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{stage} failed in scenario {scenario}: {message}")]
    Build {
        scenario: &'static str,
        stage: &'static str,
        message: String,
    },
    #[error("cannot read the artifact {} to verify it: {source}", path.display())]
    ReadArtifact {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the artifact {} does not start with the builder's layout ({ARTIFACT_ELEMENTS_PREFIX:?}): cannot verify it", path.display())]
    ArtifactLayout { path: PathBuf },
    #[error("the targeted edit of {} failed (iteration {iteration}): {message}", root.display())]
    Edit {
        root: PathBuf,
        iteration: u32,
        message: String,
    },
}

/// Entry point of the hidden subcommand: parses the request, runs it,
/// prints the report line, and returns the process exit code.
pub fn worker_main(request_json: &str) -> i32 {
    // As `soda-builder` starts: the pool's workers awake for the first phase,
    // and up before anything is timed (their start-up allocations would
    // otherwise fall inside a timed region or not, as the scheduler has it).
    builder::io::pool::warm_up();
    builder::io::pool::wait_until_awake();
    let report = match WorkerRequest::from_json(request_json) {
        Ok(request) => match run_request(&request) {
            Ok(report) => report,
            Err(err) => WorkerReport::failure(err.to_string()),
        },
        Err(err) => WorkerReport::failure(err.to_string()),
    };
    let mut stdout = std::io::stdout().lock();
    // The report is the last thing printed, on a line of its own.
    let written = writeln!(stdout, "\n{}", report.to_line()).and_then(|()| stdout.flush());
    match (written, report.ok) {
        (Ok(()), true) => 0,
        _ => 1,
    }
}

fn build_error(
    scenario: WorkerScenario,
    stage: &'static str,
) -> impl Fn(BuildError) -> WorkerError {
    move |err| WorkerError::Build {
        scenario: scenario.name(),
        stage,
        message: err.to_string(),
    }
}

/// Runs one request and gathers its report.
pub fn run_request(request: &WorkerRequest) -> Result<WorkerReport, WorkerError> {
    let scenario = request.scenario;
    if scenario == WorkerScenario::Calibrate {
        return Ok(calibrate());
    }
    let config = load_config(&request.config_path).map_err(|err| WorkerError::Config {
        path: request.config_path.clone(),
        message: err.to_string(),
    })?;
    let (output, figures) = match scenario {
        WorkerScenario::VerifyArtifact => return verify_artifact_on_disk(&config),
        WorkerScenario::Calibrate => return Ok(calibrate()),
        WorkerScenario::Cold | WorkerScenario::Warm | WorkerScenario::TargetedProcess => {
            if scenario == WorkerScenario::Cold {
                builder::incremental::persist::clear_cache(&config).map_err(|source| {
                    WorkerError::ClearCache {
                        config_path: request.config_path.clone(),
                        source,
                    }
                })?;
            }
            // Exactly `soda-builder build`: lock the cache, load the persisted
            // state, build, write the artifact and the cache.
            let region = TimedRegion::begin(request.inject);
            let (session, output) = run_build_session(
                &config,
                BuildOptions {
                    incremental: true,
                    write: true,
                },
            )
            .map_err(build_error(scenario, "build"))?;
            // As `soda-builder` does: the process ends soon, the OS frees it.
            std::mem::forget(session);
            (output, region.end())
        }
        WorkerScenario::WarmSession | WorkerScenario::TargetedSession => {
            // The session keeps its state in memory; the disk cache plays no part.
            let mut session =
                BuilderSession::new(config.clone(), SessionOptions { incremental: false });
            session
                .build_initial()
                .map_err(build_error(scenario, "initial build"))?;
            let plan = if scenario == WorkerScenario::TargetedSession {
                Some(targeted_edit_plan(&config.root_dir, request.iteration)?)
            } else {
                None
            };
            let mut figures = RegionSum::default();
            let mut last = None;
            for round in 0..SESSION_UPDATES_PER_SAMPLE {
                // Outside the region: the edit is the harness's work, not the builder's.
                let changes = match &plan {
                    Some(plan) => {
                        let iteration = request
                            .iteration
                            .saturating_mul(SESSION_UPDATES_PER_SAMPLE)
                            .saturating_add(round);
                        ChangeSet {
                            updated: vec![apply_planned_edit(plan, &config.root_dir, iteration)?],
                            ..ChangeSet::default()
                        }
                    }
                    None => ChangeSet::default(),
                };
                let region = TimedRegion::begin(request.inject);
                let output = session
                    .update(&changes)
                    .map_err(build_error(scenario, "update"))?;
                figures.add(region.end());
                last = Some(output);
            }
            let output = last.ok_or_else(|| WorkerError::Build {
                scenario: scenario.name(),
                stage: "update",
                message: "no update ran".to_string(),
            })?;
            (output, figures.mean())
        }
        WorkerScenario::Clean => {
            let region = TimedRegion::begin(request.inject);
            let output = clean_build(&config).map_err(build_error(scenario, "clean build"))?;
            (output, region.end())
        }
    };
    // Outside the timed region: the artifact must equal a from-scratch build.
    let verified = if request.verify {
        let clean =
            clean_build(&config).map_err(build_error(scenario, "verification clean build"))?;
        Some(clean.artifact.elements_json() == output.artifact.elements_json())
    } else {
        None
    };
    let report = output.report();
    Ok(WorkerReport {
        protocol_version: PROTOCOL_VERSION,
        ok: true,
        error: None,
        inner_wall_ms: finite(figures.wall_ms),
        inner_user_ms: finite(figures.user_ms),
        inner_sys_ms: finite(figures.sys_ms),
        peak_rss_kib: figures.peak_rss_kib,
        phases: report
            .phases
            .iter()
            .map(|(name, ms)| (name.clone(), finite(*ms)))
            .collect(),
        stats: CacheCounters {
            hits: report.stats.hits,
            misses: report.stats.misses,
            skips: report.stats.skips,
        },
        files: FileCounters {
            scanned: report.files.scanned,
            read: report.files.read,
            analyzed: report.files.analyzed,
        },
        alloc: figures.alloc,
        verified,
        diagnostics_errors: output
            .diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.is_error())
            .count() as u64,
    })
}

/// How `Artifact::to_json` starts: the elements object follows verbatim.
const ARTIFACT_ELEMENTS_PREFIX: &str = "{\n  \"elements\": ";

/// A clean build compared byte for byte with the elements of the artifact
/// file a previous process run wrote.
fn verify_artifact_on_disk(config: &builder::config::Config) -> Result<WorkerReport, WorkerError> {
    let scenario = WorkerScenario::VerifyArtifact;
    let clean = clean_build(config).map_err(build_error(scenario, "verification clean build"))?;
    let path = &config.artifact_path;
    let text = std::fs::read_to_string(path).map_err(|source| WorkerError::ReadArtifact {
        path: path.clone(),
        source,
    })?;
    let verified = artifact_text_has_elements(&text, &clean.artifact.elements_json())
        .ok_or_else(|| WorkerError::ArtifactLayout { path: path.clone() })?;
    Ok(WorkerReport {
        protocol_version: PROTOCOL_VERSION,
        ok: true,
        verified: Some(verified),
        ..WorkerReport::default()
    })
}

/// Whether the artifact file `text` holds exactly `elements_json` as its
/// elements; `None` when the file does not have the builder's layout.
fn artifact_text_has_elements(text: &str, elements_json: &str) -> Option<bool> {
    let rest = text.strip_prefix(ARTIFACT_ELEMENTS_PREFIX)?;
    Some(
        rest.strip_prefix(elements_json)
            .is_some_and(|after| after.starts_with(',')),
    )
}

/// Edits one fragment of the project and returns the edited file's absolute path.
fn targeted_edit_plan(root: &Path, iteration: u32) -> Result<TargetedEditPlan, WorkerError> {
    TargetedEditPlan::discover(root).map_err(|err| WorkerError::Edit {
        root: root.to_path_buf(),
        iteration,
        message: err.to_string(),
    })
}

fn apply_planned_edit(
    plan: &TargetedEditPlan,
    root: &Path,
    iteration: u32,
) -> Result<PathBuf, WorkerError> {
    let edit = plan.apply(iteration).map_err(|err| WorkerError::Edit {
        root: root.to_path_buf(),
        iteration,
        message: err.to_string(),
    })?;
    Ok(if edit.path.is_absolute() {
        edit.path
    } else {
        root.join(edit.path)
    })
}

/// JSON has no NaN or infinity; the report must always parse.
fn finite(value: f64) -> f64 {
    if value.is_finite() {
        value
    } else {
        0.0
    }
}

/// The control workload: hashing, sorting and small allocations shaped like a
/// build (a few milliseconds), fixed forever so that its time only tells how
/// fast the machine is right now. Changing it invalidates every baseline's
/// `control_ms`, so don't.
pub fn calibrate() -> WorkerReport {
    let region = std::time::Instant::now();
    let mut state: u64 = 0x5eed_5eed_5eed_5eed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut words: Vec<String> = (0..20_000).map(|_| format!("{:x}", next())).collect();
    words.sort_unstable();
    let mut digest = 0u64;
    for chunk in words.chunks(64) {
        let joined = chunk.join(",");
        digest ^= xxhash_rust::xxh3::xxh3_64(joined.as_bytes());
    }
    let mut numbers: Vec<u64> = (0..100_000).map(|_| next()).collect();
    numbers.sort_unstable();
    digest ^= numbers
        .iter()
        .step_by(97)
        .fold(0u64, |a, b| a.rotate_left(5) ^ b);
    WorkerReport {
        protocol_version: crate::measure::protocol::PROTOCOL_VERSION,
        ok: true,
        inner_wall_ms: region.elapsed().as_secs_f64() * 1000.0,
        // Keeps the workload from being optimised away.
        diagnostics_errors: u64::from(std::hint::black_box(digest) == 0),
        ..WorkerReport::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(wall_ms: f64, allocated: u64, peak: u64) -> RegionFigures {
        RegionFigures {
            wall_ms,
            user_ms: wall_ms / 2.0,
            sys_ms: 0.0,
            peak_rss_kib: peak,
            alloc: AllocCounters {
                total_allocated_bytes: allocated,
                allocations: allocated / 100,
                peak_allocated_bytes: peak,
                ..AllocCounters::default()
            },
        }
    }

    #[test]
    fn several_regions_report_means_of_times_and_heap_and_maxima_of_peaks() {
        let mut sum = RegionSum::default();
        sum.add(figures(4.0, 1_000, 30));
        sum.add(figures(8.0, 3_000, 10));
        let mean = sum.mean();
        assert_eq!((mean.wall_ms, mean.user_ms), (6.0, 3.0));
        assert_eq!(mean.alloc.total_allocated_bytes, 2_000);
        assert_eq!(mean.alloc.allocations, 20);
        assert_eq!(
            (mean.peak_rss_kib, mean.alloc.peak_allocated_bytes),
            (30, 30)
        );
    }

    #[test]
    #[allow(unsafe_code)]
    fn counting_allocator_tracks_total_current_and_peak() {
        let allocator = CountingAllocator::new(std::alloc::System);
        let layout = Layout::from_size_align(4096, 8).unwrap();
        let before = alloc_snapshot();
        reset_peak();
        // SAFETY: a non-zero layout; the block is freed with the same layout,
        // after a realloc to a larger size that we free with the new layout.
        unsafe {
            let ptr = allocator.alloc(layout);
            assert!(!ptr.is_null());
            let grown = allocator.realloc(ptr, layout, 8192);
            assert!(!grown.is_null());
            allocator.dealloc(grown, Layout::from_size_align(8192, 8).unwrap());
        }
        let after = alloc_snapshot();
        // Other tests' threads do not use this allocator (it is not global here),
        // so the counters moved by exactly our operations.
        assert_eq!(after.total - before.total, 8192);
        assert_eq!(after.current, before.current);
        assert!(after.peak >= before.current + 8192);
    }

    #[test]
    fn vm_hwm_is_read_from_proc_status() {
        let status = "Name:\tsoda-perf\nVmPeak:\t  99999 kB\nVmHWM:\t   17324 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(17324));
        assert_eq!(status_kib("VmRSS:\t 1 kB\n", "VmHWM:"), None);
        assert_eq!(status_kib("VmHWM:\t lots\n", "VmHWM:"), None);
    }

    /// A child's own peak is its own: not the parent's resident set, which
    /// `ru_maxrss` of a freshly spawned child reports.
    #[cfg(target_os = "linux")]
    #[test]
    fn own_peak_rss_is_at_least_the_current_rss() {
        let peak = own_peak_rss_kib().unwrap();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let rss = status_kib(&status, "VmRSS:").unwrap();
        assert!(peak >= rss, "VmHWM {peak} below VmRSS {rss}");
    }

    #[test]
    fn a_bad_request_yields_a_failure_report_and_exit_code_1() {
        assert_eq!(worker_main("{not json"), 1);
    }

    #[test]
    fn artifact_elements_are_compared_byte_for_byte() {
        let elements = "{\n    \"a\": {\"x\":1}\n  }";
        let file = format!("{ARTIFACT_ELEMENTS_PREFIX}{elements},\n  \"meta\": {{}}\n}}\n");
        assert_eq!(artifact_text_has_elements(&file, elements), Some(true));
        assert_eq!(
            artifact_text_has_elements(&file, "{\n    \"a\": {\"x\":2}\n  }"),
            Some(false)
        );
        // A prefix of the real elements is not a match.
        assert_eq!(
            artifact_text_has_elements(&file, "{\n    \"a\": {\"x\":1}"),
            Some(false)
        );
        assert_eq!(artifact_text_has_elements("[]", elements), None);
    }

    #[test]
    fn finite_replaces_nan() {
        assert_eq!(finite(f64::NAN), 0.0);
        assert_eq!(finite(2.5), 2.5);
    }
}

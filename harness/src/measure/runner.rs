//! Runs one worker request and measures it. [`ProcessRunner`] spawns the
//! `soda-perf worker` child, times it from the parent (spawn → reap) and reads
//! that exact child's CPU time and peak RSS with `wait4`; [`MockRunner`]
//! returns scripted measurements so the scenario and statistics logic can be
//! tested without time.

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::measure::protocol::{tail, ProtocolError, WorkerReport, WorkerRequest};

/// Everything measured about one worker run.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Parent-side wall time from spawn to reap (includes process start-up).
    pub wall_ms: f64,
    /// CPU time of the child (all its threads), from `wait4`'s rusage.
    pub user_ms: f64,
    pub sys_ms: f64,
    /// The child's `ru_maxrss` (KiB on Linux): no smaller than the parent's
    /// resident set at spawn, so only a fallback for a child that reports
    /// no peak of its own.
    pub max_rss_kib: u64,
    pub report: WorkerReport,
    /// Instructions retired, when counted under cachegrind.
    pub instructions: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("could not start the worker {exe}: {source}")]
    Spawn {
        exe: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("waiting for the worker (pid {pid}) failed: {source}")]
    Wait {
        pid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("the worker was killed by signal {signal} ({signal_name}){}", stderr_suffix(.stderr_tail))]
    Signaled {
        signal: i32,
        signal_name: String,
        stderr_tail: String,
    },
    #[error("the worker exited with code {code}{}{}", worker_error_suffix(.worker_error), stderr_suffix(.stderr_tail))]
    ExitCode {
        code: i32,
        /// The error the worker reported, when it managed to print a report.
        worker_error: Option<String>,
        stderr_tail: String,
    },
    #[error("the worker's report could not be read: {source}{}", stderr_suffix(.stderr_tail))]
    Protocol {
        #[source]
        source: ProtocolError,
        stderr_tail: String,
    },
    #[error("the worker reported a failure: {message}")]
    WorkerFailed { message: String },
    #[error("valgrind not found: --instructions needs `apt-get install valgrind`")]
    ValgrindMissing,
    #[error("could not read cachegrind's output {path}: {reason}")]
    Cachegrind { path: PathBuf, reason: String },
    #[error("the runner has no scripted measurement left for request {request}")]
    MockExhausted { request: String },
    #[error("could not copy the worker {from} to {to}: {source}")]
    CopyExe {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The two executables of an interleaved comparison, each a fresh copy made
/// at the same moment in the same way (removed on drop). Identical binaries
/// at two paths ran at different speeds: the file the parent itself runs,
/// or one whose page cache was filled another way (a linker's writes, a
/// cache restore), executed 2–4% more or less CPU at every start here, and
/// an A/A check once saw its head side +6–11% on every short row. Copies
/// made together start equal, and only workers touch them.
///
/// A copy can still land on pages that run it steadily faster or slower
/// than its twin for as long as it lives: in 40 A/A checks with copies made
/// once per check, `large-app/targeted-session/wall_ms`'s per-check medians
/// varied 1.69× as much as their own standard errors allowed, and the two
/// fixtures' session rows leaned together within a check. So the runners from [`PairedExes::runners`] renew their copy at
/// every trade of working copies ([`Runner::renew_executable`]): whatever a
/// copy's placement costs, it changes from block to block within a check
/// instead of staying with one side for all of it.
pub struct PairedExes {
    dir: PathBuf,
    pub base: PathBuf,
    pub head: PathBuf,
    base_origin: PathBuf,
    head_origin: PathBuf,
}

/// Copies the executable `from` into `to_dir` under its own name.
fn copy_exe(from: &Path, to_dir: &Path) -> Result<PathBuf, RunError> {
    let name = from
        .file_name()
        .map_or_else(|| "soda-perf".into(), std::ffi::OsStr::to_os_string);
    let to = to_dir.join(name);
    std::fs::create_dir_all(to_dir)
        .and_then(|()| std::fs::copy(from, &to))
        .map_err(|source| RunError::CopyExe {
            from: from.to_path_buf(),
            to: to.clone(),
            source,
        })?;
    Ok(to)
}

/// The path of the running executable.
fn running_exe() -> Result<PathBuf, RunError> {
    std::env::current_exe().map_err(|source| RunError::Spawn {
        exe: PathBuf::from("<current executable>"),
        source,
    })
}

impl PairedExes {
    pub fn copy(base: &Path, head: &Path, dir: &Path) -> Result<PairedExes, RunError> {
        Ok(PairedExes {
            dir: dir.to_path_buf(),
            base: copy_exe(base, &dir.join("base"))?,
            head: copy_exe(head, &dir.join("head"))?,
            base_origin: base.to_path_buf(),
            head_origin: head.to_path_buf(),
        })
    }

    /// Runners of the base and head copies, each renewing its copy from
    /// the original at every [`Runner::renew_executable`].
    pub fn runners(&self, scratch_dir: &Path) -> (ProcessRunner, ProcessRunner) {
        let runner = |copy: &Path, origin: &Path, side: &str| {
            ProcessRunner::new(copy, scratch_dir).renewing_from(origin, &self.dir.join(side))
        };
        (
            runner(&self.base, &self.base_origin, "base"),
            runner(&self.head, &self.head_origin, "head"),
        )
    }

    /// The copies of the running executable, for both sides (selftest).
    pub fn of_current_exe(dir: &Path) -> Result<PairedExes, RunError> {
        let exe = running_exe()?;
        PairedExes::copy(&exe, &exe, dir)
    }

    /// A copy of the running executable beside a given base.
    pub fn with_current_head(base: &Path, dir: &Path) -> Result<PairedExes, RunError> {
        let exe = running_exe()?;
        PairedExes::copy(base, &exe, dir)
    }
}

impl Drop for PairedExes {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stderr_suffix(stderr_tail: &str) -> String {
    let trimmed = stderr_tail.trim();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("; worker stderr ends with:\n{trimmed}")
    }
}

fn worker_error_suffix(worker_error: &Option<String>) -> String {
    match worker_error {
        Some(message) => format!(": {message}"),
        None => String::new(),
    }
}

/// Runs worker requests. `run` is the timed run; `run_counting_instructions`
/// runs the same request under an instruction counter, in a separate process
/// so the counter's slowdown never reaches the timings.
pub trait Runner {
    fn run(&mut self, req: &WorkerRequest) -> Result<Measurement, RunError>;

    /// Runs from a fresh copy of the executable from now on (see
    /// [`PairedExes`]); runners without copies have nothing to renew.
    fn renew_executable(&mut self) -> Result<(), RunError> {
        Ok(())
    }

    /// The same job with `instructions` filled; timings of this run are not
    /// meaningful. Runners that cannot count return [`RunError::ValgrindMissing`].
    fn run_counting_instructions(&mut self, req: &WorkerRequest) -> Result<Measurement, RunError> {
        let _ = req;
        Err(RunError::ValgrindMissing)
    }
}

/// How many characters of the child's stderr go into an error message.
const STDERR_TAIL_CHARS: usize = 2000;

/// Spawns `<exe> worker '<request json>'` and measures it.
#[derive(Debug, Clone)]
pub struct ProcessRunner {
    exe: PathBuf,
    valgrind: Option<PathBuf>,
    /// Where cachegrind writes its per-run output files.
    scratch_dir: PathBuf,
    /// Where fresh copies of the executable come from, if it renews them.
    renewal: Option<Renewal>,
}

/// A runner's source of fresh executable copies: `origin`, copied into a
/// new directory under `dir` at each renewal (the previous copy removed).
#[derive(Debug, Clone)]
struct Renewal {
    origin: PathBuf,
    dir: PathBuf,
    copies: u64,
}

impl ProcessRunner {
    /// Runs workers of `exe` (a `soda-perf` binary: this one, or a binary
    /// built from another revision for `compare`).
    pub fn new(exe: impl Into<PathBuf>, scratch_dir: impl Into<PathBuf>) -> ProcessRunner {
        ProcessRunner {
            exe: exe.into(),
            valgrind: find_in_path("valgrind"),
            scratch_dir: scratch_dir.into(),
            renewal: None,
        }
    }

    /// This runner renews its executable by copying `origin` under `dir`.
    pub fn renewing_from(mut self, origin: &Path, dir: &Path) -> ProcessRunner {
        self.renewal = Some(Renewal {
            origin: origin.to_path_buf(),
            dir: dir.to_path_buf(),
            copies: 0,
        });
        self
    }

    /// Runs workers of the running executable.
    pub fn current_exe(scratch_dir: impl Into<PathBuf>) -> Result<ProcessRunner, RunError> {
        Ok(ProcessRunner::new(running_exe()?, scratch_dir))
    }

    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// Whether instruction counting is possible (valgrind on PATH).
    pub fn can_count_instructions(&self) -> bool {
        self.valgrind.is_some()
    }

    fn execute(&self, mut command: Command, shown_exe: &Path) -> Result<ChildOutcome, RunError> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command.spawn().map_err(|source| RunError::Spawn {
            exe: shown_exe.to_path_buf(),
            source,
        })?;
        // Drain both pipes on their own threads so a chatty child never
        // blocks on a full pipe while we wait for it.
        let stdout_reader = child.stdout.take().map(spawn_reader);
        let stderr_reader = child.stderr.take().map(spawn_reader);
        let pid = child.id();
        let waited = wait_for_child(pid).map_err(|source| RunError::Wait { pid, source })?;
        let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        // The child is reaped by wait4: `child` must not be waited on again.
        drop(child);
        let stdout = stdout_reader.map(join_reader).unwrap_or_default();
        let stderr = stderr_reader.map(join_reader).unwrap_or_default();
        Ok(ChildOutcome {
            wall_ms,
            waited,
            stdout,
            stderr,
        })
    }
}

impl Runner for ProcessRunner {
    fn renew_executable(&mut self) -> Result<(), RunError> {
        let Some(renewal) = &mut self.renewal else {
            return Ok(());
        };
        renewal.copies += 1;
        let to = copy_exe(
            &renewal.origin,
            &renewal.dir.join(format!("copy-{}", renewal.copies)),
        )?;
        let previous = std::mem::replace(&mut self.exe, to);
        // Best effort: a leftover copy costs disk space until the check's
        // scratch directory goes, nothing else.
        match previous.parent() {
            Some(parent) if parent != renewal.dir && parent.starts_with(&renewal.dir) => {
                let _ = std::fs::remove_dir_all(parent);
            }
            _ => {
                let _ = std::fs::remove_file(&previous);
            }
        }
        Ok(())
    }

    fn run(&mut self, req: &WorkerRequest) -> Result<Measurement, RunError> {
        let mut command = Command::new(&self.exe);
        command.arg("worker").arg(req.to_json());
        let outcome = self.execute(command, &self.exe)?;
        measurement_from_outcome(outcome)
    }

    fn run_counting_instructions(&mut self, req: &WorkerRequest) -> Result<Measurement, RunError> {
        let valgrind = self.valgrind.clone().ok_or(RunError::ValgrindMissing)?;
        std::fs::create_dir_all(&self.scratch_dir).map_err(|err| RunError::Cachegrind {
            path: self.scratch_dir.clone(),
            reason: format!("could not create the directory: {err}"),
        })?;
        let out_file = self.scratch_dir.join(format!(
            "cachegrind.{}.{}.{}.out",
            std::process::id(),
            req.scenario.name(),
            req.iteration
        ));
        let mut command = Command::new(&valgrind);
        // Valgrind serializes threads anyway; one rayon thread removes the
        // work-stealing and spin-wait jitter so counts repeat run to run.
        command
            .env("RAYON_NUM_THREADS", "1")
            .arg("--tool=cachegrind")
            .arg("--cache-sim=no")
            .arg(format!("--cachegrind-out-file={}", out_file.display()))
            .arg(&self.exe)
            .arg("worker")
            .arg(req.to_json());
        let outcome = self.execute(command, &valgrind)?;
        let parsed = std::fs::read_to_string(&out_file)
            .map_err(|err| RunError::Cachegrind {
                path: out_file.clone(),
                reason: err.to_string(),
            })
            .and_then(|text| {
                parse_cachegrind_summary(&text).ok_or_else(|| RunError::Cachegrind {
                    path: out_file.clone(),
                    reason: "no `summary:` line with an instruction count".to_string(),
                })
            });
        // Check the child first: a crashed child explains a missing file.
        let measurement = measurement_from_outcome(outcome);
        let _ = std::fs::remove_file(&out_file);
        let mut measurement = measurement?;
        measurement.instructions = Some(parsed?);
        Ok(measurement)
    }
}

struct ChildOutcome {
    wall_ms: f64,
    waited: WaitedChild,
    stdout: String,
    stderr: String,
}

fn measurement_from_outcome(outcome: ChildOutcome) -> Result<Measurement, RunError> {
    let stderr_tail = tail(&outcome.stderr, STDERR_TAIL_CHARS);
    let report = WorkerReport::from_stdout(&outcome.stdout);
    match outcome.waited.status {
        ExitStatus::Signaled(signal) => {
            return Err(RunError::Signaled {
                signal,
                signal_name: signal_name(signal).to_string(),
                stderr_tail,
            })
        }
        ExitStatus::Exited(code) if code != 0 => {
            return Err(RunError::ExitCode {
                code,
                worker_error: report.ok().and_then(|r| r.error),
                stderr_tail,
            })
        }
        ExitStatus::Exited(_) => {}
    }
    let report = report.map_err(|source| RunError::Protocol {
        source,
        stderr_tail: stderr_tail.clone(),
    })?;
    if !report.ok {
        return Err(RunError::WorkerFailed {
            message: report
                .error
                .clone()
                .unwrap_or_else(|| "no message".to_string()),
        });
    }
    let usage = outcome.waited.usage;
    Ok(Measurement {
        wall_ms: outcome.wall_ms,
        user_ms: usage.user_ms,
        sys_ms: usage.sys_ms,
        max_rss_kib: usage.max_rss_kib,
        report,
        instructions: None,
    })
}

fn spawn_reader<R: Read + Send + 'static>(mut pipe: R) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error leaves what was read so far; the report check
        // downstream names a missing or cut report precisely.
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join_reader(handle: std::thread::JoinHandle<String>) -> String {
    handle.join().unwrap_or_default()
}

/// How the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

/// Resource usage of exactly one reaped child.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChildUsage {
    pub user_ms: f64,
    pub sys_ms: f64,
    pub max_rss_kib: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitedChild {
    pub status: ExitStatus,
    pub usage: ChildUsage,
}

/// Reaps `pid` with `wait4`, which returns the rusage of that child alone
/// (unlike `getrusage(RUSAGE_CHILDREN)`, which sums every child ever reaped).
#[allow(unsafe_code)]
fn wait4_raw(pid: libc::pid_t) -> std::io::Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are valid, exclusively borrowed
        // out-pointers for the duration of the call; `pid` is our own child.
        let result = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if result == pid {
            return Ok((status, usage));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

fn wait_for_child(pid: u32) -> std::io::Result<WaitedChild> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "pid out of range"))?;
    let (status, usage) = wait4_raw(pid)?;
    let status = if libc::WIFSIGNALED(status) {
        ExitStatus::Signaled(libc::WTERMSIG(status))
    } else {
        ExitStatus::Exited(libc::WEXITSTATUS(status))
    };
    Ok(WaitedChild {
        status,
        usage: ChildUsage {
            user_ms: timeval_ms(usage.ru_utime),
            sys_ms: timeval_ms(usage.ru_stime),
            // Linux reports ru_maxrss in KiB.
            max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        },
    })
}

fn timeval_ms(tv: libc::timeval) -> f64 {
    tv.tv_sec as f64 * 1000.0 + tv.tv_usec as f64 / 1000.0
}

/// A readable name for the common signals a crashing child dies of.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGABRT => "SIGABRT: aborted, e.g. a panic while panicking or an allocation failure",
        libc::SIGSEGV => "SIGSEGV: segmentation fault, e.g. a stack overflow",
        libc::SIGKILL => "SIGKILL: killed, e.g. by the out-of-memory killer",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT: interrupted",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGPIPE => "SIGPIPE",
        _ => "unknown signal",
    }
}

/// The `Ir` total from a cachegrind output file's `summary:` line.
pub fn parse_cachegrind_summary(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|first| first.parse().ok())
}

/// The first executable file called `name` on `PATH`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

type MockFn = Box<dyn FnMut(&WorkerRequest) -> Result<Measurement, RunError>>;

/// A runner that takes no time: either a queue of scripted measurements or a
/// closure computing one per request. Every request it saw is kept in
/// [`MockRunner::requests`].
pub struct MockRunner {
    queue: VecDeque<Result<Measurement, RunError>>,
    respond: Option<MockFn>,
    /// Instruction count attached by `run_counting_instructions`; `None` acts
    /// like a machine without valgrind.
    instructions: Option<u64>,
    pub requests: Vec<WorkerRequest>,
    /// How often [`Runner::renew_executable`] was called.
    pub renewals: usize,
}

impl MockRunner {
    /// Answers requests in order from `script`; fails once it runs dry.
    pub fn scripted(script: impl IntoIterator<Item = Result<Measurement, RunError>>) -> MockRunner {
        MockRunner {
            queue: script.into_iter().collect(),
            respond: None,
            instructions: None,
            requests: Vec::new(),
            renewals: 0,
        }
    }

    /// Answers every request with `respond(request)`.
    pub fn with_fn(
        respond: impl FnMut(&WorkerRequest) -> Result<Measurement, RunError> + 'static,
    ) -> MockRunner {
        MockRunner {
            queue: VecDeque::new(),
            respond: Some(Box::new(respond)),
            instructions: None,
            requests: Vec::new(),
            renewals: 0,
        }
    }

    /// Like a child that runs `sleep <seconds>`: every run measures exactly
    /// that wall time, with no CPU time.
    pub fn sleeping(seconds: f64) -> MockRunner {
        MockRunner::with_fn(move |_| Ok(Measurement::fixed(seconds * 1000.0)))
    }

    /// Makes `run_counting_instructions` succeed with this count.
    pub fn with_instructions(mut self, instructions: u64) -> MockRunner {
        self.instructions = Some(instructions);
        self
    }
}

impl Runner for MockRunner {
    fn renew_executable(&mut self) -> Result<(), RunError> {
        self.renewals += 1;
        Ok(())
    }

    fn run(&mut self, req: &WorkerRequest) -> Result<Measurement, RunError> {
        self.requests.push(req.clone());
        if let Some(respond) = self.respond.as_mut() {
            return respond(req);
        }
        self.queue.pop_front().unwrap_or_else(|| {
            Err(RunError::MockExhausted {
                request: req.to_json(),
            })
        })
    }

    fn run_counting_instructions(&mut self, req: &WorkerRequest) -> Result<Measurement, RunError> {
        let instructions = self.instructions.ok_or(RunError::ValgrindMissing)?;
        let mut measurement = self.run(req)?;
        measurement.instructions = Some(instructions);
        Ok(measurement)
    }
}

impl Measurement {
    /// A successful measurement of `wall_ms` with an otherwise empty report;
    /// for scripting [`MockRunner`].
    pub fn fixed(wall_ms: f64) -> Measurement {
        Measurement {
            wall_ms,
            user_ms: 0.0,
            sys_ms: 0.0,
            max_rss_kib: 0,
            report: WorkerReport {
                protocol_version: crate::measure::protocol::PROTOCOL_VERSION,
                ok: true,
                inner_wall_ms: wall_ms,
                ..WorkerReport::default()
            },
            instructions: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::protocol::{WorkerScenario, REPORT_MARKER};

    fn request() -> WorkerRequest {
        WorkerRequest::new("/nonexistent/config.json", WorkerScenario::Cold, 0, false)
    }

    /// A fake worker: a shell script standing in for `soda-perf`.
    fn fake_worker(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("fake-worker");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// A fake worker and its paired copies under `<tempdir>/exes`.
    fn copies_of_a_fake_worker() -> (tempfile::TempDir, PathBuf, PathBuf, PairedExes) {
        let dir = tempfile::tempdir().unwrap();
        let worker = fake_worker(dir.path(), "exit 0");
        let exes_dir = dir.path().join("exes");
        let exes = PairedExes::copy(&worker, &worker, &exes_dir).unwrap();
        (dir, worker, exes_dir, exes)
    }

    #[test]
    fn both_sides_run_fresh_copies_that_go_when_the_comparison_ends() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, worker, exes_dir, exes) = copies_of_a_fake_worker();
        assert_ne!(exes.base, exes.head);
        assert_ne!(exes.base, worker);
        for copy in [&exes.base, &exes.head] {
            assert_eq!(
                std::fs::read(copy).unwrap(),
                std::fs::read(&worker).unwrap()
            );
            let mode = std::fs::metadata(copy).unwrap().permissions().mode();
            assert!(mode & 0o111 != 0, "{copy:?} is executable");
        }
        drop(exes);
        assert!(!exes_dir.exists());
        let missing = PairedExes::copy(&dir.path().join("nope"), &worker, &exes_dir);
        assert!(matches!(missing, Err(RunError::CopyExe { .. })));
    }

    #[test]
    fn renewed_runners_run_a_new_copy_and_remove_the_old_one() {
        let (dir, worker, exes_dir, exes) = copies_of_a_fake_worker();
        let (mut base, mut head) = exes.runners(&dir.path().join("scratch"));
        assert_eq!(base.exe(), exes.base.as_path());
        base.renew_executable().unwrap();
        let first = base.exe().to_path_buf();
        assert_ne!(first, exes.base);
        assert!(first.starts_with(exes_dir.join("base")), "{first:?}");
        assert_eq!(
            std::fs::read(&first).unwrap(),
            std::fs::read(&worker).unwrap()
        );
        assert!(!exes.base.exists(), "the first copy is gone");
        base.renew_executable().unwrap();
        assert_ne!(base.exe(), first.as_path());
        assert!(base.exe().exists() && !first.exists());
        head.renew_executable().unwrap();
        assert!(head.exe().starts_with(exes_dir.join("head")));
        // A runner without copies has nothing to renew.
        let mut plain = ProcessRunner::new(&worker, dir.path());
        plain.renew_executable().unwrap();
        assert_eq!(plain.exe(), worker.as_path());
        drop(exes);
        assert!(!exes_dir.exists());
    }

    fn ok_report_line() -> String {
        Measurement::fixed(5.0).report.to_line()
    }

    #[test]
    fn mock_sleep_yields_exactly_its_duration() {
        let mut runner = MockRunner::sleeping(0.1);
        let measurement = runner.run(&request()).unwrap();
        assert_eq!(measurement.wall_ms, 100.0);
        assert_eq!(runner.requests.len(), 1);
    }

    #[test]
    fn scripted_mock_answers_in_order_then_runs_dry() {
        let mut runner =
            MockRunner::scripted([Ok(Measurement::fixed(1.0)), Ok(Measurement::fixed(2.0))]);
        assert_eq!(runner.run(&request()).unwrap().wall_ms, 1.0);
        assert_eq!(runner.run(&request()).unwrap().wall_ms, 2.0);
        assert!(matches!(
            runner.run(&request()),
            Err(RunError::MockExhausted { .. })
        ));
    }

    #[test]
    fn mock_without_instructions_acts_like_missing_valgrind() {
        let mut runner = MockRunner::sleeping(0.0);
        let err = runner.run_counting_instructions(&request()).unwrap_err();
        assert!(err.to_string().contains("apt-get install valgrind"));
        let mut runner = MockRunner::sleeping(0.0).with_instructions(42);
        assert_eq!(
            runner
                .run_counting_instructions(&request())
                .unwrap()
                .instructions,
            Some(42)
        );
    }

    #[test]
    fn process_runner_reads_the_report_past_log_lines() {
        let dir = tempfile::tempdir().unwrap();
        let line = ok_report_line();
        let exe = fake_worker(
            dir.path(),
            &format!("echo 'log: building'\necho '{line}'\necho 'log: done' >&2"),
        );
        let mut runner = ProcessRunner::new(exe, dir.path());
        let measurement = runner.run(&request()).unwrap();
        assert!(measurement.report.ok);
        assert!(measurement.wall_ms > 0.0);
        assert!(measurement.max_rss_kib > 0);
    }

    #[test]
    fn process_runner_passes_the_request_as_one_argument() {
        let dir = tempfile::tempdir().unwrap();
        let line = ok_report_line();
        let seen = dir.path().join("args");
        let exe = fake_worker(
            dir.path(),
            &format!(
                "printf '%s\\n' \"$#\" \"$1\" \"$2\" > '{}'\necho '{line}'",
                seen.display()
            ),
        );
        ProcessRunner::new(exe, dir.path()).run(&request()).unwrap();
        let args = std::fs::read_to_string(seen).unwrap();
        let mut lines = args.lines();
        assert_eq!(lines.next(), Some("2"));
        assert_eq!(lines.next(), Some("worker"));
        assert_eq!(
            WorkerRequest::from_json(lines.next().unwrap()).unwrap(),
            request()
        );
    }

    #[test]
    fn non_zero_exit_names_the_code_and_stderr_tail() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake_worker(
            dir.path(),
            "echo 'thread main panicked at oops' >&2\nexit 3",
        );
        let err = ProcessRunner::new(exe, dir.path())
            .run(&request())
            .unwrap_err();
        assert!(matches!(err, RunError::ExitCode { code: 3, .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains("code 3"), "{message}");
        assert!(message.contains("panicked at oops"), "{message}");
    }

    #[test]
    fn non_zero_exit_with_a_failure_report_shows_the_workers_error() {
        let dir = tempfile::tempdir().unwrap();
        let line = WorkerReport::failure("config not found").to_line();
        let exe = fake_worker(dir.path(), &format!("echo '{line}'\nexit 1"));
        let err = ProcessRunner::new(exe, dir.path())
            .run(&request())
            .unwrap_err();
        assert!(err.to_string().contains("config not found"), "{err}");
    }

    #[test]
    fn killed_child_names_the_signal() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake_worker(dir.path(), "echo 'about to die' >&2\nkill -SEGV $$");
        let err = ProcessRunner::new(exe, dir.path())
            .run(&request())
            .unwrap_err();
        assert!(
            matches!(err, RunError::Signaled { signal, .. } if signal == libc::SIGSEGV),
            "{err}"
        );
        let message = err.to_string();
        assert!(message.contains("SIGSEGV"), "{message}");
        assert!(message.contains("about to die"), "{message}");
    }

    #[test]
    fn child_without_report_is_a_protocol_error() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake_worker(dir.path(), "echo 'just logs'");
        let err = ProcessRunner::new(exe, dir.path())
            .run(&request())
            .unwrap_err();
        assert!(matches!(err, RunError::Protocol { .. }), "{err}");
    }

    #[test]
    fn cut_off_report_is_a_protocol_error() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake_worker(
            dir.path(),
            &format!("printf '%s' '{REPORT_MARKER}{{\"protocol_version\":1,\"ok\":tr'"),
        );
        let err = ProcessRunner::new(exe, dir.path())
            .run(&request())
            .unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }

    #[test]
    fn failure_report_with_exit_zero_is_a_worker_failure() {
        let dir = tempfile::tempdir().unwrap();
        let line = WorkerReport::failure("no fragments").to_line();
        let exe = fake_worker(dir.path(), &format!("echo '{line}'"));
        let err = ProcessRunner::new(exe, dir.path())
            .run(&request())
            .unwrap_err();
        assert!(matches!(err, RunError::WorkerFailed { .. }), "{err}");
    }

    #[test]
    fn rusage_is_of_that_child_only() {
        let dir = tempfile::tempdir().unwrap();
        let line = ok_report_line();
        // Burn a little CPU in the child so user time is visible.
        let exe = fake_worker(
            dir.path(),
            &format!("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done\necho '{line}'"),
        );
        let mut runner = ProcessRunner::new(exe, dir.path());
        let measurement = runner.run(&request()).unwrap();
        assert!(measurement.user_ms + measurement.sys_ms > 0.0);
    }

    #[test]
    fn missing_executable_is_a_spawn_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = ProcessRunner::new(dir.path().join("nope"), dir.path())
            .run(&request())
            .unwrap_err();
        assert!(matches!(err, RunError::Spawn { .. }), "{err}");
        assert!(err.to_string().contains("nope"));
    }

    #[test]
    fn cachegrind_summary_is_parsed() {
        let text = "desc: I1 cache:\ncmd: ./x\nevents: Ir\nfl=a.c\n1 2\nsummary: 123456789\n";
        assert_eq!(parse_cachegrind_summary(text), Some(123_456_789));
        assert_eq!(parse_cachegrind_summary("events: Ir\n"), None);
        assert_eq!(parse_cachegrind_summary("summary: lots\n"), None);
    }

    #[test]
    fn instructions_are_counted_under_cachegrind_when_valgrind_exists() {
        let dir = tempfile::tempdir().unwrap();
        let line = ok_report_line();
        let exe = fake_worker(dir.path(), &format!("echo '{line}'"));
        let mut runner = ProcessRunner::new(exe, dir.path());
        if !runner.can_count_instructions() {
            let err = runner.run_counting_instructions(&request()).unwrap_err();
            assert!(matches!(err, RunError::ValgrindMissing));
            return;
        }
        let measurement = runner.run_counting_instructions(&request()).unwrap();
        assert!(measurement.instructions.unwrap_or(0) > 0);
    }

    #[test]
    fn find_in_path_finds_sh() {
        assert!(find_in_path("sh").is_some());
        assert!(find_in_path("definitely-not-a-command-xyz").is_none());
    }
}

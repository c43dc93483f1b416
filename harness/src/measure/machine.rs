//! Where a run happened: the machine fingerprint (OS, kernel, CPU, cores,
//! memory, and a stable key that baselines and history are filed under) and
//! the git state of the measured tree. Git problems are never errors: a
//! missing `git` or a tree that is not a repository just yields `None`s.

use std::path::Path;
use std::process::{Command, Stdio};

use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

use crate::model::{GitInfo, MachineInfo};

const BYTES_PER_GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The prefix of the scenario note that keys instruction counts.
pub const CPU_FEATURES_NOTE: &str = "cpu-features ";

/// `cpu-features <hash>`: xxh3 of the sorted CPU feature flags of
/// `/proc/cpuinfo` (`unknown` elsewhere). Instruction counts are compared
/// only between runs with the same note.
pub fn cpu_features_note() -> String {
    let flags = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("flags") || line.starts_with("Features"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, flags)| {
                    let mut flags: Vec<&str> = flags.split_whitespace().collect();
                    flags.sort_unstable();
                    flags.join(" ")
                })
        });
    match flags {
        Some(flags) => format!(
            "{CPU_FEATURES_NOTE}{:016x}",
            xxhash_rust::xxh3::xxh3_64(flags.as_bytes())
        ),
        None => format!("{CPU_FEATURES_NOTE}unknown"),
    }
}

/// Fingerprints the machine this process runs on.
pub fn detect_machine() -> MachineInfo {
    let system = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing())
            .with_memory(MemoryRefreshKind::nothing().with_ram()),
    );
    let cpu_model = system
        .cpus()
        .first()
        .map(|cpu| cpu.brand().trim().to_string())
        .filter(|brand| !brand.is_empty())
        .unwrap_or_else(|| "unknown-cpu".to_string());
    // Logical CPUs are what the builder's thread pool sees (and all a VM has).
    let cores = match system.cpus().len() {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    } as u64;
    let os = System::name().unwrap_or_else(|| std::env::consts::OS.to_string());
    let kernel = System::kernel_version().unwrap_or_else(|| "unknown".to_string());
    machine_info(
        std::env::consts::OS,
        std::env::consts::ARCH,
        &os,
        &kernel,
        &cpu_model,
        cores,
        system.total_memory(),
    )
}

/// Builds the fingerprint from its parts; the key changes only when the
/// hardware class does (not with the kernel or OS release).
pub fn machine_info(
    os_family: &str,
    arch: &str,
    os: &str,
    kernel: &str,
    cpu_model: &str,
    cores: u64,
    memory_bytes: u64,
) -> MachineInfo {
    let memory_gib = (memory_bytes as f64 / BYTES_PER_GIB).round() as u64;
    let key = format!(
        "{}-{}-{}-{}c-{}g",
        slug(os_family),
        // Arch names are already path-safe (`x86_64`, `aarch64`).
        arch,
        slug(cpu_model),
        cores,
        memory_gib
    );
    MachineInfo {
        key,
        os: os.to_string(),
        kernel: kernel.to_string(),
        cpu_model: cpu_model.to_string(),
        cores,
        memory_bytes,
    }
}

/// Lower-case ASCII letters and digits, every other run of characters one `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "unknown".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Commit, branch and dirtiness of the repository containing `dir`.
pub fn detect_git(dir: &Path) -> GitInfo {
    let commit = git_output(dir, &["rev-parse", "HEAD"]);
    let branch = git_output(dir, &["rev-parse", "--abbrev-ref", "HEAD"])
        // A detached HEAD has no branch.
        .filter(|name| name != "HEAD");
    let dirty = git_output_allow_empty(dir, &["status", "--porcelain"])
        .is_some_and(|status| !status.trim().is_empty());
    GitInfo {
        commit,
        branch,
        dirty,
    }
}

/// Trimmed stdout of a successful, non-empty `git` command, else `None`.
fn git_output(dir: &Path, args: &[&str]) -> Option<String> {
    git_output_allow_empty(dir, args).filter(|text| !text.is_empty())
}

fn git_output_allow_empty(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn key_is_a_stable_slug_with_rounded_memory() {
        let info = machine_info(
            "linux",
            "x86_64",
            "Debian GNU/Linux",
            "6.1.0",
            "AMD EPYC 7B13 64-Core Processor",
            2,
            25_276_063_744,
        );
        assert_eq!(
            info.key,
            "linux-x86_64-amd-epyc-7b13-64-core-processor-2c-24g"
        );
        assert_eq!(info.cores, 2);
        assert_eq!(info.kernel, "6.1.0");
    }

    #[test]
    fn key_ignores_kernel_and_os_release() {
        let a = machine_info(
            "linux",
            "x86_64",
            "Debian 12",
            "6.1",
            "Intel Xeon",
            4,
            16 << 30,
        );
        let b = machine_info(
            "linux",
            "x86_64",
            "Debian 13",
            "6.12",
            "Intel Xeon",
            4,
            16 << 30,
        );
        assert_eq!(a.key, b.key);
    }

    #[test]
    fn slug_collapses_punctuation() {
        assert_eq!(
            slug("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz"),
            "intel-r-core-tm-i7-8700-cpu-3-20ghz"
        );
        assert_eq!(slug("  "), "unknown");
        assert_eq!(slug("--x--"), "x");
    }

    #[test]
    fn detect_machine_fills_every_field() {
        let info = detect_machine();
        assert!(info.cores >= 1);
        assert!(info.memory_bytes > 0);
        assert!(info.key.ends_with('g'), "{}", info.key);
    }

    #[test]
    fn git_outside_a_repository_is_none_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let info = detect_git(dir.path());
        assert_eq!(info.commit, None);
        assert_eq!(info.branch, None);
        assert!(!info.dirty);
    }

    #[test]
    fn git_in_a_repository_reports_commit_branch_and_dirtiness() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .output()
                .map(|out| out.status.success())
                .unwrap_or(false)
        };
        if !git(&["init", "-q", "-b", "trunk"]) {
            return; // no git on this machine: nothing to check
        }
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        assert!(git(&["add", "a.txt"]));
        assert!(git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "-m",
            "one"
        ]));
        let clean = detect_git(dir.path());
        assert_eq!(clean.commit.as_ref().map(String::len), Some(40));
        assert_eq!(clean.branch.as_deref(), Some("trunk"));
        assert!(!clean.dirty);
        std::fs::write(dir.path().join("a.txt"), "b").unwrap();
        assert!(detect_git(dir.path()).dirty);
    }

    proptest! {
        #[test]
        fn slugs_are_url_safe(text in ".{0,60}") {
            let s = slug(&text);
            prop_assert!(!s.is_empty());
            prop_assert!(s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            prop_assert!(!s.starts_with('-') && !s.ends_with('-'));
            prop_assert!(!s.contains("--"));
        }
    }
}

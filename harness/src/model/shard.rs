//! Shards of a suite (`run --shard i/n`) and their join (`merge`): the
//! fixture × scenario plan is split deterministically across runners, each
//! shard's run record carries the whole plan and its own place in it, and
//! `merge` checks that every entry was measured exactly once before it
//! joins the shards into one run record in plan order.
//!
//! Entry `k` of the plan (fixture-major, in the order `--fixture` and
//! `--scenario` name them) belongs to shard `k mod n + 1`: round robin, so
//! a long fixture's scenarios spread over the shards instead of one shard
//! taking all of it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{FixtureResult, RunRecord};

/// The key under which a shard's `metrics.json` carries its [`ShardInfo`]
/// beside the run record's fields (readers of run records ignore it).
pub const SHARD_KEY: &str = "shard";

/// `--shard i/n`: the i-th of n shards, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: usize,
    pub count: usize,
}

impl FromStr for ShardSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = || format!("`{text}` is not a shard: write i/n with 1 ≤ i ≤ n, e.g. 2/4");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        let index: usize = index.trim().parse().map_err(|_| usage())?;
        let count: usize = count.trim().parse().map_err(|_| usage())?;
        if index == 0 || count == 0 || index > count {
            return Err(usage());
        }
        Ok(ShardSpec { index, count })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One fixture × scenario of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEntry {
    pub fixture: String,
    pub scenario: String,
}

/// What a shard's record says about the split it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub index: usize,
    pub count: usize,
    /// The whole plan, every shard's entries, in plan order.
    pub plan: Vec<PlanEntry>,
}

/// The whole plan, fixture-major.
pub fn plan_entries(fixtures: &[String], scenarios: &[String]) -> Vec<PlanEntry> {
    fixtures
        .iter()
        .flat_map(|fixture| {
            scenarios.iter().map(move |scenario| PlanEntry {
                fixture: fixture.clone(),
                scenario: scenario.clone(),
            })
        })
        .collect()
}

/// Whether entry `position` of a plan belongs to `shard`.
pub fn in_shard(position: usize, shard: ShardSpec) -> bool {
    position % shard.count + 1 == shard.index
}

/// The scenarios of `fixture` that `shard` measures, in plan order.
pub fn scenarios_of(plan: &[PlanEntry], fixture: &str, shard: ShardSpec) -> Vec<String> {
    plan.iter()
        .enumerate()
        .filter(|(position, entry)| entry.fixture == fixture && in_shard(*position, shard))
        .map(|(_, entry)| entry.scenario.clone())
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: name every shard's metrics.json")]
    Empty,
    #[error("{0} carries no shard information: it was not written by `soda-perf run --shard i/n`")]
    NotAShard(String),
    #[error("{path} is shard {index} of {count}, {first} is of {first_count}: these shards come from different splits")]
    CountMismatch {
        path: String,
        index: usize,
        count: usize,
        first: String,
        first_count: usize,
    },
    #[error("{path} planned other fixtures × scenarios than {first}: run every shard with the same --fixture and --scenario")]
    PlanMismatch { path: String, first: String },
    #[error("shard {index}/{count} is given twice ({first} and {second})")]
    Duplicate {
        index: usize,
        count: usize,
        first: String,
        second: String,
    },
    #[error("shard(s) {missing} of {count} missing: every shard's metrics.json must be given")]
    Missing { missing: String, count: usize },
    #[error("{path} measured {what}, {first} measured {first_what}: shards of one run share an OS and a commit")]
    Mixed {
        path: String,
        what: String,
        first: String,
        first_what: String,
    },
    #[error("{fixture}/{scenario} of the plan is missing from shard {index} ({path})")]
    EntryMissing {
        fixture: String,
        scenario: String,
        index: usize,
        path: String,
    },
    #[error("{path} is not JSON: {error}")]
    NotJson {
        path: String,
        // Not `source`: the message carries it, and a source would be
        // printed twice in the CLI's error chain.
        error: serde_json::Error,
    },
    #[error("{path}: unreadable shard information: {error}")]
    BadShardInfo {
        path: String,
        // Not `source`: the message carries it, and a source would be
        // printed twice in the CLI's error chain.
        error: serde_json::Error,
    },
    #[error("{path} is not a soda-perf metrics.json: {error}")]
    NotARecord {
        path: String,
        // Not `source`: the message carries it, and a source would be
        // printed twice in the CLI's error chain.
        error: serde_json::Error,
    },
}

/// One shard to merge: where it came from, its split, its results.
pub struct ShardRecord {
    pub path: String,
    pub info: ShardInfo,
    pub record: RunRecord,
}

/// Joins every shard of one split into the run record an unsharded run of
/// the plan would have written: fixtures and scenarios in plan order, the
/// earliest start time, shard 1's machine.
pub fn merge(shards: &[ShardRecord]) -> Result<RunRecord, MergeError> {
    let first = shards.first().ok_or(MergeError::Empty)?;
    let count = first.info.count;
    let mut by_index: Vec<Option<&ShardRecord>> = vec![None; count];
    for shard in shards {
        if shard.info.count != count {
            return Err(MergeError::CountMismatch {
                path: shard.path.clone(),
                index: shard.info.index,
                count: shard.info.count,
                first: first.path.clone(),
                first_count: count,
            });
        }
        if shard.info.plan != first.info.plan {
            return Err(MergeError::PlanMismatch {
                path: shard.path.clone(),
                first: first.path.clone(),
            });
        }
        // Hosted runners of one OS differ in CPU model from VM to VM, so
        // shards of one run may carry different machine keys: the OS and
        // the commit must agree, the merged record files under shard 1's key.
        let identity = |s: &ShardRecord| {
            format!(
                "{} at commit {}",
                s.record.machine.os,
                s.record.git.commit.as_deref().unwrap_or("unknown")
            )
        };
        if identity(shard) != identity(first) {
            return Err(MergeError::Mixed {
                path: shard.path.clone(),
                what: identity(shard),
                first: first.path.clone(),
                first_what: identity(first),
            });
        }
        let slot = by_index
            .get_mut(shard.info.index.wrapping_sub(1))
            .ok_or_else(|| MergeError::NotAShard(shard.path.clone()))?;
        if let Some(earlier) = slot {
            return Err(MergeError::Duplicate {
                index: shard.info.index,
                count,
                first: earlier.path.clone(),
                second: shard.path.clone(),
            });
        }
        *slot = Some(shard);
    }
    let missing: Vec<String> = by_index
        .iter()
        .enumerate()
        .filter(|(_, slot)| slot.is_none())
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing: missing.join(", "),
            count,
        });
    }
    let machine = by_index[0].map_or(&first.record.machine, |s| &s.record.machine);
    let mut merged = RunRecord {
        machine: machine.clone(),
        started_at: shards
            .iter()
            .map(|s| s.record.started_at.clone())
            .min()
            .unwrap_or_default(),
        fixtures: Vec::new(),
        ..first.record.clone()
    };
    for (position, entry) in first.info.plan.iter().enumerate() {
        let index = position % count;
        let Some(shard) = by_index[index] else {
            continue;
        };
        let found = shard
            .record
            .fixtures
            .iter()
            .find(|f| f.fixture == entry.fixture)
            .and_then(|f| f.scenario(&entry.scenario).map(|s| (f.files, s.clone())));
        let Some((files, scenario)) = found else {
            return Err(MergeError::EntryMissing {
                fixture: entry.fixture.clone(),
                scenario: entry.scenario.clone(),
                index: index + 1,
                path: shard.path.clone(),
            });
        };
        match merged.fixtures.last_mut() {
            Some(fixture) if fixture.fixture == entry.fixture => {
                fixture.files = fixture.files.max(files);
                fixture.scenarios.push(scenario);
            }
            _ => merged.fixtures.push(FixtureResult {
                fixture: entry.fixture.clone(),
                files,
                scenarios: vec![scenario],
            }),
        }
    }
    Ok(merged)
}

/// The distinct machine keys of the shards, in shard order.
pub fn machine_keys(shards: &[ShardRecord]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for shard in shards {
        if !keys.contains(&shard.record.machine.key) {
            keys.push(shard.record.machine.key.clone());
        }
    }
    keys
}

/// Reads a shard's `metrics.json`: the run record and its [`ShardInfo`].
pub fn parse_shard(path: &str, text: &str) -> Result<ShardRecord, MergeError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|error| MergeError::NotJson {
            path: path.to_string(),
            error,
        })?;
    let info: ShardInfo = match value.get(SHARD_KEY) {
        Some(info) => {
            serde_json::from_value(info.clone()).map_err(|error| MergeError::BadShardInfo {
                path: path.to_string(),
                error,
            })?
        }
        None => return Err(MergeError::NotAShard(path.to_string())),
    };
    let record: RunRecord =
        serde_json::from_value(value).map_err(|error| MergeError::NotARecord {
            path: path.to_string(),
            error,
        })?;
    Ok(ShardRecord {
        path: path.to_string(),
        info,
        record,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::model::sample_data;

    fn names(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn shard_specs_parse_and_refuse_nonsense() {
        assert_eq!(
            "2/4".parse::<ShardSpec>().unwrap(),
            ShardSpec { index: 2, count: 4 }
        );
        for bad in ["0/2", "3/2", "1/0", "1", "a/b", ""] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_entry_is_in_exactly_one_shard() {
        let plan = plan_entries(
            &names(&["a", "b", "c"]),
            &names(&["cold", "warm", "targeted-session"]),
        );
        for count in 1..=5 {
            let mut seen = 0;
            for index in 1..=count {
                let shard = ShardSpec { index, count };
                for fixture in ["a", "b", "c"] {
                    seen += scenarios_of(&plan, fixture, shard).len();
                }
            }
            assert_eq!(seen, plan.len(), "{count} shards");
        }
    }

    #[test]
    fn merging_refuses_missing_and_duplicate_shards() {
        let record = sample_data::record();
        let plan: Vec<PlanEntry> = record
            .fixtures
            .iter()
            .flat_map(|f| {
                f.scenarios.iter().map(|s| PlanEntry {
                    fixture: f.fixture.clone(),
                    scenario: s.scenario.clone(),
                })
            })
            .collect();
        let shard = |index: usize| {
            let spec = ShardSpec { index, count: 2 };
            let mut part = record.clone();
            for fixture in &mut part.fixtures {
                let keep = scenarios_of(&plan, &fixture.fixture, spec);
                fixture.scenarios.retain(|s| keep.contains(&s.scenario));
            }
            part.fixtures.retain(|f| !f.scenarios.is_empty());
            ShardRecord {
                path: format!("shard{index}.json"),
                info: ShardInfo {
                    index,
                    count: 2,
                    plan: plan.clone(),
                },
                record: part,
            }
        };
        let merged = merge(&[shard(2), shard(1)]).unwrap();
        assert_eq!(merged.fixtures, record.fixtures);
        assert!(matches!(
            merge(&[shard(1)]).unwrap_err(),
            MergeError::Missing { .. }
        ));
        assert!(matches!(
            merge(&[shard(1), shard(1)]).unwrap_err(),
            MergeError::Duplicate { .. }
        ));
    }
}

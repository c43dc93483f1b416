//! `soda-perf generate`: write a synthetic fixture project from a preset.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use crate::fixtures;
use crate::fixtures::generate::{self, GenerateSpec};

use super::common::{workspace_root, CommonArgs};
use super::Outcome;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Preset to start from: small, medium, large, xlarge, xxlarge, xxxlarge, stress.
    #[arg(long)]
    pub preset: String,
    /// Output directory (default: .cache/perf/fixtures/<name> under the workspace root).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Number of .ts files under src.
    #[arg(long)]
    pub files: Option<usize>,
    /// Share of files that hold at least one gql definition (0..1).
    #[arg(long)]
    pub gql_ratio: Option<f64>,
    /// Number of object types in the generated schema.
    #[arg(long)]
    pub object_types: Option<usize>,
    /// Number of fragment definitions spread over the files.
    #[arg(long)]
    pub fragments: Option<usize>,
    /// Number of operation definitions (queries, mutations, subscriptions).
    #[arg(long)]
    pub operations: Option<usize>,
    /// Seed of the generator's PRNG: the same seed and sizes give the same project.
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub(super) fn cmd_generate(args: &GenerateArgs) -> Result<Outcome> {
    let Some(mut spec) = GenerateSpec::preset(&args.preset) else {
        bail!(
            "unknown preset `{}`; valid presets: {}",
            args.preset,
            GenerateSpec::presets().join(", ")
        );
    };
    let customized = args.files.is_some()
        || args.gql_ratio.is_some()
        || args.object_types.is_some()
        || args.fragments.is_some()
        || args.operations.is_some()
        || args.seed.is_some();
    spec.files = args.files.unwrap_or(spec.files);
    spec.gql_ratio = args.gql_ratio.unwrap_or(spec.gql_ratio);
    spec.object_types = args.object_types.unwrap_or(spec.object_types);
    spec.fragments = args.fragments.unwrap_or(spec.fragments);
    spec.operations = args.operations.unwrap_or(spec.operations);
    spec.seed = args.seed.unwrap_or(spec.seed);
    if customized {
        // A resized preset must not overwrite the cached preset of the same name.
        spec.name = format!("{}-custom", spec.name);
    }
    let out = match &args.out {
        Some(out) => out.clone(),
        None => fixtures::generated_fixture_dir(&workspace_root(&args.common)?, &spec.name),
    };
    let project = generate::generate(&spec, &out)?;
    let verb = if project.reused {
        "reused"
    } else {
        "generated"
    };
    println!(
        "{verb} `{}` in {}: {} files ({} with definitions), {} fragments, {} operations",
        spec.name,
        project.root.display(),
        project.files,
        project.definition_files,
        project.fragments,
        project.operations
    );
    Ok(Outcome::Clean)
}

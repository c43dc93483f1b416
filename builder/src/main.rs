//! `soda-builder`: the command-line edge. Parses arguments once into a
//! validated config, runs a build (or a watch loop), prints diagnostics and
//! a summary, and maps outcomes to exit codes: 0 ok, 1 diagnostics with
//! errors, 2 config, schema or usage problems.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use builder::config::{find_config, load_config, Config};
use builder::incremental::session::{
    BuildError, BuildOutput, BuilderSession, SessionOptions, SessionState,
};
use builder::phases::link;
use builder::{build, watch};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "soda-builder",
    version,
    about = "Builds the soda-gql artifact from TypeScript sources"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Discover, analyze, validate and write the artifact.
    Build(BuildArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    /// DOT graph (with --graph-filter).
    Dot,
}

#[derive(clap::Args)]
struct BuildArgs {
    /// soda-gql.config.ts or .json; searched upward from the working directory when absent.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where to write the artifact (overrides `artifact.path`).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Rebuild on every file change until Ctrl-C.
    #[arg(long)]
    watch: bool,
    /// How long file events are coalesced before a rebuild.
    #[arg(long, default_value_t = 300)]
    debounce_ms: u64,
    /// Print each file's cache status (hit / miss / skip, and why).
    #[arg(long)]
    show_cache: bool,
    /// Write the artifact delta (added / updated / removed elements) as JSON.
    #[arg(long)]
    write_delta: Option<PathBuf>,
    /// Ignore and do not write the persisted state: a clean build.
    #[arg(long)]
    no_incremental: bool,
    /// Print the dependency graph of the modules matching this glob.
    #[arg(long)]
    graph_filter: Option<String>,
}

/// A failure that is not about the user's sources: exit 2.
struct SetupError(anyhow::Error);

/// jemalloc: swc and the rayon workers allocate heavily from two threads;
/// glibc's arenas spent ~15 % of a clean build in malloc/free and page faults.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc reads this C string at start-up (`&[u8]` starts with its
/// pointer); see `builder::JEMALLOC_CONF` for the options and why.
#[allow(non_upper_case_globals, unsafe_code)] // the one symbol jemalloc reads
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = builder::JEMALLOC_CONF;

fn main() -> ExitCode {
    // Start the worker threads now, awake: they are ready by the time the
    // config and the state are read, instead of waking inside the first walk.
    builder::io::pool::warm_up();
    let cli = Cli::parse();
    match cli.command {
        Command::Build(args) => match run(args) {
            Ok(code) => code,
            Err(SetupError(e)) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

fn setup<T>(result: anyhow::Result<T>) -> Result<T, SetupError> {
    result.map_err(SetupError)
}

fn load(args: &BuildArgs) -> anyhow::Result<Config> {
    let path = match &args.config {
        Some(p) => p.clone(),
        None => {
            let cwd = std::env::current_dir().context("cannot read the working directory")?;
            find_config(&cwd)?
        }
    };
    let mut config = load_config(&path)?;
    if let Some(out) = &args.out {
        let cwd = std::env::current_dir().context("cannot read the working directory")?;
        config.artifact_path = builder::config::normalize_path(&cwd.join(out));
    }
    refuse_overwriting_an_input(&config)?;
    Ok(config)
}

/// The artifact must not replace what the build reads: a schema (it was
/// accepted, and the schema overwritten), the config or a source.
fn refuse_overwriting_an_input(config: &Config) -> anyhow::Result<()> {
    let artifact = &config.artifact_path;
    let schema = config
        .schemas
        .iter()
        .find(|(_, s)| s.paths.iter().any(|p| p == artifact));
    let what = if let Some((label, _)) = schema {
        format!("the schema `{label}`")
    } else if *artifact == config.config_path {
        "the config file".to_owned()
    } else if builder::phases::discover::is_ts_file(&artifact.to_string_lossy()) {
        "a TypeScript source".to_owned()
    } else {
        return Ok(());
    };
    anyhow::bail!(
        "the artifact path {} is {what}: the build would overwrite its own input; set `artifact.path` (or --out) to a .json file of its own",
        artifact.display()
    )
}

fn run(args: BuildArgs) -> Result<ExitCode, SetupError> {
    let config = setup(load(&args))?;
    if args.watch {
        return run_watch(&args, config);
    }
    let options = build::BuildOptions {
        incremental: !args.no_incremental,
        write: true,
    };
    let (mut session, mut output) = match build::run_build_session(&config, options) {
        Ok(built) => built,
        Err(e @ (BuildError::Config(_) | BuildError::Schema(_) | BuildError::Glob(_))) => {
            return Err(SetupError(e.into()))
        }
        Err(e) => return Err(SetupError(anyhow::Error::new(e).context("build failed"))),
    };
    if let Some(path) = &args.write_delta {
        setup(
            builder::io::atomic::write_atomic(path, output.delta.to_json().as_bytes())
                .with_context(|| format!("cannot write the delta to {}", path.display())),
        )?;
    }
    if args.show_cache {
        output.complete_cache_status(session.state().files.keys());
    }
    if let Some(filter) = &args.graph_filter {
        setup(print_graph(session.state(), filter, args.format))?;
        return Ok(exit_code(&output));
    }
    print_output(&config, &output, &args);
    let code = exit_code(&output);
    // The process ends here: freeing thousands of summaries one by one is
    // wasted work (it was ~15 % of a warm build), the OS takes the pages back.
    std::mem::forget((session, output));
    Ok(code)
}

fn exit_code(output: &BuildOutput) -> ExitCode {
    if output.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_output(config: &Config, output: &BuildOutput, args: &BuildArgs) {
    let report = output.report();
    if args.format == Format::Json {
        let json = serde_json::json!({
            "artifactPath": config.artifact_path,
            "elements": output.artifact.elements.len(),
            "diagnostics": output.diagnostics,
            "report": report,
            "cache": if args.show_cache { serde_json::to_value(&output.cache_status).unwrap_or_default() } else { serde_json::Value::Null },
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
        return;
    }
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for d in &output.diagnostics {
        let _ = writeln!(err, "{}", d.render_human());
    }
    if let Some(note) = &output.cache_note {
        for line in note.lines() {
            if line.starts_with("warning:") {
                let _ = writeln!(err, "{line}");
            } else {
                let _ = writeln!(err, "info: {line}");
            }
        }
    }
    if args.show_cache {
        for (file, status) in &output.cache_status {
            println!(
                "{:<5} {file} ({})",
                format!("{:?}", status.status).to_lowercase(),
                status.reason
            );
        }
    }
    let errors = output.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = output.diagnostics.len() - errors;
    let operations = output
        .artifact
        .elements
        .values()
        .filter(|e| builder::phases::emit::is_operation_element(e))
        .count();
    println!(
        "{} {} elements ({} operations, {} fragments) from {} files in {:.1} ms; cache hits {} misses {} skips {}; {} error(s), {} warning(s) -> {}",
        if errors > 0 { "built with errors:" } else { "built" },
        output.artifact.elements.len(),
        operations,
        output.artifact.elements.len() - operations,
        report.files.scanned,
        report.duration_ms,
        report.stats.hits,
        report.stats.misses,
        report.stats.skips,
        errors,
        warnings,
        config.artifact_path.display()
    );
}

fn print_graph(state: &SessionState, filter: &str, format: Format) -> anyhow::Result<()> {
    let glob = globset::Glob::new(filter)
        .with_context(|| format!("invalid --graph-filter glob `{filter}`"))?
        .compile_matcher();
    // The build's own session state: modules, their deps and resolved spreads.
    let session_files = state;
    let mut lines = Vec::new();
    for (file, entry) in &session_files.files {
        if !glob.is_match(file) {
            continue;
        }
        let defs: Vec<String> = entry
            .summary
            .definitions
            .iter()
            .map(|d| {
                let id = link::canonical_id(file, &d.ast_path);
                let deps = session_files
                    .resolved
                    .get(&id)
                    .map(|r| r.deps().join(", "))
                    .unwrap_or_default();
                format!(
                    "{} {} ({id}){}",
                    d.kind.keyword(),
                    d.name,
                    if deps.is_empty() {
                        String::new()
                    } else {
                        format!(" spreads {deps}")
                    }
                )
            })
            .collect();
        lines.push((file.clone(), entry.deps.clone(), defs));
    }
    if format == Format::Dot {
        println!("digraph modules {{\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];");
        for (file, deps, defs) in &lines {
            let style = if defs.is_empty() {
                ""
            } else {
                ", style=filled, fillcolor=\"#dbeafe\""
            };
            println!(
                "  \"{file}\" [label=\"{file}\\n{} definition(s)\"{style}];",
                defs.len()
            );
            for dep in deps {
                println!("  \"{file}\" -> \"{dep}\";");
            }
        }
        println!("}}");
    } else {
        for (file, deps, defs) in &lines {
            println!("{file}");
            for d in defs {
                println!("  defines {d}");
            }
            for dep in deps {
                println!("  imports {dep}");
            }
        }
    }
    Ok(())
}

fn run_watch(args: &BuildArgs, config: Config) -> Result<ExitCode, SetupError> {
    let incremental = !args.no_incremental;
    let lock = if incremental {
        Some(setup(
            builder::incremental::persist::lock(&config).context("cannot lock the cache directory"),
        )?)
    } else {
        None
    };
    let mut session = BuilderSession::new(config.clone(), SessionOptions { incremental });
    let mut initial = setup(session.build_initial().map_err(anyhow::Error::new))?;
    if let Some(lock) = &lock {
        build::add_repairs(&mut initial, &lock.repaired);
    }
    setup(session.write_outputs().map_err(anyhow::Error::new))?;
    build::add_repairs(&mut initial, &session.take_write_warnings());
    print_output(&config, &initial, args);

    let (tx, rx) = mpsc::channel();
    let stop_tx = tx.clone();
    setup(
        ctrlc::set_handler(move || {
            let _ = stop_tx.send(watch::WatchMessage::Stop);
        })
        .context("cannot install the Ctrl-C handler"),
    )?;
    let debounce = Duration::from_millis(args.debounce_ms);
    let result = watch::watch(
        &mut session,
        debounce,
        tx,
        rx,
        || {
            println!("watching {} (Ctrl-C to stop)", config.root_dir.display());
            let _ = std::io::stdout().flush();
        },
        |changes, result, session| {
            match result {
                Ok(output) => {
                    for d in output.diagnostics.iter().filter(|d| d.is_error()) {
                        eprintln!("{}", d.render_human());
                    }
                    if let Err(e) = session.write_outputs() {
                        eprintln!("error: {e}");
                    }
                    println!("{}", watch::summary_line(changes, output));
                }
                Err(e) => eprintln!("error: {e}"),
            }
            let _ = std::io::stdout().flush();
        },
    );
    setup(result.map_err(anyhow::Error::new))?;
    println!("stopped watching");
    Ok(ExitCode::SUCCESS)
}

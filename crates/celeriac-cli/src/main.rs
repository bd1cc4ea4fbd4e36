//! The `celeriac` command.

mod bench;
mod cli;
mod commands;
mod config;

use clap::Parser;

use crate::cli::{Cli, Command};

/// jemalloc: the worker allocates and frees small buffers per task from
/// several threads; glibc's per-thread arenas spent measurable time growing
/// and trimming (mprotect calls) and locking.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn init_logging(filter: &str, json: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() {
    let cli = Cli::parse();
    init_logging(&cli.global.log, cli.global.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let outcome = runtime.block_on(run(cli));
    // Abandoned blocking work (tasks past their hard limit) must not keep
    // the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    if let Err(e) = outcome {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = config::load(&cli.global)?;
    let command = cli.command.unwrap_or(Command::Serve(cli::ServeArgs::default()));
    let ctx = commands::Context::new(&cli.global, file);
    match command {
        Command::Serve(args) => commands::serve::run(ctx, args).await,
        Command::Worker(args) => commands::worker::run(ctx, args).await,
        Command::Call(args) => commands::call::run(ctx, args).await,
        Command::Result(args) => commands::result::run(ctx, args).await,
        Command::Revoke(args) => commands::revoke::run(ctx, args).await,
        Command::Inspect(args) => commands::inspect::run(ctx, args).await,
        Command::Purge(args) => commands::purge::run(ctx, args).await,
        Command::Dead { action } => commands::dead::run(ctx, action).await,
        Command::Bench(args) => bench::run(ctx, args).await,
        Command::BenchProduce(args) => bench::produce(ctx, args).await,
    }
}

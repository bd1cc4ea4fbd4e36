//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Celeriac: a distributed task queue, wire-compatible with Celery.
///
/// Without a command, runs `serve` on the per-user embedded store.
#[derive(Debug, Parser)]
#[command(name = "celeriac", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Broker URL (sqlite:///path.db, memory://). Default: the per-user embedded store.
    #[arg(long, global = true, env = "CELERIAC_BROKER_URL")]
    pub broker: Option<String>,
    /// Result backend URL. Default: the broker's own store.
    #[arg(long, global = true, env = "CELERIAC_RESULT_BACKEND")]
    pub result_backend: Option<String>,
    /// TOML configuration file (default: ./celeriac.toml when present).
    #[arg(long, global = true, env = "CELERIAC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log filter, e.g. `info` or `celeriac_worker=debug`.
    #[arg(long, global = true, env = "CELERIAC_LOG", default_value = "info")]
    pub log: String,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Worker pool plus the HTTP server, in one process (the default).
    Serve(ServeArgs),
    /// Run a worker.
    Worker(WorkerArgs),
    /// Send a task; prints its id, or its result with --wait.
    Call(CallArgs),
    /// Show a task's state and result.
    Result(ResultArgs),
    /// Revoke a task: it will not run if it has not started.
    Revoke(RevokeArgs),
    /// Queues (ready, in flight, delayed, dead) and workers.
    Inspect(InspectArgs),
    /// Delete every ready and delayed message of a queue.
    Purge(PurgeArgs),
    /// List, retry or drop dead letters.
    Dead {
        #[command(subcommand)]
        action: DeadAction,
    },
    /// Measure throughput, latency and memory (see docs/benchmarks.md).
    Bench(crate::bench::BenchArgs),
    /// Internal: the producer process of `bench` (enqueues in batches).
    #[command(hide = true)]
    BenchProduce(crate::bench::ProduceArgs),
}

#[derive(Debug, Args, Default, Clone)]
pub struct WorkerArgs {
    /// Queues to consume, comma-separated (default: celery).
    #[arg(long, short = 'Q', value_delimiter = ',')]
    pub queues: Vec<String>,
    /// Most tasks running at once (default 64).
    #[arg(long, short = 'c')]
    pub concurrency: Option<usize>,
    /// Most messages held at once, running or waiting (default 256).
    #[arg(long)]
    pub prefetch: Option<usize>,
    /// Threads of the cpu pool (default: number of cores; `serve`: one less).
    #[arg(long)]
    pub cpu_threads: Option<usize>,
    /// Lease length in seconds: a dead worker's tasks return after this (default 30).
    #[arg(long)]
    pub lease: Option<f64>,
    /// Seconds a graceful shutdown waits for running tasks (default 30).
    #[arg(long)]
    pub grace: Option<f64>,
    /// Store STARTED when a task starts.
    #[arg(long)]
    pub track_started: bool,
    /// Store name, args, kwargs, worker, retries and queue with results.
    #[arg(long)]
    pub result_extended: bool,
    /// Append the id of every task executed to this file.
    #[arg(long)]
    pub execution_log: Option<PathBuf>,
    /// Largest accepted message, in bytes (default 32 MiB); larger ones are dead-lettered.
    #[arg(long)]
    pub max_message_bytes: Option<usize>,
    /// Deepest accepted JSON nesting in a message body (default 64).
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Benchmark support: once this many tasks are settled, print their
    /// timing as JSON on stdout and stop.
    #[arg(long, hide = true)]
    pub bench_report: Option<u64>,
    /// This worker's nodename (default celeriac.<pid>@<host>); `%h` is
    /// replaced by the host name, `%p` by the process id.
    #[arg(long, short = 'n')]
    pub hostname: Option<String>,
    /// Do not send task events and worker heartbeats (the dashboard's
    /// history and live view are built from them; on by default).
    #[arg(long)]
    pub no_events: bool,
    /// Serve this worker's own Prometheus metrics at http://ADDR/metrics.
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address of the HTTP server.
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Do not run a worker in this process.
    #[arg(long)]
    pub no_worker: bool,
    /// Largest photo the photo app accepts, in bytes (default 10 MB).
    #[arg(long)]
    pub max_upload_bytes: Option<usize>,
    /// An API token, `admin:SECRET` or `read:SECRET` (repeatable; also
    /// CELERIAC_API_TOKENS, comma-separated). Without one the server is
    /// open, and only on a loopback address.
    #[arg(long = "api-token", value_name = "ROLE:SECRET")]
    pub api_tokens: Vec<String>,
    /// A task name that may be submitted over the HTTP API (repeatable).
    #[arg(long = "allow-submit", value_name = "TASK", value_delimiter = ',')]
    pub allow_submit: Vec<String>,
    /// Mark the session cookie Secure (when serving behind HTTPS).
    #[arg(long)]
    pub secure_cookies: bool,
    /// The task history file (default: history.db beside the embedded store).
    #[arg(long)]
    pub history: Option<std::path::PathBuf>,
    /// Days of task history to keep (default 7).
    #[arg(long)]
    pub history_days: Option<f64>,
    /// Most tasks the history keeps (default 1,000,000).
    #[arg(long)]
    pub history_max_tasks: Option<u64>,
    #[command(flatten)]
    pub worker: WorkerArgs,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// Task name, e.g. celeriac.add.
    pub task: String,
    /// Positional arguments as a JSON array.
    #[arg(long, default_value = "[]")]
    pub args: String,
    /// Keyword arguments as a JSON object.
    #[arg(long, default_value = "{}")]
    pub kwargs: String,
    /// Run no earlier than this many seconds from now.
    #[arg(long)]
    pub countdown: Option<f64>,
    /// Run no earlier than this time (ISO-8601).
    #[arg(long)]
    pub eta: Option<String>,
    /// Discard if not started within this many seconds.
    #[arg(long)]
    pub expires: Option<f64>,
    /// Priority 0-9, 0 first.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=9))]
    pub priority: Option<u8>,
    /// Queue (default: celery).
    #[arg(long)]
    pub queue: Option<String>,
    /// Wait for the result and print it.
    #[arg(long)]
    pub wait: bool,
    /// Seconds to wait with --wait.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
    /// Send even if no live worker registers this task.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ResultArgs {
    /// Task id.
    pub id: String,
    /// Wait until the task is finished.
    #[arg(long)]
    pub wait: bool,
    /// Seconds to wait with --wait.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Task id.
    pub id: String,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Queue to empty.
    pub queue: String,
}

#[derive(Debug, Subcommand)]
pub enum DeadAction {
    /// Show dead letters with their reasons.
    List {
        /// Only this queue.
        #[arg(long)]
        queue: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put dead letters back on their queues.
    Retry(DeadSelect),
    /// Delete dead letters.
    Drop(DeadSelect),
}

#[derive(Debug, Args)]
pub struct DeadSelect {
    /// Entry id (from `dead list`).
    pub id: Option<String>,
    /// Every entry.
    #[arg(long, conflicts_with_all = ["id", "queue"])]
    pub all: bool,
    /// Every entry of this queue.
    #[arg(long, conflicts_with = "id")]
    pub queue: Option<String>,
}

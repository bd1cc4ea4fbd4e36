//! `celeriac bench`: enqueue rates, backlog drain, end-to-end throughput
//! with a separate producer process, latency at a fixed offered load, and
//! worker memory — on fresh temporary embedded stores.

mod latency;
mod procs;
mod report;

pub(crate) use procs::status_kb;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use celeriac::{Client, Signature};
use clap::{Args, ValueEnum};
use serde_json::json;

use crate::commands::Context;
use procs::{unix_now, WorkerProc};
use report::Report;

/// Phases of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Phase {
    /// Enqueue rate, one call per task and batched.
    Enqueue,
    /// A worker process drains a backlog.
    Drain,
    /// The same drain with the worker's events switched off
    /// (`--no-events`): what task events and heartbeats cost.
    DrainNoEvents,
    /// A producer process enqueues in batches while a warm worker runs.
    E2e,
    /// Enqueue→start and enqueue→result at a fixed offered load.
    Latency,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Tasks for the batched enqueue, drain and end-to-end phases.
    #[arg(long, default_value_t = 100_000)]
    pub tasks: usize,
    /// Tasks for the one-call-per-task enqueue phase.
    #[arg(long, default_value_t = 20_000)]
    pub single_tasks: usize,
    /// Batch size of batched enqueues.
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
    /// Offered load of the latency phase, tasks per second.
    #[arg(long, default_value_t = 1_000.0)]
    pub rate: f64,
    /// Duration of the latency phase, seconds.
    #[arg(long, default_value_t = 5.0)]
    pub latency_seconds: f64,
    /// Worker concurrency.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Worker prefetch (messages held at once: fetched, running or waiting
    /// to be acknowledged). No-op tasks finish faster than a fetch round
    /// trip, so a deep prefetch keeps the worker busy.
    #[arg(long, default_value_t = 1024)]
    pub prefetch: usize,
    /// Only these phases (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Phase>,
    /// Commit with synchronous=FULL (power-loss durability) instead of NORMAL.
    #[arg(long)]
    pub synchronous_full: bool,
    /// Write the JSON report to this file (`-` for stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Run every worker with its events off (as Celery runs by default,
    /// without `-E`); `drain-no-events` compares the two either way.
    #[arg(long)]
    pub no_events: bool,
    /// Directory for the temporary stores (default: the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// Tasks to enqueue.
    #[arg(long)]
    pub tasks: usize,
    /// Batch size.
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
    /// Task name.
    #[arg(long, default_value = "celeriac.noop")]
    pub task: String,
    /// Queue to send to.
    #[arg(long, default_value = "celery")]
    pub queue: String,
    /// One of the peer harness's task kinds, instead of --task: `noop`,
    /// `sleep` (10 ms) or `cpu` (5 ms of thread CPU time).
    #[arg(long, value_enum, conflicts_with_all = ["task", "numbered"])]
    pub kind: Option<PeerKind>,
    /// Give task number i (from 0) the arguments [i, i], so that each
    /// result can be checked (`celeriac.add` returns 2i).
    #[arg(long)]
    pub numbered: bool,
    /// Write the task ids to this file, one per line, in task order.
    #[arg(long, requires = "numbered")]
    pub ids_file: Option<PathBuf>,
    /// After reporting, stay alive (with the store open) until killed: lets
    /// a test SIGKILL a process whose enqueues have returned OK.
    #[arg(long)]
    pub hold: bool,
}

/// The task kinds of the peer harness in ../shared/bench.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PeerKind {
    /// `celeriac.noop`.
    Noop,
    /// `celeriac.sleep(0.01)`.
    Sleep,
    /// `celeriac.burn(5)`: 5 ms of thread CPU time on the cpu pool.
    Cpu,
}

impl ProduceArgs {
    /// The message every task of this run is a copy of.
    fn template(&self) -> Signature {
        let sig = match self.kind {
            None => Signature::new(&self.task),
            Some(PeerKind::Noop) => Signature::new("celeriac.noop"),
            Some(PeerKind::Sleep) => Signature::new("celeriac.sleep").args((0.01,)),
            Some(PeerKind::Cpu) => Signature::new("celeriac.burn").args((5.0,)),
        };
        sig.queue(&self.queue)
    }
}

/// Where the phases keep their stores.
pub(crate) struct BenchEnv {
    /// The Redis URL to measure, or `None` for the embedded store.
    redis: Option<String>,
    dir: PathBuf,
    full: bool,
    concurrency: usize,
    prefetch: usize,
    no_events: bool,
}

impl BenchEnv {
    fn url(&self, name: &str) -> String {
        match &self.redis {
            // Each phase in its own key prefix, deleted at the end.
            Some(base) => {
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}global_keyprefix={}", self.redis_prefix(name))
            }
            None => {
                let sync = if self.full { "?synchronous=full" } else { "" };
                format!("sqlite://{}{sync}", self.dir.join(format!("{name}.db")).display())
            }
        }
    }

    fn redis_prefix(&self, name: &str) -> String {
        format!("celeriac-bench-{}-{name}:", std::process::id())
    }

    fn worker_args(&self) -> Vec<String> {
        let mut args = vec![
            "--concurrency".into(),
            self.concurrency.to_string(),
            "--prefetch".into(),
            self.prefetch.to_string(),
        ];
        if self.no_events {
            args.push("--no-events".into());
        }
        args
    }
}

impl Drop for BenchEnv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl BenchEnv {
    /// Deletes the phases' Redis keys.
    async fn clean_up(&self) {
        if self.redis.is_none() {
            return;
        }
        for name in ["enqueue", "drain", "drain_no_events", "e2e", "latency"] {
            if let Ok(store) = celeriac::crates::redis::RedisStore::open_url(&self.url(name)) {
                let _ = store.delete_everything().await;
            }
        }
    }
}

fn client(url: &str) -> anyhow::Result<Client> {
    let b = celeriac::connect(Some(url), None)?;
    Ok(Client::new(b.broker, b.backend))
}

async fn enqueue_batched(client: &Client, tasks: usize, batch: usize, template: &Signature) -> anyhow::Result<()> {
    let mut left = tasks;
    while left > 0 {
        let n = left.min(batch.max(1));
        let sigs = (0..n).map(|_| template.clone()).collect();
        client.send_many(sigs).await?;
        left -= n;
    }
    Ok(())
}

pub async fn run(ctx: Context, args: BenchArgs) -> anyhow::Result<()> {
    // The embedded store is measured on temporary files; Redis on the given
    // server, in key prefixes of this run only.
    let redis = match ctx.broker_url.as_deref() {
        None => None,
        Some(u) if u.starts_with("sqlite://") => None,
        Some(u) if u.starts_with("redis") => Some(u.to_owned()),
        Some(u) => bail!("bench measures the embedded store or Redis, not `{u}`"),
    };
    if args.tasks == 0 || args.batch == 0 {
        bail!("--tasks and --batch must be positive");
    }
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("celeriac-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let env = BenchEnv {
        redis,
        dir,
        full: args.synchronous_full,
        concurrency: args.concurrency,
        prefetch: args.prefetch,
        no_events: args.no_events,
    };
    let wants = |p: Phase| args.only.is_empty() || args.only.contains(&p);
    let mut report = Report::new(&args);

    if wants(Phase::Enqueue) {
        eprintln!(
            "[bench] enqueue: {} single calls, then {} in batches of {}",
            args.single_tasks, args.tasks, args.batch
        );
        let c = client(&env.url("enqueue"))?;
        let t = Instant::now();
        for _ in 0..args.single_tasks {
            c.send(Signature::new("celeriac.noop")).await?;
        }
        report.rate("enqueue_single", args.single_tasks, t.elapsed());
        let t = Instant::now();
        enqueue_batched(&c, args.tasks, args.batch, &Signature::new("celeriac.noop")).await?;
        report.rate("enqueue_batched", args.tasks, t.elapsed());
    }

    for (phase, name, flags) in [
        (Phase::Drain, "drain", &[][..]),
        (Phase::DrainNoEvents, "drain_no_events", &["--no-events"][..]),
    ] {
        if !wants(phase) {
            continue;
        }
        eprintln!(
            "[bench] {name}: enqueue a backlog of {}, then start a worker process {}",
            args.tasks,
            flags.join(" ")
        );
        let url = env.url(name);
        enqueue_batched(&client(&url)?, args.tasks, args.batch, &Signature::new("celeriac.noop")).await?;
        let spawned = unix_now();
        let mut worker_args = env.worker_args();
        for flag in flags {
            if !worker_args.iter().any(|a| a == flag) {
                worker_args.push((*flag).to_owned());
            }
        }
        let mut worker = WorkerProc::spawn(&url, &worker_args, Some(args.tasks))?;
        let done = worker.report(Duration::from_secs(600)).await?;
        report.rate_between(name, args.tasks, done.first, done.last);
        if phase == Phase::Drain {
            report.value(
                "drain_including_start_tasks_per_s",
                args.tasks as f64 / (done.last - spawned),
            );
            report.value("worker_peak_rss_mb_drain", done.peak_rss_kb as f64 / 1024.0);
        }
        worker.stop().await;
    }

    if wants(Phase::E2e) {
        eprintln!(
            "[bench] end-to-end: warm worker, producer process enqueues {} in batches of {}",
            args.tasks, args.batch
        );
        let url = env.url("e2e");
        let mut worker = WorkerProc::spawn(&url, &env.worker_args(), Some(args.tasks))?;
        worker.wait_registered(&url).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Some(kb) = worker.rss_kb() {
            report.value("worker_idle_rss_mb", kb as f64 / 1024.0);
        }
        let produced = procs::produce(&url, args.tasks, args.batch).await?;
        let done = worker.report(Duration::from_secs(600)).await?;
        report.rate_between("e2e", args.tasks, produced.t0, done.last);
        report.rate_between("e2e_producer_enqueue", args.tasks, produced.t0, produced.t1);
        report.value("worker_peak_rss_mb_e2e", done.peak_rss_kb as f64 / 1024.0);
        worker.stop().await;
    }

    if wants(Phase::Latency) {
        eprintln!(
            "[bench] latency: {} tasks/s for {}s, one enqueue per task",
            args.rate, args.latency_seconds
        );
        let url = env.url("latency");
        let worker = WorkerProc::spawn(&url, &env.worker_args(), None)?;
        worker.wait_registered(&url).await?;
        let c = client(&url)?;
        let l = latency::measure(&c, args.rate, Duration::from_secs_f64(args.latency_seconds)).await?;
        report.latency(&l);
        worker.stop().await;
    }

    env.clean_up().await;
    report.print_table();
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report.to_json())?;
        if path.as_os_str() == "-" {
            println!("{text}");
        } else {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

/// Enqueues `tasks` calls in batches, call number i with arguments [i, i];
/// returns the task ids in order.
async fn enqueue_numbered(client: &Client, args: &ProduceArgs) -> anyhow::Result<Vec<String>> {
    let (tasks, batch) = (args.tasks, args.batch);
    let mut ids = Vec::with_capacity(tasks);
    while ids.len() < tasks {
        let start = ids.len();
        let end = tasks.min(start + batch.max(1));
        let sigs = (start..end)
            .map(|i| Signature::new(&args.task).args([i, i]).queue(&args.queue))
            .collect();
        ids.extend(client.send_many(sigs).await?.iter().map(|r| r.id().to_owned()));
    }
    Ok(ids)
}

/// The producer process: enqueue in batches, print when it started and ended.
pub async fn produce(ctx: Context, args: ProduceArgs) -> anyhow::Result<()> {
    let backends = ctx.connect()?;
    let c = Client::new(backends.broker, backends.backend);
    let t0 = unix_now();
    let ids = if args.numbered {
        enqueue_numbered(&c, &args).await?
    } else {
        enqueue_batched(&c, args.tasks, args.batch, &args.template()).await?;
        Vec::new()
    };
    let t1 = unix_now();
    if let Some(path) = &args.ids_file {
        let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("{}", json!({"t0": t0, "t1": t1, "tasks": args.tasks}));
    if args.hold {
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        std::future::pending::<()>().await;
    }
    Ok(())
}

//! `celeriac serve`: the HTTP server (dashboard, API, metrics, the photo
//! app at `/photos`) with the task history it keeps, and a worker in the
//! same process unless `--no-worker`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use celeriac::{builtins, shutdown_on_signals, Worker, WorkerConfig};
use celeriac_photos::{mounted_app, Photos};
use celeriac_server::auth::{check_exposure, protect, Auth, AuthConfig};
use celeriac_server::history::{spawn_keeper, History, HistoryConfig};
use celeriac_server::ServerState;

use super::Context;
use crate::cli::ServeArgs;
use crate::config::{photos_config, worker_config, FileConfig};

const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// Where the photo app is mounted.
const PHOTOS_PATH: &str = "/photos";

/// Tokens from flags, else the file, else `CELERIAC_API_TOKENS`.
fn auth_config(args: &ServeArgs, file: &FileConfig) -> anyhow::Result<AuthConfig> {
    let mut specs = args.api_tokens.clone();
    if specs.is_empty() {
        specs = file.server.api_tokens.clone().unwrap_or_default();
    }
    if specs.is_empty() {
        if let Ok(env) = std::env::var("CELERIAC_API_TOKENS") {
            specs = env
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
    }
    let mut config = AuthConfig::from_specs(&specs).context("--api-token")?;
    config.secure_cookies = args.secure_cookies || file.server.secure_cookies.unwrap_or(false);
    Ok(config)
}

/// The history beside the embedded store's file, or in the default data
/// directory for other brokers.
fn history_config(args: &ServeArgs, file: &FileConfig, broker_url: &str) -> anyhow::Result<HistoryConfig> {
    let path = match args.history.clone().or_else(|| file.server.history.clone()) {
        Some(p) => p,
        None => match broker_url.strip_prefix("sqlite://") {
            Some(db) => {
                let db = PathBuf::from(db.split('?').next().unwrap_or(db));
                let stem = db
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                db.with_file_name(format!("{stem}-history.db"))
            }
            None => celeriac::crates::sqlite::SqliteConfig::default_path()?.with_file_name("history.db"),
        },
    };
    let mut config = HistoryConfig::new(path);
    if let Some(days) = args.history_days.or(file.server.history_days) {
        anyhow::ensure!(
            days.is_finite() && days > 0.0,
            "--history-days must be a positive number"
        );
        config.retention = Duration::from_secs_f64(days * 86_400.0);
    }
    if let Some(max) = args.history_max_tasks.or(file.server.history_max_tasks) {
        anyhow::ensure!(max > 0, "--history-max-tasks must be at least 1");
        config.max_tasks = max;
    }
    Ok(config)
}

pub async fn run(ctx: Context, args: ServeArgs) -> anyhow::Result<()> {
    let bind: SocketAddr = match args.bind.or(ctx.file.server.bind) {
        Some(addr) => addr,
        None => DEFAULT_BIND.parse()?,
    };
    // Refuse an exposed server without tokens before opening anything.
    let auth = auth_config(&args, &ctx.file)?;
    let exposure = check_exposure(bind, &auth)?;
    let backends = ctx.connect()?;
    let shutdown = shutdown_on_signals();
    let worker = if args.no_worker {
        None
    } else {
        let mut config = worker_config(&args.worker, &ctx.file)?;
        if args.worker.cpu_threads.or(ctx.file.worker.cpu_threads).is_none() {
            config.cpu_threads = serve_cpu_threads();
        }
        let mut registry = builtins::registry();
        registry.merge(&celeriac_photos::tasks::registry());
        Some(
            Worker::new(backends.broker.clone(), backends.backend.clone(), registry, config)
                .with_resources(backends.resources())
                .with_events(backends.events.clone()),
        )
    };
    let history_config = history_config(&args, &ctx.file, &backends.broker_url)?;
    let history_path = history_config.path.clone();
    let history = History::open(history_config)
        .with_context(|| format!("cannot open the task history at {}", history_path.display()))?;
    let keeper = spawn_keeper(
        history.clone(),
        backends.events.clone(),
        backends.broker_url.clone(),
        shutdown.clone(),
    );
    let metrics = Arc::new(celeriac_metrics::Metrics::new());
    celeriac_server::feed_metrics(&keeper, metrics.clone());
    let mut allow: Vec<String> = args.allow_submit.clone();
    allow.extend(ctx.file.server.allow_submit.clone().unwrap_or_default());
    let mut state = ServerState::new(
        backends.broker.clone(),
        backends.backend.clone(),
        backends.broker_url.clone(),
    );
    state.worker = worker.as_ref().map(|w| w.info().clone());
    state.apps = vec![mounted_app(PHOTOS_PATH)];
    state.history = Some(history);
    state.keeper = Some(keeper);
    state.events = Some(backends.events.clone());
    state.submit_allowlist = allow;
    state.metrics = Some(metrics);
    let photos = Photos::new(&backends, photos_config(&args, &ctx.file)?);
    let app = celeriac_photos::mount(celeriac_server::router(state), PHOTOS_PATH, photos);
    let app = protect(app, Arc::new(Auth::new(auth)));
    if let Some(warning) = exposure.warning() {
        tracing::warn!("{warning}");
        eprintln!("warning: {warning}");
    }
    let broker_url = backends.broker_url.clone();
    let server = celeriac_server::serve_router(bind, app, shutdown.clone(), move |addr| {
        println!("Celeriac is serving on http://{addr}/  (broker: {broker_url})");
        println!("Task history: {}", history_path.display());
        println!("Photo faces app:  http://{addr}{PHOTOS_PATH}/");
        println!("Try from another shell:  celeriac call celeriac.add --args '[2,3]' --wait");
    });
    let worker_task = worker.map(|w| tokio::spawn(w.run(shutdown.clone())));
    let served = server.await;
    shutdown.cancel();
    if let Some(task) = worker_task {
        task.await??;
    }
    served.map_err(|e| anyhow::anyhow!("cannot serve HTTP on {bind}: {e}"))
}

/// The cpu pool of `serve` leaves one core to the HTTP server: with every
/// core computing (face detection), pages would wait for a core. A
/// dedicated `celeriac worker` uses them all.
fn serve_cpu_threads() -> usize {
    WorkerConfig::default().cpu_threads.saturating_sub(1).max(1)
}

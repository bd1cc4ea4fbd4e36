//! `celeriac serve`: a worker and the HTTP server in one process, with the
//! photo app mounted at `/photos`.

use std::net::SocketAddr;

use celeriac::{builtins, shutdown_on_signals, Worker, WorkerConfig};
use celeriac_photos::{mounted_app, Photos};
use celeriac_server::ServerState;

use super::Context;
use crate::cli::ServeArgs;
use crate::config::{photos_config, worker_config};

const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// Where the photo app is mounted.
const PHOTOS_PATH: &str = "/photos";

pub async fn run(ctx: Context, args: ServeArgs) -> anyhow::Result<()> {
    let bind: SocketAddr = match args.bind.or(ctx.file.server.bind) {
        Some(addr) => addr,
        None => DEFAULT_BIND.parse()?,
    };
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
                .with_resources(backends.resources()),
        )
    };
    let state = ServerState {
        broker: backends.broker.clone(),
        backend: backends.backend.clone(),
        broker_url: backends.broker_url.clone(),
        worker: worker.as_ref().map(|w| w.info().clone()),
        apps: vec![mounted_app(PHOTOS_PATH)],
    };
    let photos = Photos::new(&backends, photos_config(&args, &ctx.file)?);
    let app = celeriac_photos::mount(celeriac_server::router(state), PHOTOS_PATH, photos);
    let broker_url = backends.broker_url.clone();
    let server = celeriac_server::serve_router(bind, app, shutdown.clone(), move |addr| {
        println!("Celeriac is serving on http://{addr}/  (broker: {broker_url})");
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

//! `celeriac serve`: a worker and the HTTP server in one process.

use std::net::SocketAddr;

use celeriac::{builtins, shutdown_on_signals, Worker};
use celeriac_server::ServerState;

use super::Context;
use crate::cli::ServeArgs;
use crate::config::worker_config;

const DEFAULT_BIND: &str = "127.0.0.1:8080";

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
        let config = worker_config(&args.worker, &ctx.file)?;
        Some(Worker::new(
            backends.broker.clone(),
            backends.backend.clone(),
            builtins::registry(),
            config,
        ))
    };
    let state = ServerState {
        broker: backends.broker.clone(),
        backend: backends.backend.clone(),
        broker_url: backends.broker_url.clone(),
        worker: worker.as_ref().map(|w| w.info().clone()),
    };
    let broker_url = backends.broker_url.clone();
    let server = celeriac_server::serve(bind, state, shutdown.clone(), move |addr| {
        println!("Celeriac is serving on http://{addr}/  (broker: {broker_url})");
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

//! The server under test, run in a child process: the photo app in one of
//! the three modes, on a fresh embedded store, until its standard input
//! closes (the load tool has finished with it, or died).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;

use axum::Router;
use celeriac::{Backends, Worker, WorkerConfig};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;

use super::Mode;
use crate::config::{Execution, PhotosConfig};
use crate::{mount, tasks, Photos};

/// Runs the server in `mode` on a store in `dir`; prints `listening ADDR`
/// on standard output once it accepts connections.
///
/// # Errors
///
/// When the store cannot be opened or the server cannot start.
pub fn run_server(mode: Mode, dir: &Path) -> Result<(), String> {
    let url = format!("sqlite://{}", dir.join("load.db").display());
    let backends = celeriac::connect(Some(&url), None).map_err(|e| e.to_string())?;
    let execution = match mode {
        Mode::Workers => Execution::Dispatch,
        Mode::SingleThread | Mode::ThreadPerRequest => Execution::Inline,
    };
    let config = PhotosConfig {
        execution,
        ..PhotosConfig::default()
    };
    let app = mount(Router::new(), "/photos", Photos::new(&backends, config));
    exit_when_stdin_closes();
    match mode {
        Mode::SingleThread => single_thread(app),
        Mode::ThreadPerRequest => thread_per_request(app),
        Mode::Workers => with_workers(app, &backends),
    }
}

/// The parent holds our stdin: when it closes, we are done.
fn exit_when_stdin_closes() {
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        while matches!(std::io::stdin().read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
}

fn announce(addr: SocketAddr) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening {addr}");
    let _ = out.flush();
}

async fn serve_axum(app: Router) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    announce(listener.local_addr().map_err(|e| e.to_string())?);
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

/// (a): one thread does everything.
fn single_thread(app: Router) -> Result<(), String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(serve_axum(app))
}

/// (b): every connection gets its own OS thread (and a one-thread runtime
/// to run the same handlers on).
fn thread_per_request(app: Router) -> Result<(), String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    announce(listener.local_addr().map_err(|e| e.to_string())?);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let app = app.clone();
        let spawned = std::thread::Builder::new().spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if stream.set_nonblocking(true).is_err() {
                    return;
                }
                let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
                    return;
                };
                let service = TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        });
        if let Err(e) = spawned {
            eprintln!("cannot start a thread for a connection: {e}");
        }
    }
    Ok(())
}

/// (c): the multi-threaded runtime serves; a worker in the same process
/// runs detection on a cpu pool that leaves one core to the server — the
/// composition of `celeriac serve`.
fn with_workers(app: Router, backends: &Backends) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let defaults = WorkerConfig::default();
    let config = WorkerConfig {
        cpu_threads: defaults.cpu_threads.saturating_sub(1).max(1),
        ..defaults
    };
    let worker = Worker::new(
        backends.broker.clone(),
        backends.backend.clone(),
        tasks::registry(),
        config,
    )
    .with_resources(backends.resources());
    runtime.block_on(async move {
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(worker.run(stop));
        serve_axum(app).await
    })
}

//! The photo app on its own: the web server and a worker in one process,
//! on the per-user embedded store (or `CELERIAC_BROKER_URL`).
//!
//! ```sh
//! cargo run --release -p celeriac-photos --example photo-faces            # http://127.0.0.1:8090/photos/
//! cargo run --release -p celeriac-photos --example photo-faces -- 0.0.0.0:9000
//! ```
//!
//! `celeriac serve` runs the same app at `/photos`, beside its status page.

use std::net::SocketAddr;

use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use celeriac::{shutdown_on_signals, App, WorkerConfig};
use celeriac_photos::{mount, tasks, Photos, PhotosConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bind: SocketAddr = std::env::args().nth(1).as_deref().unwrap_or("127.0.0.1:8090").parse()?;
    let mut builder = App::builder().tasks(&tasks::registry());
    if let Ok(url) = std::env::var("CELERIAC_BROKER_URL") {
        builder = builder.broker(url);
    }
    let app = builder.build()?;

    // The worker's cpu pool leaves a core to the web server, so pages stay
    // fast while photos are analysed. App::worker hands the tasks the
    // store's blobs.
    let defaults = WorkerConfig::default();
    let config = WorkerConfig {
        cpu_threads: defaults.cpu_threads.saturating_sub(1).max(1),
        ..defaults
    };
    let shutdown = shutdown_on_signals();
    let worker = tokio::spawn(app.worker(config).run(shutdown.clone()));

    let photos = Photos::new(app.backends(), PhotosConfig::default());
    let routes = mount(
        Router::new().route("/", get(|| async { Redirect::to("/photos/") })),
        "/photos",
        photos,
    );
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!(
        "Photo faces on http://{}/photos/  (broker: {})",
        listener.local_addr()?,
        app.backends().broker_url
    );
    let stop = shutdown.clone();
    axum::serve(listener, routes)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await?;
    shutdown.cancel();
    worker.await??;
    Ok(())
}

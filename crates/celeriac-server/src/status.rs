//! `/`: what this server runs, and `/health`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Json};
use serde_json::json;

use crate::html::escape;
use crate::ServerState;

/// The front page: broker, queues and workers, in plain HTML.
pub(crate) async fn index(State(state): State<ServerState>) -> impl IntoResponse {
    let caps = state.broker.capabilities();
    let mut page = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Celeriac</title>\
         <style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}\
         table{border-collapse:collapse}td,th{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}\
         code{background:#f4f4f4;padding:0 .25rem}\
         .apps a{display:block;padding:1rem 1.25rem;margin:.5rem 0;border:2px solid #2a7;border-radius:.5rem;\
         text-decoration:none;color:#222;font-size:1.2rem}.apps a:hover{background:#efe}\
         .apps span{display:block;font-size:.95rem;color:#555}</style></head><body><h1>Celeriac</h1>",
    );
    page.push_str(&apps(&state.apps));
    page.push_str(&format!(
        "<p>Broker: <code>{}</code> ({}). Results: {}.</p>",
        escape(&state.broker_url),
        escape(caps.backend),
        escape(state.backend.capabilities().backend),
    ));
    match &state.worker {
        Some(w) => page.push_str(&format!(
            "<p>This server also runs a worker: <code>{}</code>, queues {}, concurrency {}.</p>",
            escape(&w.id),
            escape(&w.queues.join(", ")),
            w.concurrency
        )),
        None => page.push_str("<p>This server runs no worker of its own.</p>"),
    }
    page.push_str("<h2>Queues</h2>");
    match state.broker.stats().await {
        Ok(stats) if stats.is_empty() => page.push_str("<p>No queue has been used yet.</p>"),
        Ok(stats) => {
            page.push_str(
                "<table><tr><th>queue</th><th>ready</th><th>in flight</th><th>delayed</th><th>dead</th></tr>",
            );
            for s in stats {
                page.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&s.queue),
                    s.ready,
                    s.in_flight,
                    s.delayed,
                    s.dead
                ));
            }
            page.push_str("</table>");
        }
        Err(e) => page.push_str(&format!(
            "<p>Queue statistics unavailable: {}</p>",
            escape(&e.to_string())
        )),
    }
    page.push_str("<h2>Workers</h2>");
    match state.broker.workers().await {
        Ok(workers) if workers.is_empty() => page.push_str("<p>No worker has registered.</p>"),
        Ok(workers) => {
            page.push_str("<table><tr><th>worker</th><th>alive</th><th>queues</th><th>concurrency</th><th>holding</th><th>last heartbeat</th></tr>");
            for w in workers {
                page.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&w.info.id),
                    if w.alive { "yes" } else { "no" },
                    escape(&w.info.queues.join(", ")),
                    w.info.concurrency,
                    w.in_flight,
                    escape(&w.last_heartbeat.to_rfc3339())
                ));
            }
            page.push_str("</table>");
        }
        Err(e) => page.push_str(&format!(
            "<p>Worker registry unavailable: {}</p>",
            escape(&e.to_string())
        )),
    }
    page.push_str(
        "<p>Send a task from another shell: <code>celeriac call celeriac.add --args '[2,3]' --wait</code>. \
         Health check: <a href=\"/health\">/health</a>.</p></body></html>",
    );
    Html(page)
}

/// Links to the mounted apps, first on the page.
fn apps(apps: &[crate::MountedApp]) -> String {
    if apps.is_empty() {
        return String::new();
    }
    let mut html = String::from("<nav class=\"apps\">");
    for app in apps {
        html.push_str(&format!(
            "<a href=\"{}\"><strong>{}</strong> →<span>{}</span></a>",
            escape(&app.path),
            escape(&app.title),
            escape(&app.description)
        ));
    }
    html.push_str("</nav>");
    html
}

/// `/health`: 200 when the broker answers, 503 otherwise.
pub(crate) async fn health(State(state): State<ServerState>) -> impl IntoResponse {
    match state.broker.stats().await {
        Ok(stats) => (
            StatusCode::OK,
            Json(json!({
                "status": "ok",
                "broker": state.broker.capabilities().backend,
                "queues": stats.len(),
            })),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": e.to_string()})),
        ),
    }
}

//! What a worker does with a remote-control command (Celery's pidbox
//! methods), and its reply.

use std::time::Duration;

use celeriac_core::control::ControlCommand;
use serde_json::{json, Value};

use crate::shared::Shared;

/// How long a revocation received by remote control is remembered.
const REVOKE_TTL: Duration = Duration::from_secs(3 * 3600);

/// Acts on `command` if it is for this worker, and replies when asked.
pub(crate) async fn handle(shared: &Shared, command: ControlCommand) {
    let me = shared.config.hostname.as_str();
    if !command.is_for(me) {
        return;
    }
    let reply = match command.method.as_str() {
        "ping" => json!({"ok": "pong"}),
        "revoke" => revoke(shared, &command).await,
        "cancel_consumer" => match command.str_argument("queue") {
            Some(queue) => {
                if let Ok(mut c) = shared.consumers.lock() {
                    if !c.cancelled.iter().any(|q| q == queue) {
                        c.cancelled.push(queue.to_owned());
                    }
                }
                tracing::info!(%queue, "stopped consuming on remote control");
                json!({"ok": format!("no longer consuming from {queue}")})
            }
            None => json!({"error": "cancel_consumer needs a queue"}),
        },
        "add_consumer" => match command.str_argument("queue") {
            Some(queue) => {
                if let Ok(mut c) = shared.consumers.lock() {
                    c.cancelled.retain(|q| q != queue);
                    if !shared.config.queues.iter().any(|q| q == queue) && !c.added.iter().any(|q| q == queue) {
                        c.added.push(queue.to_owned());
                    }
                }
                tracing::info!(%queue, "consuming on remote control");
                json!({"ok": format!("add consumer {queue}")})
            }
            None => json!({"error": "add_consumer needs a queue"}),
        },
        "active_queues" => Value::Array(
            shared
                .active_queues()
                .into_iter()
                .map(|q| json!({"name": q, "routing_key": q, "exchange": {"name": q, "type": "direct"}}))
                .collect(),
        ),
        other => {
            tracing::debug!(method = other, "remote-control method not supported");
            json!({"error": format!("unsupported remote-control method `{other}`")})
        }
    };
    if command.reply_to.is_some() {
        if let Err(e) = shared.broker.reply_control(&command, me, reply).await {
            tracing::warn!(error = %e, "could not reply to a remote-control command");
        }
    }
}

/// `revoke`: recorded in the broker (so every Celeriac worker skips the
/// task), and with `terminate` a run of it here is stopped.
async fn revoke(shared: &Shared, command: &ControlCommand) -> Value {
    let ids = command.task_ids();
    for id in &ids {
        if let Err(e) = shared.broker.revoke(id, REVOKE_TTL).await {
            tracing::warn!(task_id = %id, error = %e, "could not record a revocation");
        }
        if command.terminate() {
            shared.terminable.terminate(id);
        }
    }
    json!({"ok": format!("tasks {} flagged as revoked", ids.join(", "))})
}

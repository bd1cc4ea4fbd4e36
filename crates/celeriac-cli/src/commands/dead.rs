//! `celeriac dead list|retry|drop`.

use anyhow::bail;
use celeriac::DeadSelector;
use serde_json::json;

use super::Context;
use crate::cli::{DeadAction, DeadSelect};

fn selector(select: &DeadSelect) -> anyhow::Result<DeadSelector> {
    match (&select.id, select.all, &select.queue) {
        (Some(id), false, None) => Ok(DeadSelector::Id(id.clone())),
        (None, true, None) => Ok(DeadSelector::All),
        (None, false, Some(q)) => Ok(DeadSelector::Queue(q.clone())),
        _ => bail!("name one entry id, or --queue Q, or --all"),
    }
}

/// The task name inside a dead letter, if its message decodes that far.
fn task_name(payload: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| v["headers"]["task"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

pub async fn run(ctx: Context, action: DeadAction) -> anyhow::Result<()> {
    let backends = ctx.connect()?;
    match action {
        DeadAction::List { queue, limit, json } => {
            let dead = backends.broker.dead_letters(queue.as_deref(), limit).await?;
            if json {
                let out: Vec<_> = dead
                    .iter()
                    .map(|d| {
                        json!({
                            "id": d.id, "queue": d.queue, "task_id": d.task_id, "task": task_name(&d.payload),
                            "reason": d.reason, "deliveries": d.deliveries, "dead_at": d.dead_at.to_rfc3339(),
                            "payload": String::from_utf8_lossy(&d.payload),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else if dead.is_empty() {
                println!("no dead letters");
            } else {
                println!("{:<8} {:<16} {:<24} {:<38} REASON", "ID", "QUEUE", "TASK", "TASK ID");
                for d in &dead {
                    println!(
                        "{:<8} {:<16} {:<24} {:<38} {}",
                        d.id,
                        d.queue,
                        task_name(&d.payload),
                        d.task_id.as_deref().unwrap_or("-"),
                        d.reason
                    );
                }
            }
        }
        DeadAction::Retry(select) => {
            let n = backends.broker.retry_dead(&selector(&select)?).await?;
            println!("returned {n} dead letter(s) to their queues");
        }
        DeadAction::Drop(select) => {
            let n = backends.broker.drop_dead(&selector(&select)?).await?;
            println!("dropped {n} dead letter(s)");
        }
    }
    Ok(())
}

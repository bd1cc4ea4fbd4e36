//! `celeriac inspect`: queues and workers.

use serde_json::json;

use super::Context;
use crate::cli::InspectArgs;

pub async fn run(ctx: Context, args: InspectArgs) -> anyhow::Result<()> {
    let backends = ctx.connect()?;
    let stats = backends.broker.stats().await?;
    let workers = backends.broker.workers().await?;
    let caps = backends.broker.capabilities();
    if args.json {
        let out = json!({
            "broker": backends.broker_url,
            "capabilities": {
                "backend": caps.backend,
                "priority_levels": caps.priority_levels,
                "priority_order": caps.priority_order,
                "delayed_delivery": caps.delayed_delivery,
                "dead_letters": caps.dead_letters,
                "multi_process": caps.multi_process,
                "survives_process_kill": caps.survives_process_kill,
                "survives_power_loss": caps.survives_power_loss,
                "push_wakeup": caps.push_wakeup,
            },
            "queues": stats.iter().map(|s| json!({
                "queue": s.queue, "ready": s.ready, "in_flight": s.in_flight, "delayed": s.delayed, "dead": s.dead,
            })).collect::<Vec<_>>(),
            "workers": workers.iter().map(|w| json!({
                "id": w.info.id, "alive": w.alive, "hostname": w.info.hostname, "pid": w.info.pid,
                "queues": w.info.queues, "concurrency": w.info.concurrency, "prefetch": w.info.prefetch,
                "in_flight": w.in_flight, "last_heartbeat": w.last_heartbeat.to_rfc3339(),
                "tasks": w.info.tasks,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "broker: {} ({}; priorities: {})",
        backends.broker_url, caps.backend, caps.priority_order
    );
    println!();
    if stats.is_empty() {
        println!("no queues yet");
    } else {
        println!(
            "{:<24} {:>10} {:>10} {:>10} {:>10}",
            "QUEUE", "READY", "IN FLIGHT", "DELAYED", "DEAD"
        );
        for s in &stats {
            println!(
                "{:<24} {:>10} {:>10} {:>10} {:>10}",
                s.queue, s.ready, s.in_flight, s.delayed, s.dead
            );
        }
    }
    println!();
    if workers.is_empty() {
        println!("no workers registered");
    } else {
        println!(
            "{:<44} {:>6} {:>6} {:>8}  {:<20} LAST HEARTBEAT",
            "WORKER", "ALIVE", "CONC", "HOLDING", "QUEUES"
        );
        for w in &workers {
            println!(
                "{:<44} {:>6} {:>6} {:>8}  {:<20} {}",
                w.info.id,
                if w.alive { "yes" } else { "no" },
                w.info.concurrency,
                w.in_flight,
                w.info.queues.join(","),
                w.last_heartbeat.format("%Y-%m-%d %H:%M:%S UTC")
            );
        }
    }
    Ok(())
}

//! `celeriac call`: send a task by name.

use std::time::Duration;

use anyhow::{bail, Context as _};
use celeriac::{ResultError, Signature};
use serde_json::Value;

use super::{print_value, Context};
use crate::cli::CallArgs;

pub async fn run(ctx: Context, args: CallArgs) -> anyhow::Result<()> {
    let positional: Value = serde_json::from_str(&args.args).context("--args is not valid JSON")?;
    let Value::Array(positional) = positional else {
        bail!("--args must be a JSON array, e.g. '[2, 3]'");
    };
    let keywords: Value = serde_json::from_str(&args.kwargs).context("--kwargs is not valid JSON")?;
    let Value::Object(keywords) = keywords else {
        bail!("--kwargs must be a JSON object, e.g. '{{\"x\": 1}}'");
    };
    let mut sig = Signature::new(args.task.clone());
    sig.args = positional;
    sig.kwargs = keywords;
    if let Some(c) = args.countdown {
        if !(c.is_finite() && c >= 0.0) {
            bail!("--countdown must be a non-negative number of seconds");
        }
        sig = sig.countdown(Duration::from_secs_f64(c));
    }
    if let Some(eta) = &args.eta {
        let eta = celeriac::protocol::time::parse_iso8601(eta).map_err(|e| anyhow::anyhow!("--eta: {e}"))?;
        sig = sig.eta(eta);
    }
    if let Some(e) = args.expires {
        if !(e.is_finite() && e >= 0.0) {
            bail!("--expires must be a non-negative number of seconds");
        }
        sig = sig.expires_in(Duration::from_secs_f64(e));
    }
    if let Some(p) = args.priority {
        sig = sig.priority(p);
    }
    if let Some(q) = &args.queue {
        sig = sig.queue(q.clone());
    }
    let (client, backends) = ctx.client()?;
    if !args.force {
        check_known(&backends, &args.task).await?;
    }
    let result = client.send(sig).await.context("could not send the task")?;
    if !args.wait {
        println!("{}", result.id());
        return Ok(());
    }
    let timeout = Duration::from_secs_f64(args.timeout.max(0.0));
    match result.get(timeout).await {
        Ok(value) => {
            print_value(&value);
            Ok(())
        }
        Err(ResultError::Timeout { id, state, .. }) => {
            bail!(
                "task {id} did not finish within {}s (state {state}); read it later with `celeriac result {id}`",
                args.timeout
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// Refuses a task name no live worker registers (unless no worker is live:
/// then the task simply waits for one).
async fn check_known(backends: &celeriac::Backends, task: &str) -> anyhow::Result<()> {
    let workers = backends
        .broker
        .workers()
        .await
        .context("could not read the worker registry")?;
    let live: Vec<_> = workers.iter().filter(|w| w.alive).collect();
    if live.is_empty() {
        eprintln!("note: no worker is running; the task waits in the queue until one starts");
        return Ok(());
    }
    if live.iter().any(|w| w.info.tasks.iter().any(|t| t == task)) {
        return Ok(());
    }
    let mut known: Vec<&str> = live
        .iter()
        .flat_map(|w| w.info.tasks.iter().map(String::as_str))
        .collect();
    known.sort_unstable();
    known.dedup();
    bail!(
        "unknown task `{task}`: no running worker registers it (known: {}); use --force to send it anyway",
        known.join(", ")
    )
}

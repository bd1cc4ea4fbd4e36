//! `celeriac result`.

use std::time::Duration;

use anyhow::bail;
use celeriac::TaskState;

use super::{print_value, Context};
use crate::cli::ResultArgs;

pub async fn run(ctx: Context, args: ResultArgs) -> anyhow::Result<()> {
    let backends = ctx.connect()?;
    let record = if args.wait {
        backends
            .backend
            .wait(&args.id, Duration::from_secs_f64(args.timeout.max(0.0)))
            .await?
    } else {
        backends.backend.get(&args.id).await?
    };
    let Some(record) = record else {
        if args.wait {
            bail!(
                "task {} has no result after {}s (PENDING: unknown, waiting or expired)",
                args.id,
                args.timeout
            );
        }
        println!("PENDING");
        return Ok(());
    };
    match record.state {
        TaskState::Success => print_value(&record.result),
        TaskState::Failure | TaskState::Revoked => {
            let error = record.exception();
            let detail = error.map_or_else(
                || record.result.to_string(),
                |e| format!("{}: {}", e.exc_type, e.message()),
            );
            bail!("task {} {}: {detail}", args.id, record.state);
        }
        ref other => {
            if args.wait {
                bail!("task {} is still {other} after {}s", args.id, args.timeout);
            }
            println!("{other} {}", record.result);
        }
    }
    Ok(())
}

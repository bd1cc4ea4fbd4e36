//! `celeriac purge`.

use super::Context;
use crate::cli::PurgeArgs;

pub async fn run(ctx: Context, args: PurgeArgs) -> anyhow::Result<()> {
    let backends = ctx.connect()?;
    let n = backends.broker.purge(&args.queue).await?;
    println!("purged {n} message(s) from {}", args.queue);
    Ok(())
}

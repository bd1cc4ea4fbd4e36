//! `celeriac revoke`.

use std::time::Duration;

use super::Context;
use crate::cli::RevokeArgs;

pub async fn run(ctx: Context, args: RevokeArgs) -> anyhow::Result<()> {
    let (client, _) = ctx.client()?;
    client.revoke(&args.id, Duration::from_secs(86_400)).await?;
    println!("revoked {} (it will not start; a running task finishes)", args.id);
    Ok(())
}

//! The fleet's scheduler and sweeper: promotes due delayed messages and
//! returns the messages of Celeriac workers whose heartbeat key expired.
//! Every store runs the loop; a lock with expiry lets one act at a time.

use std::sync::Weak;
use std::time::{Duration, Instant};

use redis::AsyncCommands as _;

use crate::store::{now_ms, to_broker_error, Shared};

/// How long the lock lasts without renewal (a dead holder is replaced after).
const LOCK_TTL: Duration = Duration::from_secs(3);
/// How often the holder looks for due messages (ETA precision).
const TICK: Duration = Duration::from_millis(25);
/// How often it looks for dead workers.
const SWEEP_EVERY: Duration = Duration::from_millis(1_000);

/// Takes the lock, or keeps it if this process already holds it.
async fn hold_lock(shared: &Shared, token: &str) -> Result<bool, redis::RedisError> {
    let mut conn = shared.conn();
    let script = redis::Script::new(
        "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end \
         if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end \
         return 0",
    );
    let held: i64 = script
        .key(&shared.keys.maintenance_lock)
        .arg(token)
        .arg(LOCK_TTL.as_millis() as u64)
        .invoke_async(&mut conn)
        .await?;
    Ok(held == 1)
}

/// Promotes due messages; returns when the next one is due (ms), if any.
pub(crate) async fn promote(shared: &Shared) -> Result<Option<i64>, celeriac_core::BrokerError> {
    let mut conn = shared.conn();
    loop {
        let out: Vec<redis::Value> = shared
            .scripts
            .promote
            .key(&shared.keys.delayed)
            .key(&shared.keys.delayed_msgs)
            .key(&shared.keys.delayed_count)
            .arg(now_ms())
            .arg(1000)
            .invoke_async(&mut conn)
            .await
            .map_err(to_broker_error)?;
        let moved: i64 = out
            .first()
            .and_then(|v| redis::from_redis_value(v.clone()).ok())
            .unwrap_or(0);
        let next: i64 = out
            .get(1)
            .and_then(|v| redis::from_redis_value(v.clone()).ok())
            .unwrap_or(-1);
        for queue in out.iter().skip(2) {
            if let Ok(queue) = redis::from_redis_value::<String>(queue.clone()) {
                let _: Result<i64, _> = conn.publish(shared.keys.wake_channel(&queue), "due").await;
            }
        }
        if moved < 1000 {
            return Ok((next >= 0).then_some(next));
        }
    }
}

/// Returns the messages of every registered worker whose heartbeat expired.
pub(crate) async fn sweep(shared: &Shared) -> Result<u64, celeriac_core::BrokerError> {
    let mut conn = shared.conn();
    let workers: Vec<(String, String)> = conn.hgetall(&shared.keys.workers).await.map_err(to_broker_error)?;
    let mut returned = 0;
    for (id, record) in workers {
        let alive: bool = conn.exists(shared.keys.heartbeat(&id)).await.map_err(to_broker_error)?;
        if alive {
            continue;
        }
        returned += crate::broker::release_owner(shared, &id).await?;
        let queues: Vec<String> = serde_json::from_str::<serde_json::Value>(&record)
            .ok()
            .and_then(|v| serde_json::from_value(v["info"]["queues"].clone()).ok())
            .unwrap_or_default();
        for queue in queues {
            let _: Result<i64, _> = conn.publish(shared.keys.wake_channel(&queue), "returned").await;
        }
        tracing::warn!(worker = %id, "a Celeriac worker stopped heartbeating; its messages went back to their queues");
    }
    Ok(returned)
}

pub(crate) async fn run(weak: Weak<Shared>) {
    let token = uuid::Uuid::new_v4().to_string();
    let mut last_sweep = Instant::now() - SWEEP_EVERY;
    loop {
        let Some(shared) = weak.upgrade() else { return };
        let mut pause = TICK;
        match hold_lock(&shared, &token).await {
            Ok(true) => {
                match promote(&shared).await {
                    Ok(Some(next)) => {
                        let until = Duration::from_millis(u64::try_from(next - now_ms()).unwrap_or(0));
                        pause = pause.min(until.max(Duration::from_millis(1)));
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "promoting delayed messages failed"),
                }
                if last_sweep.elapsed() >= SWEEP_EVERY {
                    last_sweep = Instant::now();
                    if let Err(e) = sweep(&shared).await {
                        tracing::warn!(error = %e, "sweeping dead workers failed");
                    }
                }
            }
            Ok(false) => pause = LOCK_TTL / 3,
            Err(e) => {
                tracing::debug!(error = %e, "maintenance lock unavailable");
                pause = Duration::from_millis(500);
            }
        }
        drop(shared);
        tokio::time::sleep(pause).await;
    }
}

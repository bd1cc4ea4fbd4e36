//! Fetching a batch of messages in three round trips, whatever its size,
//! with native commands only: moving ~1 KB envelopes through a Lua script
//! costs several microseconds each, which was most of Redis's time.
//!
//! 1. renew the heartbeat; read the lists' lengths;
//! 2. move up to `max` messages with `LMOVE`s into the consumer's staging
//!    lists, most urgent lists first — from here a crash loses nothing: the
//!    sweeper returns a dead consumer's staging lists, and the consumer's
//!    next fetch returns those of a fetch cut short;
//! 3. one MULTI files them as kombu does (an `unacked` entry and an
//!    `unacked_index` time), or in the delayed set when their ETA is ahead,
//!    writes Celeriac's lease records, reads how often returned messages
//!    were delivered before, and empties the staging lists.
//!
//! Each delivery is filed under its own field, `<kombu tag>#<lease id>`,
//! never reused: two copies of one message cannot overwrite each other's
//! entry (kombu's would), and a late acknowledgement of a delivery that was
//! since returned and delivered again finds nothing to delete.

use celeriac_core::{BrokerError, Delivery, DeliveryTag, FetchRequest};
use chrono::Utc;

use crate::envelope;
use crate::store::{now_ms, now_secs, to_broker_error, Shared};

type Res<T> = Result<T, BrokerError>;

/// A message moved to staging: its envelope, source list and queue.
struct Staged {
    env: Vec<u8>,
    /// kombu's delivery tag ("" when it has none) and the task id, read
    /// once from the envelope.
    kombu_tag: String,
    task_id: Option<String>,
    list: String,
    queue: String,
    /// Due time (ms) when its ETA is still ahead.
    due: Option<i64>,
}

fn bad_reply(e: &dyn std::fmt::Display) -> BrokerError {
    BrokerError::Internal(format!("unexpected reply from Redis while fetching: {e}"))
}

/// Leases up to `request.max` messages from `lists` (list key, queue; most
/// urgent first) for `request.consumer`.
pub(crate) async fn fetch_batch(
    shared: &Shared,
    request: &FetchRequest<'_>,
    lists: &[(String, String)],
) -> Res<Vec<Delivery>> {
    let lock = shared.fetch_lock(request.consumer);
    let _one_at_a_time = lock.lock().await;
    let mut conn = shared.conn();
    let (revocations, lengths) = look(shared, request, lists, &mut conn).await?;
    let staged = stage(shared, request, lists, &lengths, &mut conn).await?;
    if staged.is_empty() {
        return Ok(Vec::new());
    }
    file(shared, request.consumer, staged, revocations, &mut conn).await
}

/// Step 1: heartbeat, registration, and how many messages each list has.
/// Returns whether any task is revoked and the lengths. A fetch of this
/// consumer cut short earlier is undone first.
async fn look(
    shared: &Shared,
    request: &FetchRequest<'_>,
    lists: &[(String, String)],
    conn: &mut redis::aio::ConnectionManager,
) -> Res<(bool, Vec<usize>)> {
    let keys = &shared.keys;
    let owner = request.consumer;
    let registry = keys.staging_registry(owner);
    loop {
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(keys.heartbeat(owner))
            .arg(format!("{:.6}", now_secs()))
            .arg("PX")
            .arg(i64::try_from(request.lease.as_millis()).unwrap_or(i64::MAX))
            .ignore();
        pipe.cmd("HSETNX")
            .arg(&keys.workers)
            .arg(owner)
            .arg(r#"{"info":null}"#)
            .ignore();
        pipe.cmd("ZCARD").arg(&keys.revoked);
        pipe.cmd("EXISTS").arg(&registry);
        for (list, _) in lists {
            pipe.cmd("LLEN").arg(list);
        }
        let counts: Vec<i64> = pipe.query_async(conn).await.map_err(to_broker_error)?;
        let [revoked, unfinished, lengths @ ..] = counts.as_slice() else {
            return Err(bad_reply(&"fewer replies than commands"));
        };
        if *unfinished == 0 {
            let lengths = lengths.iter().map(|n| usize::try_from(*n).unwrap_or(0)).collect();
            return Ok((*revoked > 0, lengths));
        }
        let returned: i64 = shared
            .scripts
            .unstage
            .key(&registry)
            .invoke_async(conn)
            .await
            .map_err(to_broker_error)?;
        tracing::warn!(returned, "returned the messages of a fetch that was cut short");
    }
}

/// Step 2: moves up to `max` messages into staging lists, in list order.
async fn stage(
    shared: &Shared,
    request: &FetchRequest<'_>,
    lists: &[(String, String)],
    lengths: &[usize],
    conn: &mut redis::aio::ConnectionManager,
) -> Res<Vec<Staged>> {
    let keys = &shared.keys;
    let mut left = request.max;
    let mut plan = Vec::new();
    for ((list, queue), len) in lists.iter().zip(lengths) {
        let take = (*len).min(left);
        if take > 0 {
            plan.push((list, queue, take));
            left -= take;
        }
    }
    if plan.is_empty() {
        return Ok(Vec::new());
    }
    let registry = keys.staging_registry(request.consumer);
    let mut pipe = redis::pipe();
    for (list, _, _) in &plan {
        pipe.cmd("HSET")
            .arg(&registry)
            .arg(keys.staging_list(request.consumer, list))
            .arg(list.as_str())
            .ignore();
    }
    for (list, _, take) in &plan {
        let staging = keys.staging_list(request.consumer, list);
        for _ in 0..*take {
            pipe.cmd("LMOVE")
                .arg(list.as_str())
                .arg(&staging)
                .arg("RIGHT")
                .arg("LEFT");
        }
    }
    let moved: Vec<Option<Vec<u8>>> = pipe.query_async(conn).await.map_err(to_broker_error)?;
    let now = Utc::now();
    let mut out = Vec::with_capacity(moved.len());
    let mut replies = moved.into_iter();
    for (list, queue, take) in plan {
        for env in replies.by_ref().take(take).flatten() {
            let due = envelope::eta(&env)
                .filter(|eta| *eta > now)
                .map(|eta| eta.timestamp_millis());
            out.push(Staged {
                kombu_tag: envelope::field(&env, "delivery_tag").unwrap_or("").to_owned(),
                task_id: envelope::field(&env, "id").map(str::to_owned),
                env,
                list: list.clone(),
                queue: queue.clone(),
                due,
            });
        }
    }
    if out.is_empty() {
        // Other consumers took them first; nothing is staged.
        let _: i64 = redis::cmd("DEL")
            .arg(&registry)
            .query_async(conn)
            .await
            .map_err(to_broker_error)?;
    }
    Ok(out)
}

/// kombu's `unacked_index` score for a delivery now: whole seconds (see
/// [`file`]); the heartbeat renews scores in the same unit.
pub(crate) fn delivery_time() -> i64 {
    now_secs() as i64
}

/// A delivery's field in `unacked` (and its tag): kombu's delivery tag,
/// `#`, and a lease id no other delivery has.
fn delivery_field(kombu_tag: &str, lease_id: &str) -> String {
    format!("{kombu_tag}#{lease_id}")
}

/// Step 3: files every message as held or delayed, in one transaction, and
/// returns the held ones.
async fn file(
    shared: &Shared,
    owner: &str,
    staged: Vec<Staged>,
    revocations: bool,
    conn: &mut redis::aio::ConnectionManager,
) -> Res<Vec<Delivery>> {
    let keys = &shared.keys;
    let lease_prefix = format!(
        "{}.{}.",
        shared.instance,
        shared.fetches.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    // The order in which the owner received its messages: a base that grows
    // with every fetch, then the position in the batch.
    let order_base = format!("{:013}", shared.next_order_base());
    let mut entries = redis::cmd("HSET");
    entries.arg(&keys.unacked);
    let mut index = redis::cmd("ZADD");
    index.arg(&keys.unacked_index);
    let mut leases = redis::cmd("HSET");
    leases.arg(&keys.leases);
    let mut revoked = redis::cmd("ZMSCORE");
    revoked.arg(&keys.revoked);
    let mut delayed = redis::cmd("ZADD");
    delayed.arg(&keys.delayed);
    let mut delayed_msgs = redis::cmd("HSET");
    delayed_msgs.arg(&keys.delayed_msgs);
    let mut delayed_per_queue: std::collections::BTreeMap<&str, i64> = Default::default();
    let mut pipe = redis::pipe();
    pipe.atomic();
    // Deliveries counted before (returned messages): read for the held
    // messages with a tag, in one HMGET.
    let mut counts = redis::cmd("HMGET");
    counts.arg(&keys.deliveries);
    let mut held: Vec<(String, bool)> = Vec::new();
    for (i, m) in staged.iter().enumerate() {
        let f = delivery_field(&m.kombu_tag, &format!("{lease_prefix}{i}"));
        match m.due {
            None => {
                entries.arg(&f).arg(envelope::unacked_entry(&m.env, &m.queue));
                leases.arg(&f).arg(format!("{owner} {order_base}{i:05}"));
                revoked.arg(m.task_id.as_deref().unwrap_or(""));
                if !m.kombu_tag.is_empty() {
                    counts.arg(&m.kombu_tag);
                }
                held.push((f, !m.kombu_tag.is_empty()));
            }
            Some(due) => {
                delayed.arg(due).arg(&f);
                delayed_msgs
                    .arg(&f)
                    .arg(envelope::delayed_entry(&m.env, &m.list, &m.queue));
                *delayed_per_queue.entry(m.queue.as_str()).or_default() += 1;
            }
        }
    }
    // kombu reads the score as the delivery time (seconds). Whole seconds,
    // with the fields in descending order, keep the insertion cheap while
    // the zset is small: Redis then keeps it as a sorted listpack, inserts by
    // scanning from the front, and compares float scores by parsing each
    // (a batch of 120 float scores took 1.5 ms; this order, 0.2 ms).
    let mut fields: Vec<&str> = held.iter().map(|(f, _)| f.as_str()).collect();
    fields.sort_unstable_by(|a, b| b.cmp(a));
    let score = delivery_time();
    for f in &fields {
        index.arg(score).arg(*f);
    }
    let counted = held.iter().filter(|(_, counted)| *counted).count();
    if counted > 0 {
        pipe.add_command(counts);
    }
    if revocations && !held.is_empty() {
        pipe.add_command(revoked);
    }
    if !held.is_empty() {
        pipe.add_command(entries).ignore();
        pipe.add_command(index).ignore();
        pipe.add_command(leases).ignore();
    }
    if !delayed_per_queue.is_empty() {
        pipe.add_command(delayed).ignore().add_command(delayed_msgs).ignore();
        for (queue, n) in delayed_per_queue {
            pipe.cmd("HINCRBY").arg(&keys.delayed_count).arg(queue).arg(n).ignore();
        }
    }
    let mut lists: Vec<&str> = staged.iter().map(|m| m.list.as_str()).collect();
    lists.dedup();
    let mut del = redis::cmd("DEL");
    del.arg(keys.staging_registry(owner));
    for list in lists {
        del.arg(keys.staging_list(owner, list));
    }
    pipe.add_command(del).ignore();
    let replies: Vec<redis::Value> = pipe.query_async(conn).await.map_err(to_broker_error)?;
    let mut replies = replies.iter();
    let before: Vec<Option<i64>> = match counted {
        0 => Vec::new(),
        _ => redis::from_redis_value_ref(replies.next().ok_or_else(|| bad_reply(&"no delivery counts"))?)
            .map_err(|e| bad_reply(&e))?,
    };
    let revoked_until: Vec<Option<f64>> = match replies.next() {
        Some(v) if revocations && !held.is_empty() => redis::from_redis_value_ref(v).map_err(|e| bad_reply(&e))?,
        _ => Vec::new(),
    };
    let now = now_ms() as f64;
    let mut before = before.into_iter();
    let mut out = Vec::with_capacity(held.len());
    let mut held = held.into_iter();
    for m in staged {
        if m.due.is_some() {
            continue;
        }
        let Some((f, counted)) = held.next() else { break };
        let deliveries = match counted {
            true => before.next().flatten().unwrap_or(0) + 1,
            false => 1,
        };
        let revoked = revoked_until
            .get(out.len())
            .copied()
            .flatten()
            .is_some_and(|until| until > now);
        out.push(Delivery {
            tag: DeliveryTag(f),
            task_id: m.task_id,
            queue: m.queue,
            payload: m.env,
            deliveries: u32::try_from(deliveries).unwrap_or(u32::MAX),
            revoked,
        });
    }
    Ok(out)
}

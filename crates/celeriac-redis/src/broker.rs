//! `Broker` for Redis, in kombu's layout.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use celeriac_core::{
    Broker, BrokerError, Capabilities, DeadLetter, DeadSelector, Delivery, DeliveryTag, FetchRequest, NewMessage,
    QueueStats, ResultBackend, TaskResult, WorkerInfo, WorkerStatus,
};
use chrono::{DateTime, TimeZone, Utc};
use redis::AsyncCommands as _;

use crate::config::EtaPublish;
use crate::results;
use crate::store::{now_ms, to_broker_error, RedisStore, Shared};

type Res<T> = Result<T, BrokerError>;

/// A delivery tag of this broker is the delivery's field in `unacked`:
/// kombu's delivery tag, `#`, and a lease id (see `fetch`).
pub(crate) fn delivery_field(t: &DeliveryTag) -> Res<&str> {
    if t.0.contains('#') {
        Ok(&t.0)
    } else {
        Err(BrokerError::Invalid(format!(
            "`{}` is not a delivery tag of this broker",
            t.0
        )))
    }
}

/// kombu's delivery tag within a delivery field, if the message had one.
pub(crate) fn kombu_tag(field: &str) -> Option<&str> {
    field.rsplit_once('#').map(|(tag, _)| tag).filter(|tag| !tag.is_empty())
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Returns every message leased by `owner` to its queue and forgets it.
pub(crate) async fn release_owner(shared: &Shared, owner: &str) -> Res<u64> {
    let mut conn = shared.conn();
    let n: i64 = shared
        .scripts
        .release_owner
        .key(&shared.keys.unacked)
        .key(&shared.keys.unacked_index)
        .key(&shared.keys.leases)
        .key(&shared.keys.workers)
        .key(shared.keys.heartbeat(owner))
        .key(shared.keys.staging_registry(owner))
        .key(&shared.keys.deliveries)
        .arg(owner)
        .arg(&shared.config.global_keyprefix)
        .arg(&shared.config.sep)
        .arg(shared.steps_arg())
        .invoke_async(&mut conn)
        .await
        .map_err(to_broker_error)?;
    Ok(n.max(0) as u64)
}

impl RedisStore {
    /// Declares kombu's bindings for queues not yet declared by this process
    /// (Celery clients and workers do the same).
    fn declare(&self, pipe: &mut redis::Pipeline, queues: &[&str]) {
        let Ok(mut declared) = self.shared.declared.lock() else {
            return;
        };
        for queue in queues {
            if declared.insert((*queue).to_owned()) {
                let (binding, permanent, member) = self.shared.keys.bindings(queue);
                pipe.sadd(binding, &member).ignore();
                pipe.sadd(permanent, &member).ignore();
                pipe.sadd(&self.shared.keys.queues, *queue).ignore();
            }
        }
    }

    /// Ids of dead letters chosen by `which`.
    async fn dead_ids(&self, which: &DeadSelector) -> Res<Vec<String>> {
        match which {
            DeadSelector::Id(id) => Ok(vec![id.clone()]),
            DeadSelector::All => self
                .shared
                .conn()
                .zrange(&self.shared.keys.dead_index, 0, -1)
                .await
                .map_err(to_broker_error),
            DeadSelector::Queue(q) => Ok(self
                .dead_letters(Some(q), usize::MAX)
                .await?
                .into_iter()
                .map(|d| d.id)
                .collect()),
        }
    }

    async fn dead_action(&self, which: &DeadSelector, action: &str) -> Res<u64> {
        let ids = self.dead_ids(which).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let mut invocation = self.shared.scripts.dead_retry.prepare_invoke();
        invocation
            .key(&self.shared.keys.dead)
            .key(&self.shared.keys.dead_index)
            .key(&self.shared.keys.dead_count)
            .key(&self.shared.keys.dead_payload)
            .arg(&self.shared.config.global_keyprefix)
            .arg(&self.shared.config.sep)
            .arg(self.shared.steps_arg())
            .arg(action);
        for id in &ids {
            invocation.arg(id);
        }
        let n: i64 = invocation
            .invoke_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        Ok(n.max(0) as u64)
    }
}

/// The routing key (queue) of an `unacked` entry, `[envelope, exchange,
/// routing key]`, read from its tail: the envelope may be any bytes.
fn unacked_queue(entry: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(entry);
    let body = text.trim_end().strip_suffix(']')?;
    let (_, last) = body.rsplit_once(", \"")?;
    serde_json::from_str(&format!("\"{last}")).ok()
}

#[async_trait]
impl Broker for RedisStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            backend: "redis",
            priority_levels: u8::try_from(self.shared.config.priority_steps.len()).unwrap_or(4),
            priority_order: "0-9 in kombu's buckets (steps 0, 3, 6, 9 by default), lower served first",
            delayed_delivery: true,
            dead_letters: true,
            multi_process: true,
            survives_process_kill: true,
            survives_power_loss: false,
            push_wakeup: true,
        }
    }

    async fn enqueue_many(&self, messages: Vec<NewMessage>) -> Res<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let mut pipe = redis::pipe();
        pipe.atomic();
        let queues: Vec<&str> = {
            let mut q: Vec<&str> = messages.iter().map(|m| m.queue.as_str()).collect();
            q.sort_unstable();
            q.dedup();
            q
        };
        self.declare(&mut pipe, &queues);
        let mut delayed = Vec::new();
        // Consecutive messages for the same list go in one LPUSH (order kept).
        let mut run: Option<(String, Vec<&[u8]>)> = None;
        for m in &messages {
            if self.shared.config.eta_publish == EtaPublish::Broker && m.eta.is_some_and(|eta| eta > now) {
                delayed.push(m);
                continue;
            }
            let key = self.shared.keys.queue_key(&m.queue, m.priority);
            match &mut run {
                Some((k, values)) if *k == key => values.push(&m.payload),
                _ => {
                    if let Some((k, values)) = run.take() {
                        pipe.lpush(k, values).ignore();
                    }
                    run = Some((key, vec![&m.payload]));
                }
            }
        }
        if let Some((k, values)) = run.take() {
            pipe.lpush(k, values).ignore();
        }
        if !delayed.is_empty() {
            let mut args: Vec<Vec<u8>> = Vec::with_capacity(delayed.len() * 5);
            for m in &delayed {
                let due = m.eta.map_or(0, |eta| eta.timestamp_millis());
                args.push(format!("celeriac-delayed-{}", celeriac_core::new_uuid4()).into_bytes());
                args.push(due.to_string().into_bytes());
                args.push(self.shared.keys.queue_key(&m.queue, m.priority).into_bytes());
                args.push(m.queue.clone().into_bytes());
                args.push(m.payload.clone());
            }
            pipe.cmd("EVAL")
                .arg(&self.shared.scripts.enqueue_delayed)
                .arg(3)
                .arg(&self.shared.keys.delayed)
                .arg(&self.shared.keys.delayed_msgs)
                .arg(&self.shared.keys.delayed_count)
                .arg(args)
                .ignore();
        }
        for queue in &queues {
            pipe.publish(self.shared.keys.wake_channel(queue), "new").ignore();
        }
        let mut conn = self.shared.conn();
        pipe.query_async::<()>(&mut conn).await.map_err(to_broker_error)
    }

    async fn fetch(&self, request: FetchRequest<'_>) -> Res<Vec<Delivery>> {
        self.ensure_maintenance();
        let lists = self.shared.keys.consume_keys(request.queues);
        let hub = self.shared.hub();
        let mut subscriptions = Vec::with_capacity(request.queues.len());
        for queue in request.queues {
            let name = self.shared.keys.wake_channel(queue);
            let kept = self
                .shared
                .wake_subscriptions
                .lock()
                .is_ok_and(|m| m.contains_key(&name));
            if !kept {
                let held = hub.subscribe(&name).await;
                if let Ok(mut map) = self.shared.wake_subscriptions.lock() {
                    map.entry(name.clone()).or_insert(held);
                }
            }
            subscriptions.push(hub.subscribe(&name).await);
        }
        let deadline = Instant::now() + request.wait;
        loop {
            let seen: Vec<u64> = subscriptions.iter().map(|s| s.channel.generation()).collect();
            let got = crate::fetch::fetch_batch(&self.shared, &request, &lists).await?;
            if !got.is_empty() || request.wait.is_zero() {
                return Ok(got);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(got);
            }
            // Woken by Celeriac producers at once; messages from other
            // producers are found by the next look, a poll interval later.
            let pause = (deadline - now).min(self.shared.config.poll_interval);
            let waits = subscriptions
                .iter()
                .zip(&seen)
                .map(|(s, seen)| Box::pin(s.channel.changed_since(*seen, pause)));
            futures::future::select_all(waits).await;
        }
    }

    async fn heartbeat(&self, worker: &WorkerInfo, lease: Duration) -> Res<()> {
        self.ensure_maintenance();
        let record = serde_json::json!({"info": worker, "last_heartbeat": now_ms()}).to_string();
        let _: i64 = self
            .shared
            .scripts
            .heartbeat
            .key(self.shared.keys.heartbeat(&worker.id))
            .key(&self.shared.keys.workers)
            .key(&self.shared.keys.leases)
            .key(&self.shared.keys.unacked_index)
            .arg(&worker.id)
            .arg(millis(lease))
            .arg(record)
            .arg(crate::fetch::delivery_time())
            .invoke_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        Ok(())
    }

    async fn deregister(&self, worker_id: &str) -> Res<()> {
        let n = release_owner(&self.shared, worker_id).await?;
        if n > 0 {
            tracing::info!(messages = n, "returned held messages at deregistration");
        }
        Ok(())
    }

    async fn ack(&self, tags: &[DeliveryTag]) -> Res<u64> {
        results::settle(self, &[], tags).await
    }

    async fn store_and_ack(
        &self,
        backend: &dyn ResultBackend,
        results: &[TaskResult],
        tags: &[DeliveryTag],
    ) -> Res<u64> {
        // Results in this very Redis: one script stores them and acks.
        let same_store = std::ptr::addr_eq(backend as *const dyn ResultBackend, self as *const Self);
        if !same_store {
            return celeriac_core::store_then_ack(self, backend, results, tags).await;
        }
        results::settle(self, results, tags).await
    }

    async fn requeue(&self, tags: &[DeliveryTag]) -> Res<u64> {
        if tags.is_empty() {
            return Ok(0);
        }
        let mut invocation = self.shared.scripts.requeue.prepare_invoke();
        invocation
            .key(&self.shared.keys.unacked)
            .key(&self.shared.keys.unacked_index)
            .key(&self.shared.keys.leases)
            .key(&self.shared.keys.deliveries)
            .arg(&self.shared.config.global_keyprefix)
            .arg(&self.shared.config.sep)
            .arg(self.shared.steps_arg());
        for t in tags {
            invocation.arg(delivery_field(t)?);
        }
        let n: i64 = invocation
            .invoke_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        Ok(n.max(0) as u64)
    }

    async fn defer(&self, t: &DeliveryTag, until: DateTime<Utc>) -> Res<()> {
        self.ensure_maintenance();
        let _: i64 = self
            .shared
            .scripts
            .defer
            .key(&self.shared.keys.unacked)
            .key(&self.shared.keys.unacked_index)
            .key(&self.shared.keys.leases)
            .key(&self.shared.keys.delayed)
            .key(&self.shared.keys.delayed_msgs)
            .key(&self.shared.keys.delayed_count)
            .arg(delivery_field(t)?)
            .arg(until.timestamp_millis())
            .arg(&self.shared.config.global_keyprefix)
            .arg(&self.shared.config.sep)
            .arg(self.shared.steps_arg())
            .invoke_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        Ok(())
    }

    async fn dead_letter(&self, t: &DeliveryTag, reason: &str) -> Res<()> {
        let _: i64 = self
            .shared
            .scripts
            .dead_letter
            .key(&self.shared.keys.unacked)
            .key(&self.shared.keys.unacked_index)
            .key(&self.shared.keys.leases)
            .key(&self.shared.keys.dead)
            .key(&self.shared.keys.dead_index)
            .key(&self.shared.keys.dead_count)
            .key(&self.shared.keys.dead_seq)
            .key(&self.shared.keys.dead_payload)
            .key(&self.shared.keys.deliveries)
            .arg(delivery_field(t)?)
            .arg(reason)
            .arg(now_ms())
            .invoke_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        Ok(())
    }

    async fn purge(&self, queue: &str) -> Res<u64> {
        let script = redis::Script::new(
            "local n = 0 \
             for i = 4, #KEYS do n = n + redis.call('LLEN', KEYS[i]); redis.call('DEL', KEYS[i]) end \
             local all = redis.call('HGETALL', KEYS[2]) \
             for i = 1, #all, 2 do \
               local held = cjson.decode(all[i + 1]) \
               if held[3] == ARGV[1] then \
                 redis.call('HDEL', KEYS[2], all[i]); redis.call('ZREM', KEYS[1], all[i]); n = n + 1 \
               end \
             end \
             redis.call('HDEL', KEYS[3], ARGV[1]) \
             return n",
        );
        let mut invocation = script.prepare_invoke();
        invocation
            .key(&self.shared.keys.delayed)
            .key(&self.shared.keys.delayed_msgs)
            .key(&self.shared.keys.delayed_count)
            .arg(queue);
        for key in self.shared.keys.queue_keys(queue) {
            invocation.key(key);
        }
        let n: i64 = invocation
            .invoke_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        Ok(n.max(0) as u64)
    }

    async fn revoke(&self, task_id: &str, ttl: Duration) -> Res<()> {
        let now = now_ms();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .zrembyscore(&self.shared.keys.revoked, "-inf", now)
            .ignore()
            .zadd(&self.shared.keys.revoked, task_id, now.saturating_add(millis(ttl)))
            .ignore();
        pipe.query_async::<()>(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)
    }

    async fn is_revoked(&self, task_id: &str) -> Res<bool> {
        let until: Option<f64> = self
            .shared
            .conn()
            .zscore(&self.shared.keys.revoked, task_id)
            .await
            .map_err(to_broker_error)?;
        Ok(until.is_some_and(|u| u > now_ms() as f64))
    }

    async fn stats(&self) -> Res<Vec<QueueStats>> {
        let mut conn = self.shared.conn();
        let mut names: Vec<String> = conn.smembers(&self.shared.keys.queues).await.map_err(to_broker_error)?;
        let delayed: HashMap<String, i64> = conn
            .hgetall(&self.shared.keys.delayed_count)
            .await
            .map_err(to_broker_error)?;
        let dead: HashMap<String, i64> = conn
            .hgetall(&self.shared.keys.dead_count)
            .await
            .map_err(to_broker_error)?;
        let unacked: Vec<Vec<u8>> = conn.hvals(&self.shared.keys.unacked).await.map_err(to_broker_error)?;
        let mut in_flight: HashMap<String, u64> = HashMap::new();
        for entry in &unacked {
            if let Some(queue) = unacked_queue(entry) {
                *in_flight.entry(queue).or_default() += 1;
            }
        }
        names.extend(delayed.keys().cloned());
        names.extend(dead.keys().cloned());
        names.extend(in_flight.keys().cloned());
        names.sort_unstable();
        names.dedup();
        let mut out = Vec::with_capacity(names.len());
        for queue in names {
            let mut pipe = redis::pipe();
            for key in self.shared.keys.queue_keys(&queue) {
                pipe.llen(key);
            }
            let lengths: Vec<u64> = pipe.query_async(&mut conn).await.map_err(to_broker_error)?;
            out.push(QueueStats {
                ready: lengths.iter().sum(),
                in_flight: in_flight.get(&queue).copied().unwrap_or(0),
                delayed: delayed.get(&queue).copied().unwrap_or(0).max(0) as u64,
                dead: dead.get(&queue).copied().unwrap_or(0).max(0) as u64,
                queue,
            });
        }
        Ok(out)
    }

    async fn workers(&self) -> Res<Vec<WorkerStatus>> {
        let mut conn = self.shared.conn();
        let records: BTreeMap<String, String> =
            conn.hgetall(&self.shared.keys.workers).await.map_err(to_broker_error)?;
        let leases: Vec<String> = conn.hvals(&self.shared.keys.leases).await.map_err(to_broker_error)?;
        let mut held: HashMap<&str, u64> = HashMap::new();
        for lease in &leases {
            if let Some(owner) = lease.split(' ').next().filter(|o| *o != "-") {
                *held.entry(owner).or_default() += 1;
            }
        }
        let mut out = Vec::new();
        for (id, record) in &records {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(record) else {
                continue;
            };
            let Ok(info) = serde_json::from_value::<WorkerInfo>(value["info"].clone()) else {
                continue; // a consumer that never described itself
            };
            let alive: bool = conn
                .exists(self.shared.keys.heartbeat(id))
                .await
                .map_err(to_broker_error)?;
            out.push(WorkerStatus {
                info,
                last_heartbeat: time(value["last_heartbeat"].as_i64().unwrap_or(0)),
                alive,
                in_flight: held.get(id.as_str()).copied().unwrap_or(0),
            });
        }
        Ok(out)
    }

    async fn dead_letters(&self, queue: Option<&str>, limit: usize) -> Res<Vec<DeadLetter>> {
        let mut conn = self.shared.conn();
        let ids: Vec<String> = conn
            .zrange(&self.shared.keys.dead_index, 0, -1)
            .await
            .map_err(to_broker_error)?;
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let records: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
                .arg(&self.shared.keys.dead)
                .arg(chunk)
                .query_async(&mut conn)
                .await
                .map_err(to_broker_error)?;
            let payloads: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
                .arg(&self.shared.keys.dead_payload)
                .arg(chunk)
                .query_async(&mut conn)
                .await
                .map_err(to_broker_error)?;
            for ((id, record), payload) in chunk.iter().zip(records).zip(payloads) {
                let Some(record) = record else { continue };
                let text = String::from_utf8_lossy(&record);
                let Ok(rec) = serde_json::from_str::<serde_json::Value>(&text) else {
                    continue;
                };
                let q = rec["queue"].as_str().unwrap_or_default();
                if queue.is_some_and(|wanted| wanted != q) {
                    continue;
                }
                out.push(DeadLetter {
                    id: id.clone(),
                    queue: q.to_owned(),
                    task_id: rec["task_id"].as_str().map(str::to_owned),
                    reason: rec["reason"].as_str().unwrap_or_default().to_owned(),
                    payload: payload.unwrap_or_default(),
                    deliveries: rec["deliveries"]
                        .as_u64()
                        .map_or(0, |d| u32::try_from(d).unwrap_or(u32::MAX)),
                    dead_at: time(rec["dead_at"].as_i64().unwrap_or(0)),
                });
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    async fn retry_dead(&self, which: &DeadSelector) -> Res<u64> {
        let n = self.dead_action(which, "retry").await?;
        if n > 0 {
            // Wake consumers of every queue (which ones is not tracked here).
            let queues: Vec<String> = self
                .shared
                .conn()
                .smembers(&self.shared.keys.queues)
                .await
                .map_err(to_broker_error)?;
            let mut pipe = redis::pipe();
            for queue in queues {
                pipe.publish(self.shared.keys.wake_channel(&queue), "retried").ignore();
            }
            pipe.query_async::<()>(&mut self.shared.conn())
                .await
                .map_err(to_broker_error)?;
        }
        Ok(n)
    }

    async fn drop_dead(&self, which: &DeadSelector) -> Res<u64> {
        self.dead_action(which, "drop").await
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Res<()> {
        let mut conn = self.shared.conn();
        if paused {
            conn.sadd::<_, _, ()>(&self.shared.keys.paused, queue)
                .await
                .map_err(to_broker_error)
        } else {
            let mut pipe = redis::pipe();
            pipe.srem(&self.shared.keys.paused, queue)
                .ignore()
                // Waiting consumers look again now rather than at their next poll.
                .publish(self.shared.keys.wake_channel(queue), "1")
                .ignore();
            pipe.query_async::<()>(&mut conn).await.map_err(to_broker_error)
        }
    }

    async fn paused_queues(&self) -> Res<Vec<String>> {
        let mut names: Vec<String> = self
            .shared
            .conn()
            .smembers(&self.shared.keys.paused)
            .await
            .map_err(to_broker_error)?;
        names.sort();
        Ok(names)
    }

    async fn next_control(&self, wait: Duration) -> Res<Vec<celeriac_core::control::ControlCommand>> {
        Ok(crate::control::next(&self.shared, wait).await)
    }

    async fn reply_control(
        &self,
        command: &celeriac_core::control::ControlCommand,
        nodename: &str,
        reply: serde_json::Value,
    ) -> Res<()> {
        crate::control::reply(&self.shared, command, nodename, reply).await
    }

    async fn broadcast_control(&self, command: &celeriac_core::control::ControlCommand) -> Res<()> {
        crate::control::broadcast(&self.shared, command).await
    }

    async fn terminations(&self, task_ids: &[String]) -> Res<Vec<String>> {
        if task_ids.is_empty() {
            return Ok(Vec::new());
        }
        // One ZMSCORE for all of them, not a round trip each.
        let keys: Vec<String> = task_ids.iter().map(|id| celeriac_core::termination_key(id)).collect();
        let scores: Vec<Option<f64>> = redis::cmd("ZMSCORE")
            .arg(&self.shared.keys.revoked)
            .arg(&keys)
            .query_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        let now = now_ms() as f64;
        Ok(task_ids
            .iter()
            .zip(scores)
            .filter(|(_, until)| until.is_some_and(|u| u > now))
            .map(|(id, _)| id.clone())
            .collect())
    }
}

#[cfg(test)]
mod unacked_entry_tests {
    use super::unacked_queue;

    #[test]
    fn the_queue_is_read_from_the_tail_of_any_entry() {
        // As kombu writes it, as Celeriac writes it, and with garbage bytes.
        let kombu = br#"[{"body": "e30=", "properties": {"delivery_tag": "t, \"x\""}}, "", "celery"]"#;
        assert_eq!(unacked_queue(kombu).as_deref(), Some("celery"));
        let string_form = br#"["not json, \"", "", "q-1"]"#;
        assert_eq!(unacked_queue(string_form).as_deref(), Some("q-1"));
        let quoted = br#"[{"a": 1}, "", "we\"ird"]"#;
        assert_eq!(unacked_queue(quoted).as_deref(), Some("we\"ird"));
        assert_eq!(unacked_queue(b"garbage"), None);
    }
}

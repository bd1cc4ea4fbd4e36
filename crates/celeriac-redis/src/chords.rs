//! Chords on Redis, in Celery 5.7's scheme, so that Python and Celeriac
//! workers can run one chord's header tasks side by side.

use celeriac_core::{BrokerError, ChordPart, ChordProgress, TaskState};
use serde_json::{json, Value};

use crate::store::{to_broker_error, RedisStore};

/// Seconds the dispatch claim lasts (Celery: twice the join timeout, ≥ 5).
const CLAIM_SECS: u64 = 10;
/// Seconds the `done` marker keeps late duplicates out.
const DONE_SECS: u64 = 300;

impl RedisStore {
    /// `celery-taskset-meta-<gid><suffix>`.
    fn group_key(&self, group_id: &str, suffix: &str) -> String {
        format!(
            "{}celery-taskset-meta-{group_id}{suffix}",
            self.shared.config.global_keyprefix
        )
    }

    pub(crate) async fn chord_join(&self, part: &ChordPart) -> Result<ChordProgress, BrokerError> {
        let g = &part.group_id;
        let encoded = json!([1, part.task_id, part.state.as_str(), part.result]).to_string();
        let expires = self.shared.config.result_ttl.map_or(0, |t| t.as_secs());
        let claim = uuid::Uuid::new_v4().simple().to_string();
        let index = part.group_index.map_or_else(|| "+inf".to_owned(), |i| i.to_string());
        let reply: Vec<redis::Value> = self
            .shared
            .scripts
            .chord_part
            .key(self.group_key(g, ".j"))
            .key(self.group_key(g, ".t"))
            .key(self.group_key(g, ".s"))
            .key(self.group_key(g, ".d"))
            .key(self.group_key(g, ""))
            .key(self.group_key(g, ".c"))
            .arg(&part.task_id)
            .arg(encoded)
            .arg(index)
            .arg(expires)
            .arg(expires)
            .arg(CLAIM_SECS)
            .arg(&claim)
            .invoke_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        let number = |i: usize| -> i64 {
            reply
                .get(i)
                .and_then(|v| redis::from_redis_value_ref(v).ok())
                .unwrap_or(0)
        };
        if number(0) == -1 {
            return Ok(ChordProgress::AlreadyDone);
        }
        if number(1) != 1 {
            return Ok(ChordProgress::Pending);
        }
        let mut results = Vec::with_capacity(reply.len().saturating_sub(2));
        for v in reply.iter().skip(2) {
            let text: String = redis::from_redis_value_ref(v)
                .map_err(|e| BrokerError::Internal(format!("unreadable chord outcome: {e}")))?;
            // Celery's encoding: [1, task id, state, value or exception].
            let parsed: Value = serde_json::from_str(&text)
                .map_err(|e| BrokerError::Internal(format!("unreadable chord outcome {text}: {e}")))?;
            let id = parsed[1].as_str().unwrap_or_default().to_owned();
            let state = TaskState::parse(parsed[2].as_str().unwrap_or("PENDING"));
            results.push((id, state, parsed[3].clone()));
        }
        Ok(ChordProgress::Complete { results, claim })
    }

    pub(crate) async fn chord_release(&self, group_id: &str, claim: &str) -> Result<(), BrokerError> {
        let _: i64 = self
            .shared
            .scripts
            .chord_done
            .key(self.group_key(group_id, ".c"))
            .key(self.group_key(group_id, ".j"))
            .key(self.group_key(group_id, ".t"))
            .key(self.group_key(group_id, ".s"))
            .key(self.group_key(group_id, ".d"))
            .arg(claim)
            .arg(DONE_SECS)
            .invoke_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        Ok(())
    }
}

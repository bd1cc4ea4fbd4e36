//! Sending tasks: signatures and chains become Celery messages on a broker.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::Value;
use thiserror::Error;

use crate::async_result::AsyncResult;
use crate::backend::ResultBackend;
use crate::broker::{Broker, NewMessage};
use crate::error::BrokerError;
use crate::ids::new_task_id;
use crate::protocol::time::{format_iso8601, parse_iso8601};
use crate::protocol::{Chain, Signature, TaskMessage};

/// The queue Celery and Celeriac use when none is named.
pub const DEFAULT_QUEUE: &str = "celery";

/// Longest `argsrepr`/`kwargsrepr`, as in Celery.
const REPR_LIMIT: usize = 1024;

/// Why a task could not be sent.
#[derive(Debug, Error)]
pub enum SendError {
    /// The broker refused or could not be reached; nothing was enqueued.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// An option had an impossible value.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// Option name.
        option: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// An empty chain or batch was given.
    #[error("nothing to send: {0}")]
    Empty(&'static str),
}

/// The task that is sending another one (chain hop, callback, retry).
#[derive(Debug, Clone, Default)]
pub struct Parent {
    /// Id of the sending task.
    pub id: String,
    /// Root of its workflow.
    pub root_id: String,
    /// The trace context the messages it sends carry (`traceparent`, with
    /// the sending task's run as the parent span).
    pub traceparent: Option<String>,
}

/// Sends tasks and reads their results.
///
/// ```no_run
/// # async fn demo(client: celeriac_core::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use celeriac_core::Signature;
/// use std::time::Duration;
/// let result = client.send(Signature::new("celeriac.add").args([2, 3])).await?;
/// let value = result.get(Duration::from_secs(10)).await?;
/// assert_eq!(value, serde_json::json!(5));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    broker: Arc<dyn Broker>,
    backend: Arc<dyn ResultBackend>,
    default_queue: String,
    origin: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("broker", &self.inner.broker.capabilities().backend)
            .field("default_queue", &self.inner.default_queue)
            .finish()
    }
}

impl Client {
    /// A client sending to `broker` and reading results from `backend`.
    pub fn new(broker: Arc<dyn Broker>, backend: Arc<dyn ResultBackend>) -> Self {
        Client {
            inner: Arc::new(ClientInner {
                broker,
                backend,
                default_queue: DEFAULT_QUEUE.into(),
                origin: crate::host::origin(),
            }),
        }
    }

    /// Uses `queue` for signatures that name none (default `celery`).
    pub fn with_default_queue(self, queue: impl Into<String>) -> Self {
        Client {
            inner: Arc::new(ClientInner {
                broker: self.inner.broker.clone(),
                backend: self.inner.backend.clone(),
                default_queue: queue.into(),
                origin: self.inner.origin.clone(),
            }),
        }
    }

    /// The broker.
    pub fn broker(&self) -> &Arc<dyn Broker> {
        &self.inner.broker
    }

    /// The result backend.
    pub fn backend(&self) -> &Arc<dyn ResultBackend> {
        &self.inner.backend
    }

    /// Sends one task call.
    ///
    /// # Errors
    ///
    /// [`SendError`] when an option is invalid or the broker fails; nothing
    /// was enqueued then.
    ///
    /// # Cancel safety
    ///
    /// If dropped, the task may or may not have been enqueued.
    pub async fn send<T>(&self, sig: Signature<T>) -> Result<AsyncResult<T>, SendError> {
        let (message, id) = self.prepare(&sig.untyped(), None, None)?;
        self.inner.broker.enqueue(message).await?;
        Ok(self.result(id))
    }

    /// Sends many calls in one atomic batch (one round trip or transaction).
    ///
    /// # Errors
    ///
    /// As [`Client::send`]; either all or none were enqueued.
    pub async fn send_many<T>(&self, sigs: Vec<Signature<T>>) -> Result<Vec<AsyncResult<T>>, SendError> {
        let mut messages = Vec::with_capacity(sigs.len());
        let mut results = Vec::with_capacity(sigs.len());
        for sig in sigs {
            let (message, id) = self.prepare(&sig.untyped(), None, None)?;
            messages.push(message);
            results.push(self.result(id));
        }
        if !messages.is_empty() {
            self.inner.broker.enqueue_many(messages).await?;
        }
        Ok(results)
    }

    /// Sends a chain: the first step is published with the rest embedded, and
    /// each step's result is passed to the next. The returned result is the
    /// last step's.
    ///
    /// # Errors
    ///
    /// As [`Client::send`], and [`SendError::Empty`] for an empty chain.
    pub async fn send_chain<T>(&self, chain: Chain<T>) -> Result<AsyncResult<T>, SendError> {
        let mut steps = chain.into_steps();
        if steps.is_empty() {
            return Err(SendError::Empty("the chain has no steps"));
        }
        // Fix every id now so the caller can follow the whole chain.
        for step in &mut steps {
            if step.id().is_none() {
                step.options.insert("task_id".into(), Value::String(new_task_id()));
            }
        }
        let last_id = steps.last().and_then(|s| s.id()).unwrap_or_default().to_owned();
        let first = steps.remove(0);
        steps.reverse();
        let (message, _) = self.prepare(&first, None, Some(steps))?;
        self.inner.broker.enqueue(message).await?;
        Ok(self.result(last_id))
    }

    /// The result handle of a task id.
    pub fn result<T>(&self, id: impl Into<String>) -> AsyncResult<T> {
        AsyncResult::new(id.into(), self.inner.backend.clone())
    }

    /// Revokes a task: if it has not started it is recorded REVOKED and
    /// never runs. The revocation is remembered for `ttl`.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the broker fails.
    pub async fn revoke(&self, task_id: &str, ttl: Duration) -> Result<(), BrokerError> {
        self.inner.broker.revoke(task_id, ttl).await
    }

    /// Builds the broker message for `sig`: task id, routing, ETA, expiry,
    /// limits, callbacks, and `chain` (remaining steps, last to run first).
    /// Returns the message and the task id.
    ///
    /// # Errors
    ///
    /// [`SendError::InvalidOption`] for an unusable option value.
    pub fn prepare(
        &self,
        sig: &Signature,
        parent: Option<&Parent>,
        chain: Option<Vec<Signature>>,
    ) -> Result<(NewMessage, String), SendError> {
        let message = build_message(sig, parent, chain, &self.inner.default_queue, &self.inner.origin)?;
        let id = message.headers.id.clone();
        let eta = message.headers.eta;
        let new = NewMessage {
            queue: message.properties.routing_key.clone(),
            priority: message.properties.priority.min(9),
            eta,
            task_id: Some(id.clone()),
            payload: message.encode(),
        };
        Ok((new, id))
    }
}

fn seconds_option(sig: &Signature, option: &'static str) -> Result<Option<f64>, SendError> {
    match sig.options.get(option) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(s) if s.is_finite() && s >= 0.0 => Ok(Some(s)),
            _ => Err(SendError::InvalidOption {
                option,
                reason: format!("{n} is not a non-negative number of seconds"),
            }),
        },
        Some(other) => Err(SendError::InvalidOption {
            option,
            reason: format!("expected seconds, got {other}"),
        }),
    }
}

fn time_option(sig: &Signature, option: &'static str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, SendError> {
    match sig.options.get(option) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => parse_iso8601(text)
            .map(Some)
            .map_err(|reason| SendError::InvalidOption { option, reason }),
        Some(Value::Number(_)) => {
            let secs = seconds_option(sig, option)?.unwrap_or(0.0);
            Ok(Some(now + chrono::Duration::microseconds((secs * 1e6) as i64)))
        }
        Some(other) => Err(SendError::InvalidOption {
            option,
            reason: format!("expected a timestamp or seconds, got {other}"),
        }),
    }
}

fn signature_list(sig: &Signature, option: &'static str) -> Result<Option<Vec<Signature>>, SendError> {
    match sig.options.get(option) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| serde_json::from_value(v.clone()))
            .collect::<Result<Vec<Signature>, _>>()
            .map(Some)
            .map_err(|e| SendError::InvalidOption {
                option,
                reason: e.to_string(),
            }),
        Some(single @ Value::Object(_)) => serde_json::from_value(single.clone())
            .map(|s| Some(vec![s]))
            .map_err(|e| SendError::InvalidOption {
                option,
                reason: e.to_string(),
            }),
        Some(other) => Err(SendError::InvalidOption {
            option,
            reason: format!("expected signatures, got {other}"),
        }),
    }
}

/// Truncates a repr to Celery's limit on a character boundary.
fn bounded_repr(text: String) -> String {
    if text.len() <= REPR_LIMIT {
        return text;
    }
    let mut end = REPR_LIMIT - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Builds the v2 message for a signature (used by clients and by the worker
/// for chain hops, callbacks and retries).
///
/// # Errors
///
/// [`SendError::InvalidOption`] for an unusable option value.
pub fn build_message(
    sig: &Signature,
    parent: Option<&Parent>,
    chain: Option<Vec<Signature>>,
    default_queue: &str,
    origin: &str,
) -> Result<TaskMessage, SendError> {
    // Microseconds: the precision of the ISO timestamps on the wire.
    let now = Utc::now().trunc_subsecs(6);
    let id = sig.id().map(str::to_owned).unwrap_or_else(new_task_id);
    let queue = sig
        .queue_name()
        .or_else(|| sig.options.get("routing_key").and_then(Value::as_str))
        .unwrap_or(default_queue)
        .to_owned();
    let mut message = TaskMessage::new(sig.task.clone(), id, queue);
    let priority = match sig.options.get("priority") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n.as_u64().map_or(0, |p| p.min(9) as u8),
        Some(other) => {
            return Err(SendError::InvalidOption {
                option: "priority",
                reason: format!("expected 0-9, got {other}"),
            })
        }
    };
    message.properties.priority = priority;
    let eta = match seconds_option(sig, "countdown")? {
        Some(secs) => Some(now + chrono::Duration::microseconds((secs * 1e6) as i64)),
        None => time_option(sig, "eta", now)?,
    };
    message.headers.eta = eta;
    if let Some(expires) = time_option(sig, "expires", now)? {
        message.headers.expires = Some(expires);
        let ms = (expires - now).num_milliseconds().max(0);
        message.properties.expiration = Some(ms.to_string());
    }
    message.headers.time_limit = seconds_option(sig, "time_limit")?;
    message.headers.soft_time_limit = seconds_option(sig, "soft_time_limit")?;
    if let Some(Value::Bool(ignore)) = sig.options.get("ignore_result") {
        message.headers.ignore_result = Some(*ignore);
    }
    if let Some(Value::String(shadow)) = sig.options.get("shadow") {
        message.headers.shadow = Some(shadow.clone());
    }
    if let Some(Value::String(group)) = sig.options.get("group_id") {
        message.headers.group = Some(group.clone());
    }
    if let Some(Value::Number(index)) = sig.options.get("group_index") {
        message.headers.group_index = index.as_i64();
    }
    if let Some(Value::Number(retries)) = sig.options.get("retries") {
        message.headers.retries = retries.as_u64().and_then(|r| u32::try_from(r).ok()).unwrap_or(0);
    }
    if let Some(Value::Object(custom)) = sig.options.get("headers") {
        for (k, v) in custom {
            message.headers.extra.insert(k.clone(), v.clone());
        }
    }
    if let Some(Value::String(reply_to)) = sig.options.get("reply_to") {
        message.properties.reply_to = Some(reply_to.clone());
    }
    // When it was sent, so a worker can report how long it waited in the
    // queue (Celery's protocol has no such field; its workers ignore it).
    let sent = now.timestamp_micros() as f64 / 1e6;
    message
        .headers
        .extra
        .entry(crate::events::SENT_AT_HEADER)
        .or_insert_with(|| Value::from(sent));
    if let Some(parent) = parent {
        message.headers.parent_id = Some(parent.id.clone());
        message.headers.root_id = Some(parent.root_id.clone());
        if let Some(tp) = &parent.traceparent {
            message
                .headers
                .extra
                .entry(crate::trace::TRACEPARENT)
                .or_insert_with(|| Value::String(tp.clone()));
        }
    }
    message.headers.origin = Some(origin.to_owned());
    message.headers.argsrepr = Some(bounded_repr(serde_json::to_string(&sig.args).unwrap_or_default()));
    message.headers.kwargsrepr = Some(bounded_repr(serde_json::to_string(&sig.kwargs).unwrap_or_default()));
    message.args = sig.args.clone();
    message.kwargs = sig.kwargs.clone();
    message.embed.callbacks = signature_list(sig, "link")?;
    message.embed.errbacks = signature_list(sig, "link_error")?;
    message.embed.chain = chain;
    if let Some(eta) = &eta {
        tracing::trace!(eta = %format_iso8601(eta), "task scheduled");
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::DecodeLimits;

    #[test]
    fn options_become_headers() {
        let sig = Signature::new("tasks.add")
            .args([2, 3])
            .queue("math")
            .priority(12)
            .countdown(Duration::from_secs(60))
            .expires_in(Duration::from_secs(120))
            .time_limit(Duration::from_secs(30))
            .soft_time_limit(Duration::from_secs(20))
            .link(Signature::new("tasks.log"));
        let m = build_message(&sig, None, None, "celery", "gen1@h").unwrap();
        assert_eq!(m.properties.routing_key, "math");
        assert_eq!(m.properties.priority, 9);
        assert!(m.headers.eta.unwrap() > Utc::now() + chrono::Duration::seconds(59));
        assert_eq!(m.headers.time_limit, Some(30.0));
        assert_eq!(m.headers.soft_time_limit, Some(20.0));
        assert_eq!(m.embed.callbacks.as_ref().unwrap()[0].task, "tasks.log");
        let ms: i64 = m.properties.expiration.as_deref().unwrap().parse().unwrap();
        assert!((119_000..=120_000).contains(&ms));
        let decoded = TaskMessage::decode(&m.encode(), &DecodeLimits::default()).unwrap();
        assert_eq!(decoded.headers, m.headers);
        assert_eq!(decoded.args, m.args);
    }

    #[test]
    fn bad_options_are_errors() {
        let sig = Signature::new("t").option("eta", "tomorrow-ish");
        assert!(matches!(
            build_message(&sig, None, None, "celery", "o"),
            Err(SendError::InvalidOption { option: "eta", .. })
        ));
        let sig = Signature::new("t").option("countdown", -1);
        assert!(build_message(&sig, None, None, "celery", "o").is_err());
    }
}

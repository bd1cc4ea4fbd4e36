//! The store handle: connections, scripts, subscriptions and maintenance.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use celeriac_core::{redact_password, BrokerError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::RedisConfig;
use crate::hub::Hub;
use crate::keys::Keys;
use crate::scripts::Scripts;

/// Maps a Redis error: connection trouble is transient, the rest is not.
pub(crate) fn to_broker_error(e: redis::RedisError) -> BrokerError {
    if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() {
        BrokerError::Unavailable(format!("Redis: {e}"))
    } else {
        match e.retry_method() {
            redis::RetryMethod::NoRetry => BrokerError::Internal(format!("Redis: {e}")),
            _ => BrokerError::Unavailable(format!("Redis: {e}")),
        }
    }
}

/// Seconds since the epoch as Redis scores kombu writes (float seconds).
pub(crate) fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub(crate) fn now_ms() -> i64 {
    (now_secs() * 1000.0) as i64
}

/// The Redis broker and result backend.
///
/// Uses kombu's Redis transport layout exactly (one list per queue and
/// priority step, the JSON envelope, the `unacked` hash and `unacked_index`
/// zset, binding tables) and Celery's result keys, so Celery clients and
/// workers share queues and results with Celeriac. Implements both
/// [`Broker`](celeriac_core::Broker) and
/// [`ResultBackend`](celeriac_core::ResultBackend).
///
/// ```no_run
/// # async fn demo() -> Result<(), celeriac_core::BrokerError> {
/// use std::sync::Arc;
/// use celeriac_redis::RedisStore;
/// let store = Arc::new(RedisStore::open_url("redis://127.0.0.1:6379/0")?);
/// # Ok(()) }
/// ```
pub struct RedisStore {
    pub(crate) shared: Arc<Shared>,
}

/// Everything the store and its background tasks share.
pub(crate) struct Shared {
    pub(crate) config: RedisConfig,
    pub(crate) keys: Keys,
    pub(crate) client: redis::Client,
    pub(crate) conn: ConnectionManager,
    pub(crate) scripts: Scripts,
    hub: OnceLock<Arc<Hub>>,
    /// Wake-up channels kept subscribed for the store's life: subscribing
    /// per fetch would leave gaps in which a producer's wake-up is missed
    /// and the consumer waits a whole poll interval.
    pub(crate) wake_subscriptions: Mutex<std::collections::HashMap<String, crate::hub::Subscription>>,
    /// Queues whose kombu bindings this process has declared.
    pub(crate) declared: Mutex<HashSet<String>>,
    maintenance: OnceLock<tokio::task::JoinHandle<()>>,
    /// Remote-control commands received (started by the first listener).
    pub(crate) control: OnceLock<Arc<crate::control::Inbox>>,
    /// Unique per store (48 random bits): the prefix of its lease ids.
    pub(crate) instance: String,
    /// Counts fetches, so each gives unique lease ids.
    pub(crate) fetches: std::sync::atomic::AtomicU64,
    /// One fetch at a time per consumer: a fetch owns the consumer's
    /// staging lists until it has filed their messages.
    fetch_locks: Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The last fetch order base handed out (milliseconds, kept increasing).
    order_base: std::sync::atomic::AtomicI64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &redact_password(&self.shared.config.url))
            .finish()
    }
}

/// A client for the URL, with a private CA or client certificate if given.
fn client_for(config: &RedisConfig) -> Result<redis::Client, BrokerError> {
    let invalid = |e: &dyn std::fmt::Display| BrokerError::Invalid(format!("{}: {e}", redact_password(&config.url)));
    if config.tls_ca.is_none() && config.tls_client.is_none() {
        return redis::Client::open(config.url.as_str()).map_err(|e| invalid(&e));
    }
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| BrokerError::Invalid(format!("cannot read {}: {e}", path.display())))
    };
    let root_cert = config.tls_ca.as_deref().map(read).transpose()?;
    let client_tls = match &config.tls_client {
        Some((cert, key)) => Some(redis::ClientTlsConfig {
            client_cert: read(cert)?,
            client_key: read(key)?,
        }),
        None => None,
    };
    redis::Client::build_with_tls(config.url.as_str(), redis::TlsCertificates { client_tls, root_cert })
        .map_err(|e| invalid(&e))
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(task) = self.maintenance.get() {
            task.abort();
        }
    }
}

impl RedisStore {
    /// Creates the store; the connection is made on first use and remade
    /// with backoff whenever it drops. Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Invalid`] for an unusable URL.
    pub fn open(config: RedisConfig) -> Result<Self, BrokerError> {
        let client = client_for(&config)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(5))
            .set_number_of_retries(6)
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(30)));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), manager_config)
            .map_err(|e| BrokerError::Invalid(format!("{}: {e}", redact_password(&config.url))))?;
        Ok(RedisStore {
            shared: Arc::new(Shared {
                keys: Keys::new(&config),
                config,
                client,
                conn,
                scripts: Scripts::new(),
                hub: OnceLock::new(),
                wake_subscriptions: Mutex::new(std::collections::HashMap::new()),
                declared: Mutex::new(HashSet::new()),
                maintenance: OnceLock::new(),
                control: OnceLock::new(),
                instance: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
                fetches: std::sync::atomic::AtomicU64::new(0),
                fetch_locks: Mutex::new(std::collections::HashMap::new()),
                order_base: std::sync::atomic::AtomicI64::new(0),
            }),
        })
    }

    /// [`RedisStore::open`] from a URL (see [`RedisConfig::from_url`]).
    ///
    /// # Errors
    ///
    /// [`BrokerError::Invalid`] for an unusable URL.
    pub fn open_url(url: &str) -> Result<Self, BrokerError> {
        RedisStore::open(RedisConfig::from_url(url)?)
    }

    /// Deletes every key under this store's `global_keyprefix` (for tests
    /// and benchmarks); returns how many. Refuses without a prefix, which
    /// would mean the whole database.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Invalid`] without a prefix, or a Redis failure.
    pub async fn delete_everything(&self) -> Result<u64, BrokerError> {
        let prefix = &self.shared.config.global_keyprefix;
        if prefix.is_empty() {
            return Err(BrokerError::Invalid(
                "refusing to delete a whole database (no global_keyprefix)".into(),
            ));
        }
        let mut conn = self.shared.conn();
        let pattern = format!(
            "{}*",
            prefix.replace('*', "\\*").replace('?', "\\?").replace('[', "\\[")
        );
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(to_broker_error)?;
            if !keys.is_empty() {
                let n: u64 = redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async(&mut conn)
                    .await
                    .map_err(to_broker_error)?;
                deleted += n;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &RedisConfig {
        &self.shared.config
    }

    /// Starts (once) the maintenance loop: promoting due delayed messages
    /// and returning the messages of dead Celeriac workers, one process at a
    /// time across the fleet.
    pub(crate) fn ensure_maintenance(&self) {
        let weak = Arc::downgrade(&self.shared);
        self.shared
            .maintenance
            .get_or_init(|| tokio::spawn(crate::maintenance::run(weak)));
    }
}

impl Shared {
    /// A clone of the multiplexed connection (cheap).
    pub(crate) fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// A number larger than any handed out before by this store: the time
    /// in milliseconds, or one more than the last when that is not larger.
    pub(crate) fn next_order_base(&self) -> i64 {
        let now = now_ms();
        let previous = self
            .order_base
            .fetch_update(
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
                |last| Some(now.max(last + 1)),
            )
            .unwrap_or(now);
        now.max(previous + 1)
    }

    /// The lock that serializes `consumer`'s fetches.
    pub(crate) fn fetch_lock(&self, consumer: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.fetch_locks.lock() {
            Ok(mut locks) => locks.entry(consumer.to_owned()).or_default().clone(),
            // A panic while the map was locked leaves it intact: use it.
            Err(poisoned) => poisoned.into_inner().entry(consumer.to_owned()).or_default().clone(),
        }
    }

    pub(crate) fn hub(&self) -> Arc<Hub> {
        self.hub.get_or_init(|| Hub::start(self.client.clone())).clone()
    }

    /// The priority steps as the scripts read them ("0,3,6,9").
    pub(crate) fn steps_arg(&self) -> String {
        self.config
            .priority_steps
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub(crate) fn result_ttl_ms(&self) -> i64 {
        self.config
            .result_ttl
            .map_or(0, |t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX))
    }
}

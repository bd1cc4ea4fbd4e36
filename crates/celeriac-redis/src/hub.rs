//! One pub/sub connection per store, shared by every waiter: result waits
//! (Celery's `PUBLISH` on `celery-task-meta-<id>`) and consumers' wake-ups.
//! It reconnects by itself, re-subscribes, and then wakes every waiter so
//! they re-read what they wait for (a message may have been missed).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use celeriac_core::Signal;
use futures::StreamExt as _;
use redis::aio::PubSubSink;
use tokio::sync::Notify;

/// What waiters of one channel share: its wake-up signal, and how many
/// subscriptions hold it.
#[derive(Default)]
pub(crate) struct Channel {
    signal: Signal,
    refs: AtomicU64,
}

impl std::ops::Deref for Channel {
    type Target = Signal;

    fn deref(&self) -> &Signal {
        &self.signal
    }
}

struct State {
    channels: HashMap<String, Arc<Channel>>,
    sink: Option<PubSubSink>,
}

/// The shared subscription connection.
pub(crate) struct Hub {
    client: redis::Client,
    state: Arc<Mutex<State>>,
    connected: Arc<Notify>,
}

/// A subscription; unsubscribes when the last holder of the channel drops it.
pub(crate) struct Subscription {
    hub: Arc<Hub>,
    name: String,
    pub(crate) channel: Arc<Channel>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if self.channel.refs.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let sink = {
            let Ok(mut state) = self.hub.state.lock() else { return };
            if self.channel.refs.load(Ordering::Acquire) != 0 {
                return; // re-subscribed meanwhile
            }
            state.channels.remove(&self.name);
            state.sink.clone()
        };
        if let (Some(mut sink), Ok(handle)) = (sink, tokio::runtime::Handle::try_current()) {
            let name = self.name.clone();
            handle.spawn(async move {
                let _ = sink.unsubscribe(&name).await;
            });
        }
    }
}

impl Hub {
    pub(crate) fn start(client: redis::Client) -> Arc<Hub> {
        let hub = Arc::new(Hub {
            client,
            state: Arc::new(Mutex::new(State {
                channels: HashMap::new(),
                sink: None,
            })),
            connected: Arc::new(Notify::new()),
        });
        let weak = Arc::downgrade(&hub);
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(50);
            loop {
                let Some(hub) = weak.upgrade() else { return };
                match hub.client.get_async_pubsub().await {
                    Ok(pubsub) => {
                        backoff = Duration::from_millis(50);
                        let (mut sink, mut stream) = pubsub.split();
                        let names: Vec<String> = match hub.state.lock() {
                            Ok(mut s) => {
                                s.sink = Some(sink.clone());
                                s.channels.keys().cloned().collect()
                            }
                            Err(_) => return,
                        };
                        if !names.is_empty() {
                            let _ = sink.subscribe(&names).await;
                        }
                        hub.wake_all();
                        hub.connected.notify_waiters();
                        let state = hub.state.clone();
                        drop(hub);
                        while let Some(msg) = stream.next().await {
                            let channel = msg.get_channel_name().to_owned();
                            let target = state.lock().ok().and_then(|s| s.channels.get(&channel).cloned());
                            if let Some(target) = target {
                                target.bump();
                            }
                        }
                        tracing::warn!("pub/sub connection to Redis lost; reconnecting");
                        if let Some(hub) = weak.upgrade() {
                            if let Ok(mut s) = hub.state.lock() {
                                s.sink = None;
                            }
                            hub.wake_all();
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot open a pub/sub connection to Redis; retrying in {backoff:?}");
                        drop(hub);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        });
        hub
    }

    fn wake_all(&self) {
        if let Ok(s) = self.state.lock() {
            for channel in s.channels.values() {
                channel.bump();
            }
        }
    }

    /// Subscribes to `name` (once per connection, shared by all holders).
    /// Returns after Redis confirmed the subscription, or at once if the
    /// connection is down (the waiter then relies on its own re-reads).
    pub(crate) async fn subscribe(self: &Arc<Hub>, name: &str) -> Subscription {
        let (channel, sink, fresh) = {
            let mut s = match self.state.lock() {
                Ok(s) => s,
                Err(poisoned) => poisoned.into_inner(),
            };
            let fresh = !s.channels.contains_key(name);
            let channel = s.channels.entry(name.to_owned()).or_default().clone();
            channel.refs.fetch_add(1, Ordering::AcqRel);
            (channel, s.sink.clone(), fresh)
        };
        if fresh {
            let sink = match sink {
                Some(sink) => Some(sink),
                None => {
                    // The connection is coming up: give it a moment.
                    let _ = tokio::time::timeout(Duration::from_millis(500), self.connected.notified()).await;
                    self.state.lock().ok().and_then(|s| s.sink.clone())
                }
            };
            if let Some(mut sink) = sink {
                if let Err(e) = sink.subscribe(name).await {
                    tracing::debug!(error = %e, channel = name, "subscribe failed; relying on re-reads");
                }
            }
        }
        Subscription {
            hub: self.clone(),
            name: name.to_owned(),
            channel,
        }
    }
}

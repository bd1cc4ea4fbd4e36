//! The Lua scripts: every multi-step change off the hot path is one atomic
//! script, so a crash between steps cannot lose or duplicate a message.
//! Fetching and settling use native commands instead (see `fetch`).

use redis::Script;

const COMMON: &str = include_str!("lua/common.lua");

fn with_common(body: &str) -> Script {
    Script::new(&source(body))
}

fn source(body: &str) -> String {
    format!("{COMMON}\n{body}")
}

/// Every script, compiled once per broker.
pub(crate) struct Scripts {
    pub(crate) unstage: Script,
    pub(crate) requeue: Script,
    pub(crate) defer: Script,
    pub(crate) dead_letter: Script,
    pub(crate) dead_retry: Script,
    pub(crate) promote: Script,
    pub(crate) release_owner: Script,
    pub(crate) heartbeat: Script,
    pub(crate) chord_part: Script,
    pub(crate) chord_done: Script,
    /// Run with EVAL inside an atomic pipeline, so it is kept as text.
    pub(crate) enqueue_delayed: String,
}

impl Scripts {
    pub(crate) fn new() -> Scripts {
        Scripts {
            unstage: with_common(include_str!("lua/unstage.lua")),
            requeue: with_common(include_str!("lua/requeue.lua")),
            defer: with_common(include_str!("lua/defer.lua")),
            dead_letter: with_common(include_str!("lua/dead_letter.lua")),
            dead_retry: with_common(include_str!("lua/dead_retry.lua")),
            promote: with_common(include_str!("lua/promote.lua")),
            release_owner: with_common(include_str!("lua/release_owner.lua")),
            heartbeat: with_common(include_str!("lua/heartbeat.lua")),
            chord_part: Script::new(include_str!("lua/chord_part.lua")),
            chord_done: Script::new(include_str!("lua/chord_done.lua")),
            enqueue_delayed: source(include_str!("lua/enqueue_delayed.lua")),
        }
    }
}

//! Remote control in Celery's pidbox format (PROTOCOL.md §10): commands a
//! client broadcasts to workers (`ping`, `revoke`, `cancel_consumer`,
//! `add_consumer`…) and the replies workers send back.
//!
//! A broker that speaks it ([`Broker::next_control`](crate::Broker::next_control))
//! lets `celery control`, `celery inspect ping` and Celeriac's own server
//! reach Celeriac workers, and lets Celeriac reach Python workers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Where a reply goes: the client's reply queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    /// `reply.celery.pidbox`.
    pub exchange: String,
    /// The client's id ("oid"): the reply queue is `<oid>.reply.celery.pidbox`.
    pub routing_key: String,
}

/// One broadcast command, as Celery's `Mailbox` sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlCommand {
    /// `ping`, `revoke`, `cancel_consumer`, `add_consumer`…
    pub method: String,
    /// The method's arguments.
    #[serde(default)]
    pub arguments: Map<String, Value>,
    /// Nodenames it is for; `None` for every worker.
    #[serde(default)]
    pub destination: Option<Vec<String>>,
    /// Identifies the command; replies carry it.
    #[serde(default)]
    pub ticket: Option<String>,
    /// Where replies go; `None` when the sender wants none.
    #[serde(default)]
    pub reply_to: Option<ReplyTo>,
}

impl ControlCommand {
    /// A command for every worker, with a fresh ticket and no reply.
    pub fn broadcast(method: &str, arguments: Map<String, Value>) -> ControlCommand {
        ControlCommand {
            method: method.to_owned(),
            arguments,
            destination: None,
            ticket: Some(crate::new_uuid4()),
            reply_to: None,
        }
    }

    /// Whether the worker `nodename` should act on it.
    pub fn is_for(&self, nodename: &str) -> bool {
        self.destination
            .as_ref()
            .is_none_or(|d| d.iter().any(|n| n == nodename))
    }

    /// `arguments.task_id`: one id or a list (as `revoke` sends it).
    pub fn task_ids(&self) -> Vec<String> {
        match self.arguments.get("task_id") {
            Some(Value::String(id)) => vec![id.clone()],
            Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    }

    /// A string argument.
    pub fn str_argument(&self, key: &str) -> Option<&str> {
        self.arguments.get(key).and_then(Value::as_str)
    }

    /// `arguments.terminate` of `revoke`.
    pub fn terminate(&self) -> bool {
        self.arguments
            .get("terminate")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_celery_57_broadcasts() {
        let revoke: ControlCommand = serde_json::from_str(
            r#"{"method": "revoke", "arguments": {"task_id": ["a", "b"], "terminate": true, "signal": "SIGTERM"},
                "destination": null, "pattern": null, "matcher": null, "ticket": "t-1",
                "reply_to": {"exchange": "reply.celery.pidbox", "routing_key": "oid-1"}}"#,
        )
        .expect("decodes");
        assert_eq!(revoke.task_ids(), ["a", "b"]);
        assert!(revoke.terminate());
        assert!(revoke.is_for("anyone@host"));
        assert_eq!(revoke.reply_to.as_ref().map(|r| r.routing_key.as_str()), Some("oid-1"));
        let cancel: ControlCommand = serde_json::from_str(
            r#"{"method": "cancel_consumer", "arguments": {"queue": "q"}, "destination": ["w1@h"]}"#,
        )
        .expect("decodes");
        assert_eq!(cancel.str_argument("queue"), Some("q"));
        assert!(cancel.is_for("w1@h") && !cancel.is_for("w2@h"));
        assert!(!revoke.clone().terminate() || revoke.task_ids().len() == 2);
    }
}

//! The metric families: names, help texts, and which event feeds which.

/// A metric family's name and `# HELP` text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
}

/// The per-task counters, each fed by one event type.
pub(crate) const TASK_COUNTERS: [(&str, Family); 6] = [
    (
        "task-received",
        Family {
            name: "celeriac_tasks_received_total",
            help: "Tasks received by a worker.",
        },
    ),
    (
        "task-started",
        Family {
            name: "celeriac_tasks_started_total",
            help: "Tasks started.",
        },
    ),
    (
        "task-succeeded",
        Family {
            name: "celeriac_tasks_succeeded_total",
            help: "Tasks that succeeded.",
        },
    ),
    (
        "task-failed",
        Family {
            name: "celeriac_tasks_failed_total",
            help: "Tasks that failed.",
        },
    ),
    (
        "task-retried",
        Family {
            name: "celeriac_tasks_retried_total",
            help: "Task runs that ended in a retry.",
        },
    ),
    (
        "task-revoked",
        Family {
            name: "celeriac_tasks_revoked_total",
            help: "Tasks revoked (or expired) before or while running.",
        },
    ),
];

/// Index in [`TASK_COUNTERS`] of the counter an event type feeds.
pub(crate) fn task_counter(kind: &str) -> Option<usize> {
    TASK_COUNTERS.iter().position(|(k, _)| *k == kind)
}

/// Task events that end a task: its name and queue are then the first to
/// be evicted (kept meanwhile for events that arrive out of order).
pub(crate) fn ends_task(kind: &str) -> bool {
    matches!(kind, "task-succeeded" | "task-failed" | "task-revoked")
}

pub(crate) const EVENTS: Family = Family {
    name: "celeriac_events_total",
    help: "Task and worker events seen, by type.",
};

pub(crate) const RUNTIME: Family = Family {
    name: "celeriac_task_runtime_seconds",
    help: "Task run time in seconds, from task-succeeded and task-failed events.",
};

pub(crate) const QUEUE_WAIT: Family = Family {
    name: "celeriac_task_queue_wait_seconds",
    help: "Seconds from enqueue to start, from task-started events that carry it.",
};

pub(crate) const QUEUE_MESSAGES: Family = Family {
    name: "celeriac_queue_messages",
    help: "Messages in a queue, by state (ready, in_flight, delayed, dead).",
};

pub(crate) const WORKERS_ALIVE: Family = Family {
    name: "celeriac_workers_alive",
    help: "Registered workers whose heartbeat is within its lease.",
};

pub(crate) const WORKER_UP: Family = Family {
    name: "celeriac_worker_up",
    help: "1 for a registered worker whose heartbeat is within its lease, 0 for one recently gone.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_texts_need_no_escaping() {
        let all = TASK_COUNTERS.iter().map(|(_, f)| *f).chain([
            EVENTS,
            RUNTIME,
            QUEUE_WAIT,
            QUEUE_MESSAGES,
            WORKERS_ALIVE,
            WORKER_UP,
        ]);
        for family in all {
            assert!(!family.help.contains(['\\', '\n']), "{}", family.name);
            assert!(family.name.starts_with("celeriac_"));
        }
    }
}

//! Tasks every `celeriac serve` and `celeriac worker` registers, for smoke
//! tests, benchmarks and interoperability checks.

use std::time::Duration;

use serde_json::{Number, Value};

use crate::{task, TaskContext, TaskError, TaskRegistry};

/// Does nothing (benchmarks measure the queue, not the task).
#[task(name = "celeriac.noop", crate = "crate")]
pub async fn noop() {}

/// Adds two numbers: integers stay integers, anything else is a float.
#[task(name = "celeriac.add", crate = "crate")]
pub async fn add(x: Number, y: Number) -> Result<Value, TaskError> {
    if let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) {
        return a
            .checked_add(b)
            .map(Value::from)
            .ok_or_else(|| TaskError::new("OverflowError", format!("{a} + {b} overflows 64 bits")));
    }
    match (x.as_f64(), y.as_f64()) {
        (Some(a), Some(b)) => Ok(Value::from(a + b)),
        _ => Err(TaskError::new("TypeError", "add() needs two numbers")),
    }
}

/// Returns its argument unchanged.
#[task(name = "celeriac.echo", crate = "crate")]
pub async fn echo(value: Value) -> Value {
    value
}

/// Sleeps, then returns the seconds slept; stops early (with an error) at
/// its soft time limit.
#[task(name = "celeriac.sleep", crate = "crate")]
pub async fn sleep(seconds: f64, ctx: TaskContext) -> Result<f64, TaskError> {
    if !(seconds.is_finite() && seconds >= 0.0) {
        return Err(TaskError::new("ValueError", format!("cannot sleep {seconds} seconds")));
    }
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs_f64(seconds)) => Ok(seconds),
        _ = ctx.cancelled() => Err(TaskError::new("SoftTimeLimitExceeded", "stopped at the soft time limit")
            .with_module("celery.exceptions")),
    }
}

/// Always fails with `RuntimeError(message)`.
#[task(name = "celeriac.fail", crate = "crate", max_retries = 0)]
pub async fn fail(message: String) -> Result<(), TaskError> {
    Err(TaskError::new("RuntimeError", message))
}

/// Busy-loops on the `cpu` pool until `ms` milliseconds of this thread's
/// CPU time are used; returns the CPU milliseconds used.
#[task(name = "celeriac.burn", crate = "crate", kind = "cpu")]
pub fn burn(ms: f64, ctx: TaskContext) -> Result<f64, TaskError> {
    if !(ms.is_finite() && ms >= 0.0) {
        return Err(TaskError::new("ValueError", format!("cannot burn {ms} ms")));
    }
    let start = thread_cpu_ms();
    let mut x = 0u64;
    loop {
        for i in 0..10_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
        std::hint::black_box(x);
        let used = thread_cpu_ms() - start;
        if used >= ms {
            return Ok(used);
        }
        if ctx.is_cancelled() {
            return Err(
                TaskError::new("SoftTimeLimitExceeded", "stopped at the soft time limit")
                    .with_module("celery.exceptions"),
            );
        }
    }
}

/// The worker's wall clock when the task started, in seconds since the
/// epoch (for enqueue-to-start latency measurements).
#[task(name = "celeriac.now", crate = "crate")]
pub async fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn thread_cpu_ms() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec to write into.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 * 1_000.0 + ts.tv_nsec as f64 / 1_000_000.0
}

/// A registry holding every built-in task.
pub fn registry() -> TaskRegistry {
    let mut r = TaskRegistry::new();
    r.register::<noop>()
        .register::<add>()
        .register::<echo>()
        .register::<sleep>()
        .register::<fail>()
        .register::<burn>()
        .register::<now>();
    r
}

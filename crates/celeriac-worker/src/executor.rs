//! Runs one task on the execution kind it asked for, under its time limits,
//! turning panics into failures.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use celeriac_core::task::RegisteredTask;
use celeriac_core::{ExecutionKind, TaskArgs, TaskContext, TaskHandler, TaskOutcome};
use futures::FutureExt as _;
use tokio::sync::oneshot;

use crate::cpu_pool::CpuPool;

/// How a run ended.
#[derive(Debug)]
pub(crate) enum RunOutcome {
    /// The function returned.
    Returned(TaskOutcome),
    /// The function panicked with this message.
    Panicked(String),
    /// The hard time limit passed; the run was abandoned.
    TimedOut(Duration),
    /// Termination was asked for (revoke with terminate): an async run was
    /// dropped; a blocking or cpu run had its cancellation token cancelled
    /// and was abandoned to finish on its thread.
    Terminated,
}

/// Soft and hard limits of one run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Limits {
    pub(crate) soft: Option<Duration>,
    pub(crate) hard: Option<Duration>,
}

pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => (*s).to_owned(),
            Err(_) => "panic with a non-string payload".to_owned(),
        },
    }
}

/// Runs the task. Never panics, whatever the task does.
pub(crate) async fn run(
    task: &RegisteredTask,
    ctx: TaskContext,
    args: TaskArgs,
    limits: Limits,
    cpu: &CpuPool,
    terminate: &tokio_util::sync::CancellationToken,
) -> RunOutcome {
    let handler = task.handler.clone();
    match (task.options.kind, handler) {
        (ExecutionKind::Async, TaskHandler::Async(f)) => {
            let token = ctx.cancellation_token().clone();
            // The call itself is inside the future so a panic while building
            // it is caught too.
            let fut = AssertUnwindSafe(async move { f(ctx, args).await }).catch_unwind();
            supervise(fut, limits, None, &token, terminate).await
        }
        (ExecutionKind::Async, TaskHandler::Sync(f)) => {
            // A plain fn declared `async` kind: runs inline; meant for cheap work.
            match std::panic::catch_unwind(AssertUnwindSafe(|| f(ctx, args))) {
                Ok(outcome) => RunOutcome::Returned(outcome),
                Err(payload) => RunOutcome::Panicked(panic_message(payload)),
            }
        }
        (ExecutionKind::Blocking, handler) => {
            let token = ctx.cancellation_token().clone();
            let (tx, rx) = oneshot::channel();
            tokio::task::spawn_blocking(move || {
                let r = std::panic::catch_unwind(AssertUnwindSafe(|| handler.call_blocking(ctx, args)));
                let _ = tx.send(r);
            });
            supervise(receive(rx), limits, None, &token, terminate).await
        }
        (ExecutionKind::Cpu, handler) => {
            let token = ctx.cancellation_token().clone();
            let (tx, rx) = oneshot::channel();
            let job = cpu.execute(move || {
                let r = std::panic::catch_unwind(AssertUnwindSafe(|| handler.call_blocking(ctx, args)));
                let _ = tx.send(r);
            });
            supervise(receive(rx), limits, Some(job), &token, terminate).await
        }
    }
}

type Caught = Result<TaskOutcome, Box<dyn Any + Send>>;

async fn receive(rx: oneshot::Receiver<Caught>) -> Caught {
    match rx.await {
        Ok(r) => r,
        Err(_) => Err(Box::new("the task's thread ended without an answer".to_owned())),
    }
}

/// Awaits `fut`, cancelling `token` at the soft limit and abandoning the run
/// at the hard limit or when `terminate` is cancelled.
async fn supervise(
    fut: impl Future<Output = Caught>,
    limits: Limits,
    job: Option<crate::cpu_pool::JobHandle>,
    token: &tokio_util::sync::CancellationToken,
    terminate: &tokio_util::sync::CancellationToken,
) -> RunOutcome {
    let finish = |r: Caught| match r {
        Ok(outcome) => RunOutcome::Returned(outcome),
        Err(payload) => RunOutcome::Panicked(panic_message(payload)),
    };
    tokio::pin!(fut);
    let soft = async {
        match limits.soft {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let hard = async {
        match limits.hard {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(soft, hard);
    let mut soft_fired = false;
    loop {
        tokio::select! {
            r = &mut fut => return finish(r),
            _ = &mut soft, if !soft_fired => {
                soft_fired = true;
                token.cancel();
            }
            _ = &mut hard => {
                token.cancel();
                if let Some(job) = &job {
                    job.abandon();
                }
                return RunOutcome::TimedOut(limits.hard.unwrap_or_default());
            }
            _ = terminate.cancelled() => {
                token.cancel();
                if let Some(job) = &job {
                    job.abandon();
                }
                return RunOutcome::Terminated;
            }
        }
    }
}

//! Child processes of the benchmark: workers and the producer.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// What a worker started with `--bench-report N` prints when N are settled.
#[derive(Debug, Deserialize)]
pub(crate) struct WorkerReport {
    pub first: f64,
    pub last: f64,
    pub peak_rss_kb: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Produced {
    pub t0: f64,
    pub t1: f64,
}

pub(crate) struct WorkerProc {
    child: Child,
    stdout: Option<BufReader<ChildStdout>>,
}

fn exe() -> anyhow::Result<std::path::PathBuf> {
    std::env::current_exe().context("cannot find the celeriac executable")
}

impl WorkerProc {
    pub(crate) fn spawn(url: &str, extra: &[String], report: Option<usize>) -> anyhow::Result<WorkerProc> {
        let mut cmd = Command::new(exe()?);
        cmd.args(["--log", "warn", "--broker", url, "worker"]).args(extra);
        if let Some(n) = report {
            cmd.args(["--bench-report", &n.to_string()]);
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true);
        let mut child = cmd.spawn().context("cannot start a worker process")?;
        let stdout = child.stdout.take().map(BufReader::new);
        Ok(WorkerProc { child, stdout })
    }

    pub(crate) async fn wait_registered(&self, url: &str) -> anyhow::Result<()> {
        let b = celeriac::connect(Some(url), None)?;
        let pid = self.child.id().unwrap_or(0);
        for _ in 0..200 {
            let workers = b.broker.workers().await?;
            if workers.iter().any(|w| w.alive && w.info.pid == pid) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!("the worker process did not register within 5 s")
    }

    pub(crate) fn rss_kb(&self) -> Option<u64> {
        let pid = self.child.id()?;
        status_kb(pid, "VmRSS:")
    }

    pub(crate) async fn report(&mut self, timeout: Duration) -> anyhow::Result<WorkerReport> {
        let Some(stdout) = self.stdout.as_mut() else {
            bail!("the worker's output is not available");
        };
        let mut line = String::new();
        let read = tokio::time::timeout(timeout, stdout.read_line(&mut line)).await;
        match read {
            Ok(Ok(n)) if n > 0 => {
                serde_json::from_str(line.trim()).with_context(|| format!("unexpected worker report: {line}"))
            }
            Ok(Ok(_)) => bail!("the worker exited before finishing the tasks"),
            Ok(Err(e)) => Err(e).context("cannot read the worker's report"),
            Err(_) => bail!("the worker did not finish within {timeout:?}"),
        }
    }

    pub(crate) async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: sending SIGTERM to our own child.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

pub(crate) fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

pub(crate) async fn produce(url: &str, tasks: usize, batch: usize) -> anyhow::Result<Produced> {
    let out = Command::new(exe()?)
        .args(["--log", "warn", "--broker", url, "bench-produce"])
        .args(["--tasks", &tasks.to_string(), "--batch", &batch.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .await
        .context("cannot run the producer process")?;
    if !out.status.success() {
        bail!("the producer process failed ({})", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).with_context(|| format!("unexpected producer output: {text}"))
}

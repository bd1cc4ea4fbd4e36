//! Settings from a TOML file, overridden by environment and flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::cli::{Global, ServeArgs, WorkerArgs};

/// `celeriac.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub broker: Option<String>,
    pub result_backend: Option<String>,
    #[serde(default)]
    pub worker: WorkerSection,
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub photos: PhotosSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSection {
    pub queues: Option<Vec<String>>,
    pub concurrency: Option<usize>,
    pub prefetch: Option<usize>,
    pub cpu_threads: Option<usize>,
    pub lease_secs: Option<f64>,
    pub grace_secs: Option<f64>,
    pub track_started: Option<bool>,
    pub result_extended: Option<bool>,
    pub max_message_bytes: Option<usize>,
    pub max_depth: Option<usize>,
    pub events: Option<bool>,
    pub hostname: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub bind: Option<std::net::SocketAddr>,
    /// `["admin:SECRET", "read:SECRET"]`.
    pub api_tokens: Option<Vec<String>>,
    pub allow_submit: Option<Vec<String>>,
    pub secure_cookies: Option<bool>,
    pub history: Option<PathBuf>,
    pub history_days: Option<f64>,
    pub history_max_tasks: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotosSection {
    pub max_upload_bytes: Option<usize>,
    pub ttl_secs: Option<f64>,
}

/// Loads the file named by `--config`/`CELERIAC_CONFIG`, or `./celeriac.toml`.
pub fn load(global: &Global) -> anyhow::Result<FileConfig> {
    let (path, explicit): (PathBuf, bool) = match &global.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("celeriac.toml"), false),
    };
    if !path.exists() {
        if explicit {
            bail!("config file {} does not exist", path.display());
        }
        return Ok(FileConfig::default());
    }
    read(&path)
}

fn read(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not a valid config: {}", path.display(), e.message()))
}

fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value > 0.0) {
        bail!("{flag} must be a positive number of seconds, not {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

/// The worker settings: flags over file over defaults.
pub fn worker_config(args: &WorkerArgs, file: &FileConfig) -> anyhow::Result<celeriac::WorkerConfig> {
    let mut config = celeriac::WorkerConfig::default();
    let w = &file.worker;
    if !args.queues.is_empty() {
        config.queues = args
            .queues
            .iter()
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty())
            .collect();
    } else if let Some(q) = &w.queues {
        config.queues = q.clone();
    }
    if let Some(c) = args.concurrency.or(w.concurrency) {
        if c == 0 {
            bail!("--concurrency must be at least 1");
        }
        config.concurrency = c;
        config.prefetch = config.prefetch.max(c);
    }
    if let Some(p) = args.prefetch.or(w.prefetch) {
        if p == 0 {
            bail!("--prefetch must be at least 1");
        }
        config.prefetch = p;
    }
    if let Some(t) = args.cpu_threads.or(w.cpu_threads) {
        config.cpu_threads = t;
    }
    if let Some(l) = args.lease.or(w.lease_secs) {
        config.lease = seconds("--lease", l)?;
    }
    if let Some(g) = args.grace.or(w.grace_secs) {
        config.shutdown_grace = seconds("--grace", g)?;
    }
    config.track_started = args.track_started || w.track_started.unwrap_or(false);
    config.result_extended = args.result_extended || w.result_extended.unwrap_or(false);
    config.execution_log = args.execution_log.clone();
    config.events = !args.no_events && w.events.unwrap_or(true);
    if let Some(name) = args.hostname.as_ref().or(w.hostname.as_ref()) {
        let name = name
            .replace("%h", &celeriac::crates::core::host::hostname())
            .replace("%p", &std::process::id().to_string());
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            bail!("--hostname must be printable and not empty");
        }
        config.hostname = name;
    }
    if let Some(bytes) = args.max_message_bytes.or(w.max_message_bytes) {
        if bytes < 1024 {
            bail!("--max-message-bytes must be at least 1024");
        }
        config.decode_limits.max_message_bytes = bytes;
    }
    if let Some(depth) = args.max_depth.or(w.max_depth) {
        if depth < 4 {
            bail!("--max-depth must be at least 4 (a message body is already 3 deep)");
        }
        config.decode_limits.max_depth = depth;
    }
    Ok(config)
}

/// The photo app's settings: flags over file over defaults.
pub fn photos_config(args: &ServeArgs, file: &FileConfig) -> anyhow::Result<celeriac_photos::PhotosConfig> {
    let mut config = celeriac_photos::PhotosConfig::default();
    if let Some(bytes) = args.max_upload_bytes.or(file.photos.max_upload_bytes) {
        if bytes == 0 {
            bail!("--max-upload-bytes must be at least 1");
        }
        config.max_upload_bytes = bytes;
    }
    if let Some(ttl) = file.photos.ttl_secs {
        config.photo_ttl = seconds("photos.ttl_secs", ttl)?;
    }
    Ok(config)
}

//! Connection URL and kombu transport options.

use std::time::Duration;

use celeriac_core::BrokerError;

/// Where messages with an ETA wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtaPublish {
    /// On the queue list, as Celery publishes them (`LPUSH`), so that a fleet
    /// of Python workers can take them too; a Celeriac worker that receives
    /// one before its time moves it to the delayed set instead of holding it.
    Queue,
    /// Straight into the delayed set; a Celeriac scheduler puts it on its
    /// queue when due (Python workers see it only then).
    Broker,
}

/// Settings of a Redis broker and result backend.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisConfig {
    /// The connection URL without Celeriac's own query settings.
    pub url: String,
    /// kombu's `global_keyprefix`: prefixes every key and channel.
    pub global_keyprefix: String,
    /// kombu's `sep` between a queue name and its priority step.
    pub sep: String,
    /// kombu's `priority_steps` (lower served first on Redis).
    pub priority_steps: Vec<u8>,
    /// Prefix of result keys (`celery-task-meta-`), after `global_keyprefix`.
    pub result_prefix: String,
    /// Time to live of results (Celery's `result_expires`, default a day).
    pub result_ttl: Option<Duration>,
    /// Where ETA messages wait.
    pub eta_publish: EtaPublish,
    /// How often an idle consumer looks for messages that arrived without
    /// a Celeriac wake-up (published by Python clients).
    pub poll_interval: Duration,
    /// For `rediss://`: a PEM file of the CA that signed the server's
    /// certificate (a private CA), instead of the usual public roots.
    pub tls_ca: Option<std::path::PathBuf>,
    /// For `rediss://` with client authentication: PEM certificate and key.
    pub tls_client: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl RedisConfig {
    /// Settings for `url` with kombu's and Celery's defaults.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            global_keyprefix: String::new(),
            sep: "\x06\x16".into(),
            priority_steps: vec![0, 3, 6, 9],
            result_prefix: "celery-task-meta-".into(),
            result_ttl: Some(Duration::from_secs(86_400)),
            eta_publish: EtaPublish::Queue,
            poll_interval: Duration::from_millis(20),
            tls_ca: None,
            tls_client: None,
        }
    }

    /// Parses `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS)
    /// or `redis+unix:///path/to/socket[?db=N]`, with optional settings in
    /// the query: `global_keyprefix`, `sep`, `priority_steps` (e.g.
    /// `0,3,6,9`), `result_prefix`, `result_ttl` (seconds, `0` = forever),
    /// `eta=queue|broker`, `poll_ms`, and for TLS `tls_ca=/path/ca.pem`,
    /// `tls_cert=/path/cert.pem` with `tls_key=/path/key.pem`. Other query keys are left to the
    /// Redis client (`db`, `protocol`).
    ///
    /// # Errors
    ///
    /// [`BrokerError::Invalid`] naming the bad part.
    pub fn from_url(url: &str) -> Result<Self, BrokerError> {
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        if !matches!(
            scheme,
            "redis" | "rediss" | "redis+unix" | "unix" | "valkey" | "valkeys"
        ) {
            return Err(BrokerError::Invalid(format!("`{url}` is not a redis:// URL")));
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let mut config = RedisConfig::new(base);
        let mut passthrough = Vec::new();
        let (mut tls_cert, mut tls_key) = (None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(raw).map_err(|e| BrokerError::Invalid(format!("{key}: {e}")))?;
            match key {
                "global_keyprefix" => config.global_keyprefix = value,
                "sep" => config.sep = value,
                "result_prefix" => config.result_prefix = value,
                "priority_steps" => {
                    let steps: Result<Vec<u8>, _> = value.split(',').map(|s| s.trim().parse::<u8>()).collect();
                    let mut steps = steps.map_err(|_| {
                        BrokerError::Invalid(format!("priority_steps={value}: expected numbers 0-9 like 0,3,6,9"))
                    })?;
                    steps.sort_unstable();
                    steps.dedup();
                    if steps.first() != Some(&0) || steps.iter().any(|s| *s > 9) {
                        return Err(BrokerError::Invalid(format!(
                            "priority_steps={value}: must start at 0 and stay within 0-9"
                        )));
                    }
                    config.priority_steps = steps;
                }
                "result_ttl" => {
                    let secs: u64 = value
                        .parse()
                        .map_err(|_| BrokerError::Invalid(format!("result_ttl={value}: expected whole seconds")))?;
                    config.result_ttl = (secs > 0).then(|| Duration::from_secs(secs));
                }
                "eta" => {
                    config.eta_publish = match value.as_str() {
                        "queue" => EtaPublish::Queue,
                        "broker" => EtaPublish::Broker,
                        other => {
                            return Err(BrokerError::Invalid(format!("eta={other}: expected queue or broker")));
                        }
                    }
                }
                "poll_ms" => {
                    let ms: u64 = value
                        .parse()
                        .map_err(|_| BrokerError::Invalid(format!("poll_ms={value}: expected milliseconds")))?;
                    config.poll_interval = Duration::from_millis(ms.max(1));
                }
                "tls_ca" => config.tls_ca = Some(value.into()),
                "tls_cert" => tls_cert = Some(std::path::PathBuf::from(value)),
                "tls_key" => tls_key = Some(std::path::PathBuf::from(value)),
                _ => passthrough.push(pair),
            }
        }
        match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => config.tls_client = Some((cert, key)),
            (None, None) => {}
            _ => return Err(BrokerError::Invalid("tls_cert and tls_key go together".into())),
        }
        if !passthrough.is_empty() {
            config.url = format!("{base}?{}", passthrough.join("&"));
        }
        Ok(config)
    }
}

/// Decodes `%XX` escapes (for separators such as `%06%16`).
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or("truncated %-escape")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad %-escape `%{hex}`"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 after decoding".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_transport_options() {
        let c = RedisConfig::from_url(
            "redis://u:p@h:6380/3?global_keyprefix=app:&sep=%06%16&priority_steps=0,5,9&eta=broker&result_ttl=60&protocol=resp3",
        )
        .unwrap();
        assert_eq!(c.url, "redis://u:p@h:6380/3?protocol=resp3");
        assert_eq!(c.global_keyprefix, "app:");
        assert_eq!(c.sep, "\x06\x16");
        assert_eq!(c.priority_steps, vec![0, 5, 9]);
        assert_eq!(c.eta_publish, EtaPublish::Broker);
        assert_eq!(c.result_ttl, Some(Duration::from_secs(60)));
        assert!(RedisConfig::from_url("redis://h?priority_steps=3,9").is_err());
        assert!(RedisConfig::from_url("redis://h?eta=later").is_err());
        assert!(RedisConfig::from_url("sqlite:///x").is_err());
        assert!(RedisConfig::from_url("redis://h?sep=%0").is_err());
    }
}

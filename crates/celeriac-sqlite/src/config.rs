//! Where the store lives and how durable it is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use celeriac_core::BrokerError;

/// How much a committed write survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL mode: a commit survives `kill -9` of any
    /// process (it is in the OS page cache); a power loss may lose the last
    /// commits since the previous checkpoint. No fsync per commit.
    #[default]
    Process,
    /// `synchronous=FULL`: every commit is fsynced and survives power loss;
    /// each commit then costs one fsync of the WAL (group commit amortizes it).
    PowerLoss,
}

/// Settings of an embedded store.
#[derive(Debug, Clone, PartialEq)]
pub struct SqliteConfig {
    /// Database file; its directory is created if missing.
    pub path: PathBuf,
    /// Commit durability.
    pub durability: Durability,
    /// Time to live of stored results (`None`: forever). Default one day.
    pub result_ttl: Option<Duration>,
    /// How long a write waits for another process's transaction.
    pub busy_timeout: Duration,
}

impl SqliteConfig {
    /// Settings for the database at `path`, with defaults.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteConfig {
            path: path.into(),
            durability: Durability::Process,
            result_ttl: Some(Duration::from_secs(86_400)),
            busy_timeout: Duration::from_secs(30),
        }
    }

    /// The per-user default store: `$XDG_DATA_HOME/celeriac/celeriac.db`, or
    /// `~/.local/share/celeriac/celeriac.db`.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Invalid`] when neither `XDG_DATA_HOME` nor `HOME` is set.
    pub fn default_path() -> Result<PathBuf, BrokerError> {
        let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
                Some(home) => Path::new(&home).join(".local").join("share"),
                None => {
                    return Err(BrokerError::Invalid(
                        "cannot find a home for the default store: set HOME, XDG_DATA_HOME or --broker".into(),
                    ))
                }
            },
        };
        Ok(base.join("celeriac").join("celeriac.db"))
    }

    /// Parses `sqlite:///absolute/path.db` or `sqlite://relative.db`, with
    /// optional query settings `synchronous=normal|full` and
    /// `result_ttl=<seconds>` (`0` keeps results forever).
    ///
    /// # Errors
    ///
    /// [`BrokerError::Invalid`] naming what is wrong with the URL.
    pub fn from_url(url: &str) -> Result<Self, BrokerError> {
        let rest = url
            .strip_prefix("sqlite://")
            .ok_or_else(|| BrokerError::Invalid(format!("`{url}` is not a sqlite:// URL")))?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(BrokerError::Invalid(format!(
                "`{url}` names no file: use sqlite:///absolute/path.db"
            )));
        }
        let mut config = SqliteConfig::new(path);
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "synchronous" => {
                    config.durability = match value.to_ascii_lowercase().as_str() {
                        "normal" => Durability::Process,
                        "full" => Durability::PowerLoss,
                        other => {
                            return Err(BrokerError::Invalid(format!(
                                "synchronous={other}: expected normal or full"
                            )))
                        }
                    }
                }
                "result_ttl" => {
                    let secs: u64 = value
                        .parse()
                        .map_err(|_| BrokerError::Invalid(format!("result_ttl={value}: expected whole seconds")))?;
                    config.result_ttl = (secs > 0).then(|| Duration::from_secs(secs));
                }
                other => {
                    return Err(BrokerError::Invalid(format!(
                        "unknown sqlite URL setting `{other}` (known: synchronous, result_ttl)"
                    )))
                }
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let c = SqliteConfig::from_url("sqlite:///tmp/x.db?synchronous=full&result_ttl=60").unwrap();
        assert_eq!(c.path, PathBuf::from("/tmp/x.db"));
        assert_eq!(c.durability, Durability::PowerLoss);
        assert_eq!(c.result_ttl, Some(Duration::from_secs(60)));
        assert_eq!(
            SqliteConfig::from_url("sqlite://rel.db").unwrap().path,
            PathBuf::from("rel.db")
        );
        assert!(SqliteConfig::from_url("sqlite://").is_err());
        assert!(SqliteConfig::from_url("redis://x").is_err());
        assert!(SqliteConfig::from_url("sqlite:///x?synchronous=maybe").is_err());
        assert!(SqliteConfig::from_url("sqlite:///x?color=red").is_err());
    }
}

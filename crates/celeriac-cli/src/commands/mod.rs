//! One module per subcommand.

pub mod call;
pub mod dead;
pub mod inspect;
pub mod purge;
pub mod result;
pub mod revoke;
pub mod serve;
pub mod worker;

use anyhow::Context as _;
use celeriac::{Backends, Client};

use crate::cli::Global;
use crate::config::FileConfig;

/// What every command needs: where the broker is, and the file settings.
pub struct Context {
    pub broker_url: Option<String>,
    pub result_url: Option<String>,
    pub file: FileConfig,
}

impl Context {
    pub fn new(global: &Global, file: FileConfig) -> Context {
        Context {
            broker_url: global.broker.clone().or_else(|| file.broker.clone()),
            result_url: global.result_backend.clone().or_else(|| file.result_backend.clone()),
            file,
        }
    }

    /// Opens the broker and result backend.
    pub fn connect(&self) -> anyhow::Result<Backends> {
        celeriac::connect(self.broker_url.as_deref(), self.result_url.as_deref()).with_context(|| {
            format!(
                "cannot open the broker {}",
                self.broker_url.as_deref().unwrap_or("(per-user default store)")
            )
        })
    }

    pub fn client(&self) -> anyhow::Result<(Client, Backends)> {
        let backends = self.connect()?;
        Ok((Client::new(backends.broker.clone(), backends.backend.clone()), backends))
    }
}

/// Prints a result value: strings bare, everything else as JSON.
pub fn print_value(value: &serde_json::Value) {
    match value {
        serde_json::Value::String(s) => println!("{s}"),
        other => println!("{other}"),
    }
}

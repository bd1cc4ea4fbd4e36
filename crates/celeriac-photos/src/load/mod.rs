//! The case for dispatching, measured.
//!
//! The same photo app runs in three server modes, each in a child process
//! on a fresh embedded store:
//!
//! - **(a) single-thread**: detection inline in the upload request, on a
//!   single-threaded server (a current-thread Tokio runtime);
//! - **(b) thread-per-request**: detection inline, each connection on its
//!   own OS thread (as a threaded WSGI server or Apache's worker MPM);
//! - **(c) workers**: the upload is validated, stored and dispatched, and a
//!   Celeriac worker in the same process detects on its `cpu` pool, set to
//!   leave one core to the server (as `celeriac serve` does).
//!
//! At each offered upload rate the generator sends uploads on a fixed
//! schedule (open loop: a slow server does not slow the arrivals), requests
//! the gallery page (the light page) ten times a second, follows results
//! over server-sent events, and records latencies, failures and the
//! server's peak memory. `examples/photo-load.rs` is the command.

mod calibrate;
mod chart;
mod child;
mod generator;
mod http;
mod report;
mod server;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

pub use calibrate::{calibrate, Calibration};
pub use chart::svg;
pub use child::ServerProcess;
pub use generator::{run_load, LoadPlan, Samples, PAGE_TIMEOUT, UPLOAD_TIMEOUT};
pub use report::{markdown, Measurement};
pub use server::run_server;

/// How the server under test runs detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// (a) Inline, single-threaded server.
    SingleThread,
    /// (b) Inline, a thread per request.
    ThreadPerRequest,
    /// (c) Dispatched to Celeriac workers.
    Workers,
}

impl Mode {
    /// Every mode, in table order.
    pub const ALL: [Mode; 3] = [Mode::SingleThread, Mode::ThreadPerRequest, Mode::Workers];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::SingleThread => "single-thread",
            Mode::ThreadPerRequest => "thread-per-request",
            Mode::Workers => "workers",
        }
    }

    /// Its label in tables and charts.
    pub fn label(self) -> &'static str {
        match self {
            Mode::SingleThread => "(a) inline, single-threaded server",
            Mode::ThreadPerRequest => "(b) inline, thread per request",
            Mode::Workers => "(c) dispatched to Celeriac workers",
        }
    }

    /// The mode named `name`.
    pub fn parse(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// A whole measurement: which modes, which rates, how long.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Modes to run.
    pub modes: Vec<Mode>,
    /// Offered upload rates, photos per second.
    pub rates: Vec<f64>,
    /// How long uploads are sent at each rate.
    pub duration: Duration,
    /// How long results may still arrive after the last upload.
    pub drain: Duration,
    /// Light-page requests per second.
    pub page_rate: f64,
    /// The program to start as the server (`photo-load` itself).
    pub program: PathBuf,
    /// The photos to upload, in turn: (file name, bytes).
    pub photos: Vec<(String, Vec<u8>)>,
}

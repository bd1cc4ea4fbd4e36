//! Celeriac's flagship web app: upload photos, detect faces on the workers,
//! see the result live.
//!
//! A web server must not do heavy work inside a request. The upload handler
//! here only checks the photo, puts it in the blob store and dispatches
//! `faces.detect` (chained to `faces.thumbnail`) with the blob's key; it
//! answers at once, and the page is updated over server-sent events when
//! the workers are done. `celeriac serve` mounts it at `/photos` ([`mount`]);
//! `crates/celeriac-photos/examples/photo-faces.rs` runs it alone.
//!
//! ```no_run
//! use celeriac_photos::{mount, tasks, Photos, PhotosConfig};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let backends = celeriac::connect(None, None)?;
//! let photos = Photos::new(&backends, PhotosConfig::default());
//! let app = mount(axum::Router::new(), "/photos", photos);
//! // …and a worker with `tasks::registry()` and `backends.resources()`.
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod app;
mod config;
pub mod detect;
pub mod gallery;
pub mod imaging;
pub mod load;
pub mod schema;
pub mod tasks;
pub mod validation;
mod web;

pub use app::{AcceptError, Photos};
pub use config::{Execution, PhotosConfig};
pub use web::{faces_text, mount, mounted_app, router, MAX_IDS, STREAM_LIMIT};

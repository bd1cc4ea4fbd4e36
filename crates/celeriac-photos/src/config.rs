//! Settings of the photo app.

use std::time::Duration;

/// Where face detection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Execution {
    /// Dispatched to the workers as a `faces.detect` → `faces.thumbnail`
    /// chain; the upload is answered at once. The app's mode.
    #[default]
    Dispatch,
    /// Inside the upload request, which answers when detection is done —
    /// the anti-pattern the app exists to avoid, kept so the load tool can
    /// measure it (`docs/photos-load.md`).
    Inline,
}

/// Settings of the photo app.
#[derive(Debug, Clone)]
pub struct PhotosConfig {
    /// Largest photo accepted, in bytes (default 10 MB).
    pub max_upload_bytes: usize,
    /// Most photos in one upload request (default 32).
    pub max_files_per_request: usize,
    /// How long photos, thumbnails and gallery entries are kept (default a
    /// day, as results are).
    pub photo_ttl: Duration,
    /// Uploads shown on the page (default 48).
    pub gallery_size: usize,
    /// Where detection runs.
    pub execution: Execution,
}

impl Default for PhotosConfig {
    fn default() -> Self {
        PhotosConfig {
            max_upload_bytes: 10 * 1000 * 1000,
            max_files_per_request: 32,
            photo_ttl: Duration::from_secs(86_400),
            gallery_size: 48,
            execution: Execution::Dispatch,
        }
    }
}

//! The arguments and results of the `faces.*` tasks, as JSON on the wire.
//! Python clients send and read the same documents; see `docs/photos.md`.

use serde::{Deserialize, Serialize};

/// A photo in the blob store: the argument of `faces.detect`.
///
/// JSON: `{"blob": "<key>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRef {
    /// Its key in the blob store of the worker's broker.
    pub blob: String,
}

/// Width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSize {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// One detected face, in pixels of the original photo (origin top left).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceBox {
    /// Left edge (may be slightly negative for a face cut by the border).
    pub x: i32,
    /// Top edge (likewise).
    pub y: i32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Detector confidence; at least the score threshold (2.0).
    pub score: f64,
}

/// The detector settings a result was computed with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectorSettings {
    /// Smallest face side looked for, in pixels of the analysed image.
    pub min_face_size: u32,
    /// Faces scoring below this are dropped.
    pub score_threshold: f64,
    /// Factor between the scales of the image pyramid.
    pub pyramid_scale: f32,
    /// Step of the sliding window, in pixels.
    pub window_step: u32,
    /// Longest side analysed: larger photos are scaled down for detection
    /// and the boxes scaled back.
    pub max_side: u32,
}

/// The result of `faces.detect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The photo analysed (so a chained task can read it too).
    pub photo: PhotoRef,
    /// Size of the photo.
    pub image: ImageSize,
    /// Every face found, highest score first.
    pub faces: Vec<FaceBox>,
    /// Milliseconds the worker spent decoding and detecting.
    pub elapsed_ms: f64,
    /// How the detector was set.
    pub detector: DetectorSettings,
}

/// The result of `faces.thumbnail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnail {
    /// Its key in the blob store.
    pub blob: String,
    /// Its media type (`image/jpeg`).
    pub content_type: String,
    /// Its size.
    pub size: ImageSize,
}

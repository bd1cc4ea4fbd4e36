//! The SeetaFace frontal model, embedded at build time (see `build.rs`), and
//! the detector settings.

use std::cell::RefCell;
use std::io::Cursor;
use std::sync::OnceLock;

use rustface::{Detector, Model};

use crate::schema::DetectorSettings;

/// The model file the `rustface` package ships, copied by `build.rs`.
static MODEL_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/seeta_fd_frontal_v1.0.bin"));

/// The settings of every detection (those the test photos' known answers
/// were found with; see `tests/fixtures/photos/README.md`).
pub const SETTINGS: DetectorSettings = DetectorSettings {
    min_face_size: 20,
    score_threshold: 2.0,
    pyramid_scale: 0.8,
    window_step: 4,
    max_side: 1024,
};

/// The parsed model, shared by every thread (parsing takes milliseconds).
fn model() -> Result<&'static Model, String> {
    static MODEL: OnceLock<Result<Model, String>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            rustface::read_model(Cursor::new(MODEL_BYTES))
                .map_err(|e| format!("the embedded face model is unreadable: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

thread_local! {
    /// One detector per thread: a detector keeps scratch buffers between
    /// calls and is not `Send`. cpu-pool threads live long, so each builds
    /// its detector once.
    static DETECTOR: RefCell<Option<Box<dyn Detector>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's detector, built on first use.
///
/// # Errors
///
/// When the embedded model cannot be parsed (a broken build).
pub(crate) fn with_detector<T>(f: impl FnOnce(&mut dyn Detector) -> T) -> Result<T, String> {
    DETECTOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let detector = match slot.as_mut() {
            Some(detector) => detector,
            None => slot.insert(new_detector()?),
        };
        Ok(f(detector.as_mut()))
    })
}

fn new_detector() -> Result<Box<dyn Detector>, String> {
    let mut detector = rustface::create_detector_with_model(model()?.clone());
    detector.set_min_face_size(SETTINGS.min_face_size);
    detector.set_score_thresh(SETTINGS.score_threshold);
    detector.set_pyramid_scale_factor(SETTINGS.pyramid_scale);
    detector.set_slide_window_step(SETTINGS.window_step, SETTINGS.window_step);
    Ok(detector)
}

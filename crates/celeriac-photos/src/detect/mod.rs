//! Face detection with `rustface` and the SeetaFace frontal model, embedded
//! in the binary.

mod faces;
mod model;

pub use faces::find_faces;
pub use model::SETTINGS;

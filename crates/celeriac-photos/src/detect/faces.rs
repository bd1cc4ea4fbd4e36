//! Finding faces in a decoded photo.

use image::imageops::FilterType;
use image::DynamicImage;
use rustface::ImageData;

use super::model::{with_detector, SETTINGS};
use crate::schema::{FaceBox, ImageSize};

/// Faces in `image`, highest score first, in its own pixels.
///
/// A photo larger than [`SETTINGS`]`.max_side` is scaled down for the search
/// (a 24-megapixel photo would take seconds, and faces smaller than 1/50 of
/// it are rarely wanted); the boxes are scaled back.
///
/// # Errors
///
/// When the embedded model cannot be parsed (a broken build).
pub fn find_faces(image: &DynamicImage) -> Result<(ImageSize, Vec<FaceBox>), String> {
    let size = ImageSize {
        width: image.width(),
        height: image.height(),
    };
    let mut gray = image.to_luma8();
    let longest = size.width.max(size.height);
    let scale = if longest > SETTINGS.max_side {
        let factor = f64::from(SETTINGS.max_side) / f64::from(longest);
        let (w, h) = (scaled(size.width, factor).max(1), scaled(size.height, factor).max(1));
        gray = image::imageops::resize(&gray, w, h, FilterType::Triangle);
        factor
    } else {
        1.0
    };
    let found = with_detector(|detector| {
        let data = ImageData::new(gray.as_raw(), gray.width(), gray.height());
        detector.detect(&data)
    })?;
    let mut faces: Vec<FaceBox> = found
        .iter()
        .map(|face| {
            let b = face.bbox();
            FaceBox {
                x: (f64::from(b.x()) / scale).round() as i32,
                y: (f64::from(b.y()) / scale).round() as i32,
                width: scaled(b.width(), 1.0 / scale),
                height: scaled(b.height(), 1.0 / scale),
                score: face.score(),
            }
        })
        .collect();
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok((size, faces))
}

fn scaled(pixels: u32, factor: f64) -> u32 {
    (f64::from(pixels) * factor).round() as u32
}

//! Decoding photos safely: formats, header checks, pixel limits, thumbnails.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use thiserror::Error;

use crate::schema::ImageSize;

/// Largest photo accepted, in pixels (50 megapixels: a 8660×5773 photo).
/// Decoding is refused beyond it, so a small file that declares a huge
/// image (a decompression bomb) cannot exhaust memory.
pub const MAX_PIXELS: u64 = 50_000_000;

/// The formats the app accepts, by media type.
pub const ACCEPTED_TYPES: [(&str, ImageFormat); 3] = [
    ("image/png", ImageFormat::Png),
    ("image/jpeg", ImageFormat::Jpeg),
    ("image/webp", ImageFormat::WebP),
];

/// What is wrong with a photo's bytes.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ImageProblem {
    /// The bytes are not one of the accepted formats.
    #[error("not a PNG, JPEG or WebP image")]
    UnknownFormat,
    /// The bytes are another format than the declared one.
    #[error("the file is {found} but was sent as {declared}")]
    FormatMismatch {
        /// The declared media type.
        declared: String,
        /// The format the bytes are.
        found: &'static str,
    },
    /// The header does not decode.
    #[error("the image header cannot be read: {0}")]
    BadHeader(String),
    /// Zero width or height.
    #[error("the image is empty ({width}×{height} pixels)")]
    Empty {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// More pixels than [`MAX_PIXELS`].
    #[error("the image is {width}×{height} pixels; at most {} megapixels are accepted", MAX_PIXELS / 1_000_000)]
    TooManyPixels {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// The pixel data does not decode (truncated or corrupt file).
    #[error("the image cannot be decoded: {0}")]
    Corrupt(String),
    /// A thumbnail could not be encoded.
    #[error("the thumbnail cannot be encoded: {0}")]
    Encode(String),
}

impl ImageProblem {
    /// The error kind a task reports for it (Python-style exception name).
    pub fn kind(&self) -> &'static str {
        match self {
            ImageProblem::Encode(_) => "EncodeError",
            ImageProblem::TooManyPixels { .. } => "ImageTooLarge",
            _ => "InvalidImage",
        }
    }
}

/// Media-type name of a format, for messages.
fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "a PNG image",
        ImageFormat::Jpeg => "a JPEG image",
        ImageFormat::WebP => "a WebP image",
        _ => "another format",
    }
}

/// The format of `data`, from its first bytes, if accepted.
pub fn sniff(data: &[u8]) -> Option<ImageFormat> {
    let format = image::guess_format(data).ok()?;
    ACCEPTED_TYPES.iter().any(|(_, f)| *f == format).then_some(format)
}

/// Reads the header only: the format (which must match `declared`, when
/// given) and the size, within [`MAX_PIXELS`].
///
/// # Errors
///
/// An [`ImageProblem`] saying what is wrong.
pub fn inspect(data: &[u8], declared: Option<&str>) -> Result<(ImageFormat, ImageSize), ImageProblem> {
    let format = sniff(data).ok_or(ImageProblem::UnknownFormat)?;
    if let Some(declared) = declared {
        let expected = ACCEPTED_TYPES.iter().find(|(t, _)| *t == declared).map(|(_, f)| *f);
        if expected != Some(format) {
            return Err(ImageProblem::FormatMismatch {
                declared: declared.to_owned(),
                found: format_name(format),
            });
        }
    }
    let (width, height) = ImageReader::with_format(Cursor::new(data), format)
        .into_dimensions()
        .map_err(|e| ImageProblem::BadHeader(e.to_string()))?;
    check_size(width, height)?;
    Ok((format, ImageSize { width, height }))
}

fn check_size(width: u32, height: u32) -> Result<(), ImageProblem> {
    if width == 0 || height == 0 {
        return Err(ImageProblem::Empty { width, height });
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageProblem::TooManyPixels { width, height });
    }
    Ok(())
}

/// Decodes a whole photo, after checking its header.
///
/// # Errors
///
/// An [`ImageProblem`] saying what is wrong.
pub fn decode(data: &[u8]) -> Result<DynamicImage, ImageProblem> {
    let (format, _) = inspect(data, None)?;
    let mut reader = ImageReader::with_format(Cursor::new(data), format);
    let mut limits = Limits::default();
    // RGBA at 16 bits per channel: the most a checked photo can need.
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    reader.decode().map_err(|e| ImageProblem::Corrupt(e.to_string()))
}

/// A JPEG of `image` whose longest side is at most `max_side`.
///
/// # Errors
///
/// [`ImageProblem::Encode`] when encoding fails.
pub fn thumbnail_jpeg(image: &DynamicImage, max_side: u32) -> Result<(Vec<u8>, ImageSize), ImageProblem> {
    let small = if image.width().max(image.height()) > max_side {
        image.thumbnail(max_side, max_side)
    } else {
        image.clone()
    };
    let rgb = small.to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&rgb)
        .map_err(|e| ImageProblem::Encode(e.to_string()))?;
    Ok((
        out,
        ImageSize {
            width: rgb.width(),
            height: rgb.height(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        DynamicImage::new_rgb8(width, height)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn header_is_checked() {
        let data = png(40, 30);
        let (format, size) = inspect(&data, Some("image/png")).unwrap();
        assert_eq!(format, ImageFormat::Png);
        assert_eq!((size.width, size.height), (40, 30));
        assert_eq!(inspect(b"hello", None), Err(ImageProblem::UnknownFormat));
        assert!(matches!(
            inspect(&data, Some("image/jpeg")),
            Err(ImageProblem::FormatMismatch { .. })
        ));
        assert!(matches!(inspect(&data[..20], None), Err(ImageProblem::BadHeader(_))));
    }

    #[test]
    fn truncated_pixels_fail_to_decode() {
        let data = png(300, 300);
        assert!(decode(&data).is_ok());
        assert!(matches!(decode(&data[..data.len() / 2]), Err(ImageProblem::Corrupt(_))));
    }

    #[test]
    fn thumbnails_keep_the_aspect() {
        let image = DynamicImage::new_rgb8(600, 400);
        let (jpeg, size) = thumbnail_jpeg(&image, 300).unwrap();
        assert_eq!((size.width, size.height), (300, 200));
        assert_eq!(sniff(&jpeg), Some(ImageFormat::Jpeg));
    }
}

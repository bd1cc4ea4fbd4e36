//! Checking an uploaded file before anything is stored or dispatched.

use axum::http::StatusCode;
use thiserror::Error;

use crate::imaging::{self, ImageProblem, ACCEPTED_TYPES};
use crate::schema::ImageSize;

/// A file as it arrived in an upload.
#[derive(Debug, Clone)]
pub struct IncomingFile {
    /// File name as sent (display only).
    pub name: String,
    /// Declared media type, if any.
    pub content_type: Option<String>,
    /// The bytes.
    pub data: Vec<u8>,
}

/// A file that passed every check.
#[derive(Debug, Clone)]
pub struct CheckedPhoto {
    /// File name, cleaned for display.
    pub name: String,
    /// Media type (one of the accepted ones, matching the bytes).
    pub content_type: String,
    /// The bytes.
    pub data: Vec<u8>,
    /// Size in pixels, from the header.
    pub size: ImageSize,
}

/// Why an upload was refused. Each maps to a 4xx status.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum UploadError {
    /// The request held no file.
    #[error("no photo was uploaded: choose one or more PNG, JPEG or WebP files")]
    NoFile,
    /// More files than allowed in one request.
    #[error("too many files in one upload: at most {max}")]
    TooManyFiles {
        /// The limit.
        max: usize,
    },
    /// The file is empty.
    #[error("`{name}` is empty")]
    Empty {
        /// File name.
        name: String,
    },
    /// The file is over the size limit.
    #[error("`{name}` is larger than the {} limit", megabytes(*.limit))]
    TooLarge {
        /// File name.
        name: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The declared media type is not an accepted image type.
    #[error("`{name}` is {declared}, not a photo: upload PNG, JPEG or WebP images")]
    UnsupportedType {
        /// File name.
        name: String,
        /// What it was sent as.
        declared: String,
    },
    /// The bytes are not a usable image.
    #[error("`{name}` is not a usable photo: {problem}")]
    BadImage {
        /// File name.
        name: String,
        /// What is wrong.
        problem: ImageProblem,
    },
    /// The request itself could not be read (malformed multipart).
    #[error("the upload could not be read: {0}")]
    BadRequest(String),
}

fn megabytes(bytes: usize) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

impl UploadError {
    /// The HTTP status this refusal is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            UploadError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            UploadError::UnsupportedType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UploadError::BadImage { .. } | UploadError::Empty { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            UploadError::NoFile | UploadError::TooManyFiles { .. } | UploadError::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    /// The file it is about, if one.
    pub fn file(&self) -> Option<&str> {
        match self {
            UploadError::Empty { name }
            | UploadError::TooLarge { name, .. }
            | UploadError::UnsupportedType { name, .. }
            | UploadError::BadImage { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// A file name fit for display: the last path component, no control
/// characters, at most 100 characters.
pub fn clean_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(100).collect();
    if cleaned.trim().is_empty() {
        "photo".to_owned()
    } else {
        cleaned
    }
}

/// Checks one file: declared type accepted, size within `max_bytes`, bytes
/// of the declared format, header readable, pixel count within limits.
///
/// # Errors
///
/// The first [`UploadError`] found.
pub fn check(file: IncomingFile, max_bytes: usize) -> Result<CheckedPhoto, UploadError> {
    let name = clean_name(&file.name);
    let declared = file
        .content_type
        .as_deref()
        .map(|t| t.split(';').next().unwrap_or(t).trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !ACCEPTED_TYPES.iter().any(|(t, _)| *t == declared) {
        let declared = if declared.is_empty() {
            "of no declared type".to_owned()
        } else {
            declared
        };
        return Err(UploadError::UnsupportedType { name, declared });
    }
    if file.data.is_empty() {
        return Err(UploadError::Empty { name });
    }
    if file.data.len() > max_bytes {
        return Err(UploadError::TooLarge { name, limit: max_bytes });
    }
    let (_, size) = imaging::inspect(&file.data, Some(&declared)).map_err(|problem| UploadError::BadImage {
        name: name.clone(),
        problem,
    })?;
    Ok(CheckedPhoto {
        name,
        content_type: declared,
        data: file.data,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("C:\\Users\\me\\cat.png"), "cat.png");
        assert_eq!(clean_name("../../x\u{7}.png"), "x.png");
        assert_eq!(clean_name(""), "photo");
    }

    #[test]
    fn text_is_refused_by_type() {
        let file = IncomingFile {
            name: "notes.txt".into(),
            content_type: Some("text/plain".into()),
            data: b"hello".to_vec(),
        };
        let e = check(file, 100).unwrap_err();
        assert_eq!(e.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(e.to_string().contains("text/plain"), "{e}");
    }
}

//! The test photos in `tests/fixtures/photos` and their known answers.

#![allow(dead_code)]

use std::path::PathBuf;

/// Each test photo and how many human faces it shows.
pub const PHOTOS: [(&str, usize); 4] = [
    ("astronaut.png", 1),
    ("camera.png", 1),
    ("coffee.png", 0),
    ("chelsea.png", 0),
];

/// The bytes of a test photo.
pub fn photo(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/photos")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A multipart/form-data body with one file part per `(name, type, bytes)`.
pub fn multipart(files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "celeriac-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, content_type, data) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{name}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

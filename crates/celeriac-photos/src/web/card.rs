//! One photo's card: the only place its HTML is built. The page renders
//! cards on load; uploads and live events send the same fragment.

use celeriac_server::escape;

use crate::gallery::{PhotoView, Progress};
use crate::schema::{Detection, FaceBox, ImageSize};

/// "1 face", "N faces".
pub fn faces_text(count: usize) -> String {
    match count {
        1 => "1 face".to_owned(),
        n => format!("{n} faces"),
    }
}

/// `v` as a percentage of `of`, for CSS.
fn percent(v: f64, of: u32) -> String {
    format!("{:.3}%", 100.0 * v / f64::from(of.max(1)))
}

fn face_box(face: &FaceBox, image: ImageSize) -> String {
    format!(
        "<span class=\"face-box\" style=\"left:{};top:{};width:{};height:{}\" title=\"score {:.1}\"></span>",
        percent(f64::from(face.x), image.width),
        percent(f64::from(face.y), image.height),
        percent(f64::from(face.width), image.width),
        percent(f64::from(face.height), image.height),
        face.score
    )
}

fn seconds(ms: f64) -> String {
    format!("{:.2} s", ms / 1000.0)
}

/// The card of `view`; URLs are relative to the gallery page.
pub fn card(view: &PhotoView) -> String {
    let upload = &view.upload;
    let id = escape(&upload.id);
    let (state, image_url, boxes, status, detail) = match &view.progress {
        Progress::Processing { note } => (
            "processing",
            format!("p/{id}/original"),
            String::new(),
            "Processing…".to_owned(),
            note.as_deref().map(escape).unwrap_or_default(),
        ),
        Progress::Failed { reason } => (
            "failed",
            format!("p/{id}/original"),
            String::new(),
            format!("Failed: {}", escape(reason)),
            String::new(),
        ),
        Progress::Done {
            detection,
            thumbnail,
            thumbnail_error,
            finished_at,
        } => {
            let url = if thumbnail.is_some() {
                format!("p/{id}/thumbnail")
            } else {
                format!("p/{id}/original")
            };
            let total_ms = finished_at.map(|done| (done - upload.uploaded_at).num_milliseconds() as f64);
            let mut detail = timing(detection, total_ms);
            if let Some(e) = thumbnail_error {
                detail.push_str(&format!(" · no thumbnail: {}", escape(e)));
            }
            ("done", url, boxes(detection), faces_text(detection.faces.len()), detail)
        }
    };
    let faces_attr = match &view.progress {
        Progress::Done { detection, .. } => format!(" data-faces=\"{}\"", detection.faces.len()),
        _ => String::new(),
    };
    format!(
        "<li class=\"photo {state}\" id=\"photo-{id}\" data-id=\"{id}\" data-state=\"{state}\"{faces_attr}>\
         <figure><div class=\"frame\" style=\"aspect-ratio:{w}/{h}\">\
         <img src=\"{image_url}\" alt=\"{name}\" loading=\"lazy\">{boxes}</div>\
         <figcaption><span class=\"name\">{name}</span>\
         <strong class=\"status\">{status}</strong>\
         <span class=\"detail\">{detail}</span></figcaption></figure></li>",
        w = upload.size.width.max(1),
        h = upload.size.height.max(1),
        name = escape(&upload.name),
    )
}

fn boxes(detection: &Detection) -> String {
    detection.faces.iter().map(|f| face_box(f, detection.image)).collect()
}

fn timing(detection: &Detection, total_ms: Option<f64>) -> String {
    let mut text = format!("detected in {}", seconds(detection.elapsed_ms));
    if let Some(total) = total_ms.filter(|t| *t >= 0.0) {
        text.push_str(&format!(" · ready {} after upload", seconds(total)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_naturally() {
        assert_eq!(faces_text(0), "0 faces");
        assert_eq!(faces_text(1), "1 face");
        assert_eq!(faces_text(3), "3 faces");
    }
}

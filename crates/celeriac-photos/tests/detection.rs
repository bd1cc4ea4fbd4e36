//! The detector finds the known number of faces in each test photo, with
//! the embedded model and the documented settings.

mod support;
use support as fixtures;

use std::time::Instant;

use celeriac_photos::schema::PhotoRef;
use celeriac_photos::tasks::analyse;

#[test]
fn test_photos_have_their_known_face_counts() {
    for (name, expected) in fixtures::PHOTOS {
        let photo = PhotoRef { blob: name.into() };
        let detection = analyse(photo, &fixtures::photo(name), Instant::now()).unwrap();
        assert_eq!(detection.faces.len(), expected, "{name}: {:?}", detection.faces);
        for face in &detection.faces {
            assert!(face.score >= 2.0, "{name}: {face:?}");
            assert!(face.width >= 20 && face.height >= 20, "{name}: {face:?}");
        }
    }
}

#[test]
fn astronaut_face_is_where_the_fixture_note_says() {
    let detection = analyse(
        PhotoRef { blob: "a".into() },
        &fixtures::photo("astronaut.png"),
        Instant::now(),
    )
    .unwrap();
    assert_eq!((detection.image.width, detection.image.height), (512, 512));
    let face = detection.faces[0];
    // README: about x=173 y=68 w=99.
    assert!((face.x - 173).abs() <= 10 && (face.y - 68).abs() <= 10, "{face:?}");
    assert!((i64::from(face.width) - 99).abs() <= 10, "{face:?}");
}

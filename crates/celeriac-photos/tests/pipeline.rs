//! Photos go through a real worker on the embedded store: the four test
//! photos give 1, 1, 0 and 0 faces, each gets a thumbnail through the chain,
//! a photo whose pixels are corrupt fails with its reason, and the gallery
//! reads the same after the store is closed and opened again (a restart).

mod support;

use std::time::Duration;

use celeriac::{connect, Backends, Worker, WorkerConfig};
use celeriac_photos::gallery::{PhotoView, Progress};
use celeriac_photos::validation::{check, IncomingFile};
use celeriac_photos::{tasks, Photos, PhotosConfig};
use tokio_util::sync::CancellationToken;

fn open(dir: &tempfile::TempDir) -> Backends {
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    connect(Some(&url), None).unwrap()
}

fn start_worker(backends: &Backends) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let config = WorkerConfig {
        cpu_threads: 2,
        ..WorkerConfig::default()
    };
    let worker = Worker::new(
        backends.broker.clone(),
        backends.backend.clone(),
        tasks::registry(),
        config,
    )
    .with_resources(backends.resources());
    let stop = CancellationToken::new();
    let handle = tokio::spawn({
        let stop = stop.clone();
        async move {
            worker.run(stop).await.unwrap();
        }
    });
    (stop, handle)
}

async fn upload(photos: &Photos, name: &str, data: Vec<u8>) -> PhotoView {
    let file = IncomingFile {
        name: name.into(),
        content_type: Some("image/png".into()),
        data,
    };
    let view = photos.accept(check(file, 10_000_000).unwrap()).await.unwrap();
    assert!(
        matches!(view.progress, Progress::Processing { .. }),
        "answered before any work: {view:?}"
    );
    view
}

fn face_count(view: &PhotoView) -> Option<usize> {
    match &view.progress {
        Progress::Done { detection, .. } => Some(detection.faces.len()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_are_processed_by_a_worker_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let backends = open(&dir);
    let photos = Photos::new(&backends, PhotosConfig::default());
    let (stop, worker) = start_worker(&backends);

    let mut uploads = Vec::new();
    for (name, expected) in support::PHOTOS {
        uploads.push((upload(&photos, name, support::photo(name)).await, expected));
    }
    // Header fine, pixel data cut short: passes the upload checks, fails in the worker.
    let full = support::photo("coffee.png");
    let broken = upload(&photos, "broken.png", full[..full.len() / 3].to_vec()).await;

    for (view, expected) in &uploads {
        let done = photos
            .gallery()
            .wait_finished(view.upload.clone(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(face_count(&done), Some(*expected), "{}: {done:?}", view.upload.name);
        let Progress::Done {
            thumbnail, detection, ..
        } = &done.progress
        else {
            unreachable!()
        };
        assert!(detection.elapsed_ms > 0.0);
        let thumbnail = thumbnail.as_ref().expect("the chained thumbnail task ran");
        let jpeg = backends.blobs.get(&thumbnail.blob).await.unwrap().unwrap();
        assert_eq!(jpeg.content_type, "image/jpeg");
        assert!(thumbnail.size.width <= tasks::DEFAULT_THUMBNAIL_SIDE);
    }
    let failed = photos
        .gallery()
        .wait_finished(broken.upload.clone(), Duration::from_secs(60))
        .await
        .unwrap();
    match &failed.progress {
        Progress::Failed { reason } => assert!(reason.starts_with("InvalidImage: "), "{reason}"),
        other => panic!("a corrupt photo should fail: {other:?}"),
    }

    stop.cancel();
    worker.await.unwrap();
    drop((photos, backends));

    // A restart: the gallery comes back from the store alone.
    let backends = open(&dir);
    let photos = Photos::new(&backends, PhotosConfig::default());
    let recent = photos.gallery().recent(10).await.unwrap();
    let names: Vec<&str> = recent.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(
        names,
        ["broken.png", "chelsea.png", "coffee.png", "camera.png", "astronaut.png"]
    );
    let mut counts = Vec::new();
    for upload in recent {
        counts.push(face_count(&photos.gallery().view(upload).await.unwrap()));
    }
    assert_eq!(counts, [None, Some(0), Some(0), Some(1), Some(1)]);
}

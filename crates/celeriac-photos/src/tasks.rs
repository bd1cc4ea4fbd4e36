//! The `faces.*` tasks: `faces.detect` finds faces in a photo from the blob
//! store; `faces.thumbnail`, chained after it, stores a small JPEG of the
//! photo for the gallery. Both run on the worker's `cpu` pool.

use std::sync::Arc;
use std::time::{Duration, Instant};

use celeriac::{task, Blob, BlobStore, BrokerError, Chain, RetryMethod, TaskContext, TaskError, TaskRegistry};

use crate::detect::{find_faces, SETTINGS};
use crate::imaging::{self, ImageProblem};
use crate::schema::{Detection, PhotoRef, Thumbnail};

/// Longest side of a thumbnail unless the call says otherwise.
pub const DEFAULT_THUMBNAIL_SIDE: u32 = 480;

/// How long a thumbnail is kept unless the call says otherwise.
pub const DEFAULT_THUMBNAIL_TTL: Duration = Duration::from_secs(86_400);

/// The `faces.*` tasks, to register on a worker.
pub fn registry() -> TaskRegistry {
    let mut registry = TaskRegistry::new();
    registry.register::<detect>().register::<thumbnail>();
    registry
}

/// The work an upload starts: detection, then the thumbnail, as one chain.
/// The ids are fixed by the caller so it can record them before sending.
pub fn pipeline(photo: PhotoRef, detect_id: &str, thumbnail_id: &str, ttl: Duration) -> Chain<Thumbnail> {
    detect::s(photo).task_id(detect_id).then(
        thumbnail::partial()
            .kwarg("max_side", DEFAULT_THUMBNAIL_SIDE)
            .kwarg("ttl_seconds", ttl.as_secs())
            .task_id(thumbnail_id),
    )
}

/// Finds the faces in a photo stored in the blob store.
///
/// Argument: `{"blob": "<key>"}`. Result: a [`Detection`] (see
/// `docs/photos.md`). Fails with `PhotoNotFound` when the key is unknown or
/// expired, `InvalidImage` or `ImageTooLarge` when the bytes are not a
/// usable photo; retries while the blob store is unreachable.
#[task(name = "faces.detect", kind = "cpu", soft_time_limit = 50, time_limit = 60)]
pub fn detect(photo: PhotoRef, ctx: TaskContext) -> Result<Detection, TaskError> {
    let started = Instant::now();
    let blob = read_photo(&ctx, &photo.blob)?;
    analyse(photo, &blob.data, started)
}

/// Stores a JPEG of the detected photo, at most `max_side` pixels on its
/// longest side (default 480), kept `ttl_seconds` (default a day).
///
/// Chained after `faces.detect`, it receives its result first. Result: a
/// [`Thumbnail`].
#[task(name = "faces.thumbnail", kind = "cpu", soft_time_limit = 50, time_limit = 60)]
pub fn thumbnail(
    detection: Detection,
    max_side: Option<u32>,
    ttl_seconds: Option<u64>,
    ctx: TaskContext,
) -> Result<Thumbnail, TaskError> {
    let blob = read_photo(&ctx, &detection.photo.blob)?;
    let (jpeg, size) = shrink(&blob.data, max_side.unwrap_or(DEFAULT_THUMBNAIL_SIDE))?;
    let ttl = ttl_seconds.map_or(DEFAULT_THUMBNAIL_TTL, Duration::from_secs);
    let key = ctx
        .block_on(blob_store(&ctx)?.put(jpeg, "image/jpeg", Some(ttl)))
        .map_err(store_error)?;
    Ok(Thumbnail {
        blob: key,
        content_type: "image/jpeg".into(),
        size,
    })
}

/// Decodes `data` and finds its faces: the body of `faces.detect`, also
/// used where detection runs inline (the load tool's comparison modes).
/// `started` is when the work began, for `elapsed_ms`.
///
/// # Errors
///
/// `InvalidImage`, `ImageTooLarge` or `ModelError` task errors.
pub fn analyse(photo: PhotoRef, data: &[u8], started: Instant) -> Result<Detection, TaskError> {
    let image = imaging::decode(data).map_err(image_error)?;
    let (size, faces) = find_faces(&image).map_err(|e| TaskError::new("ModelError", e))?;
    Ok(Detection {
        photo,
        image: size,
        faces,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        detector: SETTINGS,
    })
}

/// The thumbnail JPEG of `data` and its size: the work of `faces.thumbnail`.
///
/// # Errors
///
/// `InvalidImage`, `ImageTooLarge` or `EncodeError` task errors.
pub fn shrink(data: &[u8], max_side: u32) -> Result<(Vec<u8>, crate::schema::ImageSize), TaskError> {
    let image = imaging::decode(data).map_err(image_error)?;
    imaging::thumbnail_jpeg(&image, max_side.clamp(16, 4096)).map_err(image_error)
}

fn image_error(problem: ImageProblem) -> TaskError {
    TaskError::new(problem.kind(), problem.to_string())
}

/// The blob store the worker hands its tasks (`Backends::resources`).
fn blob_store(ctx: &TaskContext) -> Result<Arc<dyn BlobStore>, TaskError> {
    ctx.resource::<Arc<dyn BlobStore>>().ok_or_else(|| {
        TaskError::new(
            "ConfigurationError",
            "this worker has no blob store: give it one with Worker::with_resources(backends.resources())",
        )
    })
}

fn read_photo(ctx: &TaskContext, key: &str) -> Result<Blob, TaskError> {
    match ctx.block_on(blob_store(ctx)?.get(key)) {
        Ok(Some(blob)) => Ok(blob),
        Ok(None) => Err(TaskError::new(
            "PhotoNotFound",
            format!("no photo is stored under blob key `{key}` (expired, deleted or never stored)"),
        )),
        Err(e) => Err(store_error(e)),
    }
}

/// An unreachable store is worth retrying; anything else is final.
fn store_error(e: BrokerError) -> TaskError {
    match e.retry_method() {
        RetryMethod::RetryWithBackoff => TaskError::retry(format!("the blob store is unavailable: {e}")),
        RetryMethod::NoRetry => TaskError::new("BlobStoreError", e.to_string()),
    }
}

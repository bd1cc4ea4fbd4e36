//! The app's handle: stores, gallery, settings, and what happens to an
//! accepted photo.

use std::sync::Arc;
use std::time::Instant;

use celeriac::{Backends, BlobStore, BrokerError, Client, SendError, TaskError, TaskResult};
use chrono::Utc;
use thiserror::Error;

use crate::config::{Execution, PhotosConfig};
use crate::gallery::{Gallery, PhotoView, Upload};
use crate::schema::{PhotoRef, Thumbnail};
use crate::tasks::{self, DEFAULT_THUMBNAIL_SIDE};
use crate::validation::CheckedPhoto;

/// Why an accepted photo could not be stored or dispatched (the store is
/// down: a 503, worth retrying).
#[derive(Debug, Error)]
pub enum AcceptError {
    /// The blob or record store failed.
    #[error("the store is unavailable: {0}")]
    Store(#[from] BrokerError),
    /// The broker refused the tasks.
    #[error("the tasks could not be dispatched: {0}")]
    Send(#[from] SendError),
}

/// The photo app: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Photos {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    blobs: Arc<dyn BlobStore>,
    gallery: Gallery,
    config: PhotosConfig,
}

impl Photos {
    /// The app on these stores.
    pub fn new(backends: &Backends, config: PhotosConfig) -> Photos {
        Photos {
            inner: Arc::new(Inner {
                client: Client::new(backends.broker.clone(), backends.backend.clone()),
                blobs: backends.blobs.clone(),
                gallery: Gallery::new(backends.records.clone(), backends.backend.clone()),
                config,
            }),
        }
    }

    /// Its settings.
    pub fn config(&self) -> &PhotosConfig {
        &self.inner.config
    }

    /// The gallery.
    pub fn gallery(&self) -> &Gallery {
        &self.inner.gallery
    }

    /// The blob store photos are kept in.
    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.inner.blobs
    }

    /// Stores a checked photo, records it in the gallery and starts its
    /// processing: dispatches the `faces.detect` → `faces.thumbnail` chain
    /// (answering at once), or runs it here in [`Execution::Inline`] mode.
    ///
    /// # Errors
    ///
    /// [`AcceptError`] when the stores or the broker fail; nothing is left
    /// behind then.
    pub async fn accept(&self, photo: CheckedPhoto) -> Result<PhotoView, AcceptError> {
        let ttl = self.inner.config.photo_ttl;
        let bytes = photo.data.len() as u64;
        let key = self.inner.blobs.put(photo.data, &photo.content_type, Some(ttl)).await?;
        let upload = Upload {
            id: celeriac::crates::core::new_task_id(),
            name: photo.name,
            content_type: photo.content_type,
            bytes,
            size: photo.size,
            photo: PhotoRef { blob: key },
            detect_task: celeriac::crates::core::new_task_id(),
            thumbnail_task: celeriac::crates::core::new_task_id(),
            uploaded_at: Utc::now(),
        };
        let started = match self.inner.gallery.add(&upload, ttl).await {
            Ok(()) => self.start(&upload).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = started {
            // Best effort: an orphan would expire with its TTL anyway.
            let _ = self.inner.blobs.delete(&upload.photo.blob).await;
            let _ = self.inner.gallery.remove(&upload.id).await;
            return Err(e);
        }
        Ok(self.inner.gallery.view(upload).await?)
    }

    async fn start(&self, upload: &Upload) -> Result<(), AcceptError> {
        let ttl = self.inner.config.photo_ttl;
        match self.inner.config.execution {
            Execution::Dispatch => {
                let chain = tasks::pipeline(upload.photo.clone(), &upload.detect_task, &upload.thumbnail_task, ttl);
                self.inner.client.send_chain(chain).await?;
                Ok(())
            }
            Execution::Inline => self.run_inline(upload).await,
        }
    }

    /// The chain's work, on this thread, recorded as the tasks would record
    /// it. Blocks the thread for the whole detection, on purpose: this is
    /// what the load tool's inline modes measure.
    async fn run_inline(&self, upload: &Upload) -> Result<(), AcceptError> {
        let started = Instant::now();
        let data = match self.inner.blobs.get(&upload.photo.blob).await? {
            Some(blob) => blob.data,
            None => return Err(BrokerError::Internal("the photo vanished from the blob store".into()).into()),
        };
        let results = self.inner.gallery.results();
        let detection = match tasks::analyse(upload.photo.clone(), &data, started) {
            Ok(d) => d,
            Err(e) => return Ok(results.store(failure(&upload.detect_task, &e)).await?),
        };
        let detection_value = serde_json::to_value(&detection).map_err(|e| BrokerError::Internal(e.to_string()))?;
        let thumbnail = match tasks::shrink(&data, DEFAULT_THUMBNAIL_SIDE) {
            Ok((jpeg, size)) => {
                let key = self
                    .inner
                    .blobs
                    .put(jpeg, "image/jpeg", Some(self.inner.config.photo_ttl))
                    .await?;
                let thumbnail = Thumbnail {
                    blob: key,
                    content_type: "image/jpeg".into(),
                    size,
                };
                let value = serde_json::to_value(thumbnail).map_err(|e| BrokerError::Internal(e.to_string()))?;
                TaskResult::success(&upload.thumbnail_task, value)
            }
            Err(e) => failure(&upload.thumbnail_task, &e),
        };
        results
            .store_many(&[TaskResult::success(&upload.detect_task, detection_value), thumbnail])
            .await?;
        Ok(())
    }
}

fn failure(task_id: &str, error: &TaskError) -> TaskResult {
    TaskResult::failure(task_id, &error.to_exception_info(), None)
}

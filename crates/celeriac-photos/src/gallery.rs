//! The gallery: every upload is a record in the store's record store, and
//! its progress is read from the result store — nothing lives in the web
//! server's memory, so the gallery survives restarts and is the same from
//! every server process.
//!
//! Layout (also in `docs/photos.md`): collection `photos.uploads`, record
//! id = the photo id, document = [`Upload`]; it expires with the photo.

use std::sync::Arc;
use std::time::Duration;

use celeriac::{BrokerError, RecordStore, ResultBackend, TaskResult, TaskState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::{Detection, ImageSize, PhotoRef, Thumbnail};

/// The record collection holding uploads.
pub const COLLECTION: &str = "photos.uploads";

/// One upload, as recorded when it was accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    /// Photo id (a time-ordered UUID).
    pub id: String,
    /// File name as uploaded (for display only).
    pub name: String,
    /// Media type.
    pub content_type: String,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Size of the photo in pixels.
    pub size: ImageSize,
    /// The photo in the blob store.
    pub photo: PhotoRef,
    /// Id of its `faces.detect` task.
    pub detect_task: String,
    /// Id of its `faces.thumbnail` task (chained after detection).
    pub thumbnail_task: String,
    /// When it was accepted.
    pub uploaded_at: DateTime<Utc>,
}

/// Where an upload stands, derived from its tasks' results.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Progress {
    /// Waiting for a worker or being processed.
    Processing {
        /// Why it is taking longer (a retry's reason), if known.
        note: Option<String>,
    },
    /// Faces found; `thumbnail` once that task succeeded.
    Done {
        /// The detection result.
        detection: Detection,
        /// The thumbnail, if it was made.
        thumbnail: Option<Thumbnail>,
        /// Why there is no thumbnail, if its task failed.
        thumbnail_error: Option<String>,
        /// When the last task finished.
        finished_at: Option<DateTime<Utc>>,
    },
    /// Detection failed; the reason as the task reported it.
    Failed {
        /// `Kind: message`.
        reason: String,
    },
}

impl Progress {
    /// True once nothing more will change.
    pub fn is_finished(&self) -> bool {
        !matches!(self, Progress::Processing { .. })
    }
}

/// An upload and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoView {
    /// The upload.
    #[serde(flatten)]
    pub upload: Upload,
    /// Its progress.
    pub progress: Progress,
}

/// Uploads in the record store, progress from the result store.
#[derive(Clone)]
pub struct Gallery {
    records: Arc<dyn RecordStore>,
    results: Arc<dyn ResultBackend>,
}

impl Gallery {
    /// A gallery over these stores.
    pub fn new(records: Arc<dyn RecordStore>, results: Arc<dyn ResultBackend>) -> Gallery {
        Gallery { records, results }
    }

    /// Records an upload, kept for `ttl`.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the record store fails.
    pub async fn add(&self, upload: &Upload, ttl: Duration) -> Result<(), BrokerError> {
        let doc = serde_json::to_value(upload).map_err(|e| BrokerError::Internal(e.to_string()))?;
        self.records.put_record(COLLECTION, &upload.id, &doc, Some(ttl)).await
    }

    /// Forgets an upload.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the record store fails.
    pub async fn remove(&self, id: &str) -> Result<bool, BrokerError> {
        self.records.delete_record(COLLECTION, id).await
    }

    /// The upload with this id, if recorded and not expired.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the record store fails.
    pub async fn get(&self, id: &str) -> Result<Option<Upload>, BrokerError> {
        if celeriac::crates::core::check_record_name("photo id", id).is_err() {
            return Ok(None);
        }
        let record = self.records.get_record(COLLECTION, id).await?;
        Ok(record.and_then(|r| parse_upload(r.doc)))
    }

    /// The `limit` most recent uploads, newest first.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the record store fails.
    pub async fn recent(&self, limit: usize) -> Result<Vec<Upload>, BrokerError> {
        let records = self.records.recent_records(COLLECTION, limit).await?;
        Ok(records.into_iter().filter_map(|r| parse_upload(r.doc)).collect())
    }

    /// Where `upload` stands now.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the result store fails.
    pub async fn view(&self, upload: Upload) -> Result<PhotoView, BrokerError> {
        let detect = self.results.get(&upload.detect_task).await?;
        let progress = match detect {
            None => Progress::Processing { note: None },
            Some(r) => match r.state {
                TaskState::Success => match serde_json::from_value::<Detection>(r.result) {
                    Ok(detection) => {
                        let thumbnail = self.results.get(&upload.thumbnail_task).await?;
                        after_detection(detection, thumbnail)
                    }
                    Err(e) => Progress::Failed {
                        reason: format!("unreadable detection result: {e}"),
                    },
                },
                TaskState::Failure | TaskState::Revoked => Progress::Failed { reason: reason(&r) },
                TaskState::Retry => Progress::Processing { note: Some(reason(&r)) },
                _ => Progress::Processing { note: None },
            },
        };
        Ok(PhotoView { upload, progress })
    }

    /// Waits up to `timeout` until `upload` is finished, woken by the result
    /// store; returns where it stands then.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the result store fails.
    pub async fn wait_finished(&self, upload: Upload, timeout: Duration) -> Result<PhotoView, BrokerError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let view = self.view(upload.clone()).await?;
            let now = tokio::time::Instant::now();
            if view.progress.is_finished() || now >= deadline {
                return Ok(view);
            }
            let next = match view.progress {
                Progress::Processing { .. } if !self.is_done(&upload.detect_task).await? => &upload.detect_task,
                _ => &upload.thumbnail_task,
            };
            self.results.wait(next, deadline - now).await?;
        }
    }

    async fn is_done(&self, task: &str) -> Result<bool, BrokerError> {
        Ok(self.results.get(task).await?.is_some_and(|r| r.state.is_ready()))
    }

    /// The result store (where inline processing records its outcomes).
    pub(crate) fn results(&self) -> &Arc<dyn ResultBackend> {
        &self.results
    }
}

fn parse_upload(doc: Value) -> Option<Upload> {
    match serde_json::from_value(doc) {
        Ok(upload) => Some(upload),
        Err(e) => {
            tracing::warn!("skipping an unreadable upload record: {e}");
            None
        }
    }
}

fn after_detection(detection: Detection, thumbnail: Option<TaskResult>) -> Progress {
    let finished_at = thumbnail.as_ref().and_then(|t| t.date_done);
    match thumbnail {
        Some(t) if t.state == TaskState::Success => Progress::Done {
            thumbnail: serde_json::from_value(t.result).ok(),
            detection,
            thumbnail_error: None,
            finished_at,
        },
        Some(t) if t.state.is_ready() => Progress::Done {
            thumbnail_error: Some(reason(&t)),
            detection,
            thumbnail: None,
            finished_at,
        },
        _ => Progress::Processing { note: None },
    }
}

/// `Kind: message` of a failed, retried or revoked task.
fn reason(result: &TaskResult) -> String {
    match result.exception() {
        Some(e) => format!("{}: {}", e.exc_type, e.message()),
        None => result.state.as_str().to_owned(),
    }
}

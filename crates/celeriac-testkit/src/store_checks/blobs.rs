//! What every blob store promises.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use celeriac_core::{is_valid_blob_key, BlobStore, BrokerError};

use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;

/// A stored blob reads back byte for byte with its content type.
pub(crate) async fn put_then_get<S: BlobStore + ?Sized>(s: Arc<S>, _: &ConformanceConfig) -> CheckResult {
    let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let key = s.put(data.clone(), "image/png", None).await.ctx("put")?;
    ensure!(is_valid_blob_key(&key), "put returned the unusable key {key:?}");
    let blob = s.get(&key).await.ctx("get")?;
    let Some(blob) = blob else {
        return Err(format!("blob {key} not found right after put"));
    };
    ensure!(
        blob.data == data,
        "blob {key} came back with other bytes ({} bytes)",
        blob.data.len()
    );
    ensure!(
        blob.content_type == "image/png",
        "content type came back as {:?}",
        blob.content_type
    );
    let empty = s
        .put(Vec::new(), "application/octet-stream", None)
        .await
        .ctx("put empty")?;
    let got = s.get(&empty).await.ctx("get empty")?;
    ensure!(
        got.is_some_and(|b| b.data.is_empty()),
        "an empty blob did not read back as empty"
    );
    Ok(())
}

/// Each put gets its own key, even for the same bytes.
pub(crate) async fn keys_are_fresh<S: BlobStore + ?Sized>(s: Arc<S>, _: &ConformanceConfig) -> CheckResult {
    let mut keys = HashSet::new();
    for _ in 0..20 {
        let key = s.put(b"same".to_vec(), "text/plain", None).await.ctx("put")?;
        ensure!(keys.insert(key.clone()), "key {key} was issued twice");
    }
    Ok(())
}

/// Unknown and malformed keys read as missing, not as errors.
pub(crate) async fn missing_is_none<S: BlobStore + ?Sized>(s: Arc<S>, _: &ConformanceConfig) -> CheckResult {
    for key in [
        "0123456789abcdef0123456789abcdef",
        "",
        "../../etc/passwd",
        "a b",
        &"x".repeat(500),
    ] {
        let got = s.get(key).await.ctx("get")?;
        ensure!(got.is_none(), "get({key:?}) found {got:?}");
        let deleted = s.delete(key).await.ctx("delete")?;
        ensure!(!deleted, "delete({key:?}) reported a deletion");
    }
    Ok(())
}

/// Delete removes a blob and says whether there was one.
pub(crate) async fn delete<S: BlobStore + ?Sized>(s: Arc<S>, _: &ConformanceConfig) -> CheckResult {
    let key = s.put(b"bye".to_vec(), "text/plain", None).await.ctx("put")?;
    let kept = s.put(b"stay".to_vec(), "text/plain", None).await.ctx("put")?;
    ensure!(
        s.delete(&key).await.ctx("delete")?,
        "delete of a stored blob returned false"
    );
    ensure!(
        s.get(&key).await.ctx("get")?.is_none(),
        "blob still readable after delete"
    );
    ensure!(!s.delete(&key).await.ctx("delete")?, "second delete returned true");
    ensure!(
        s.get(&kept).await.ctx("get")?.is_some(),
        "deleting one blob removed another"
    );
    Ok(())
}

/// A photo-sized blob (12 MB) goes through whole.
pub(crate) async fn large_blob<S: BlobStore + ?Sized>(s: Arc<S>, _: &ConformanceConfig) -> CheckResult {
    let data: Vec<u8> = (0..12_000_000u32).map(|i| (i % 251) as u8).collect();
    let key = s.put(data.clone(), "image/jpeg", None).await.ctx("put")?;
    let blob = s.get(&key).await.ctx("get")?.ok_or("a 12 MB blob was not found")?;
    ensure!(
        blob.data == data,
        "a 12 MB blob came back changed ({} bytes)",
        blob.data.len()
    );
    Ok(())
}

/// An unusable content type is refused as invalid, storing nothing.
pub(crate) async fn bad_content_type<S: BlobStore + ?Sized>(s: Arc<S>, _: &ConformanceConfig) -> CheckResult {
    for bad in ["", "text/plain\r\nX-Evil: 1"] {
        match s.put(b"x".to_vec(), bad, None).await {
            Err(BrokerError::Invalid(_)) => {}
            other => {
                return Err(format!(
                    "put with content type {bad:?} gave {other:?}, expected Invalid"
                ))
            }
        }
    }
    Ok(())
}

/// Past its TTL a blob reads as missing; one without a TTL stays.
pub(crate) async fn ttl_expiry<S: BlobStore + ?Sized>(s: Arc<S>, cfg: &ConformanceConfig) -> CheckResult {
    let ttl = Duration::from_millis(500);
    let short = s.put(b"short".to_vec(), "text/plain", Some(ttl)).await.ctx("put")?;
    let forever = s.put(b"forever".to_vec(), "text/plain", None).await.ctx("put")?;
    ensure!(
        s.get(&short).await.ctx("get")?.is_some(),
        "a blob with a TTL was missing at once"
    );
    tokio::time::sleep(ttl + cfg.slack).await;
    let got = s.get(&short).await.ctx("get")?;
    ensure!(
        got.is_none(),
        "blob still returned {} ms after a {} ms TTL",
        (ttl + cfg.slack).as_millis(),
        ttl.as_millis()
    );
    ensure!(
        s.get(&forever).await.ctx("get")?.is_some(),
        "a blob without a TTL expired"
    );
    Ok(())
}

//! What every record store promises.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::{BrokerError, RecordStore};
use serde_json::json;

use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;
use crate::services::unique_name;

/// Ids of `recent_records`, in the order returned.
async fn recent_ids<S: RecordStore + ?Sized>(s: &S, collection: &str, limit: usize) -> Result<Vec<String>, String> {
    let records = s.recent_records(collection, limit).await.ctx("recent_records")?;
    Ok(records.into_iter().map(|r| r.id).collect())
}

/// A stored record reads back with its document and a creation time.
pub(crate) async fn put_then_get<S: RecordStore + ?Sized>(s: Arc<S>, _: &ConformanceConfig) -> CheckResult {
    let c = unique_name("coll");
    let doc = json!({"name": "astronaut.png", "faces": [1, 2], "nested": {"ok": true}});
    let before = chrono::Utc::now() - chrono::Duration::seconds(2);
    s.put_record(&c, "a", &doc, None).await.ctx("put_record")?;
    let got = s
        .get_record(&c, "a")
        .await
        .ctx("get_record")?
        .ok_or("record not found after put")?;
    ensure!(got.id == "a" && got.doc == doc, "record came back as {got:?}");
    ensure!(
        got.created_at >= before,
        "created_at {} is before the put",
        got.created_at
    );
    ensure!(
        s.get_record(&c, "b").await.ctx("get_record")?.is_none(),
        "an unknown id was found"
    );
    Ok(())
}

/// `recent_records` lists the newest first and stops at the limit.
pub(crate) async fn recent_order_and_limit<S: RecordStore + ?Sized>(s: Arc<S>, _: &ConformanceConfig) -> CheckResult {
    let c = unique_name("coll");
    for id in ["one", "two", "three", "four"] {
        s.put_record(&c, id, &json!(id), None).await.ctx("put_record")?;
    }
    let all = recent_ids(&*s, &c, 10).await?;
    ensure!(all == ["four", "three", "two", "one"], "recent order was {all:?}");
    let two = recent_ids(&*s, &c, 2).await?;
    ensure!(two == ["four", "three"], "a limit of 2 gave {two:?}");
    Ok(())
}

/// Replacing a record changes its document but not its place or creation time.
pub(crate) async fn replace_keeps_place<S: RecordStore + ?Sized>(s: Arc<S>, _: &ConformanceConfig) -> CheckResult {
    let c = unique_name("coll");
    s.put_record(&c, "first", &json!(1), None).await.ctx("put_record")?;
    let created = s
        .get_record(&c, "first")
        .await
        .ctx("get_record")?
        .ok_or("missing")?
        .created_at;
    s.put_record(&c, "second", &json!(2), None).await.ctx("put_record")?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    s.put_record(&c, "first", &json!("updated"), None)
        .await
        .ctx("put_record")?;
    let ids = recent_ids(&*s, &c, 10).await?;
    ensure!(
        ids == ["second", "first"],
        "after replacing `first` the order is {ids:?}"
    );
    let got = s
        .get_record(&c, "first")
        .await
        .ctx("get_record")?
        .ok_or("missing after replace")?;
    ensure!(got.doc == json!("updated"), "replaced record reads {:?}", got.doc);
    ensure!(
        got.created_at == created,
        "created_at moved from {created} to {}",
        got.created_at
    );
    Ok(())
}

/// Collections do not see each other's records.
pub(crate) async fn collections_are_separate<S: RecordStore + ?Sized>(s: Arc<S>, _: &ConformanceConfig) -> CheckResult {
    let (a, b) = (unique_name("coll"), unique_name("coll"));
    s.put_record(&a, "x", &json!("in a"), None).await.ctx("put_record")?;
    s.put_record(&b, "x", &json!("in b"), None).await.ctx("put_record")?;
    let got = s.get_record(&a, "x").await.ctx("get_record")?.ok_or("missing")?;
    ensure!(got.doc == json!("in a"), "collection a reads {:?}", got.doc);
    ensure!(
        recent_ids(&*s, &a, 10).await? == ["x"],
        "collection a lists more than its own"
    );
    ensure!(
        recent_ids(&*s, &unique_name("coll"), 10).await?.is_empty(),
        "an unused collection lists records"
    );
    Ok(())
}

/// Delete removes a record and says whether there was one.
pub(crate) async fn delete<S: RecordStore + ?Sized>(s: Arc<S>, _: &ConformanceConfig) -> CheckResult {
    let c = unique_name("coll");
    s.put_record(&c, "gone", &json!(1), None).await.ctx("put_record")?;
    s.put_record(&c, "kept", &json!(2), None).await.ctx("put_record")?;
    ensure!(
        s.delete_record(&c, "gone").await.ctx("delete_record")?,
        "delete returned false"
    );
    ensure!(
        !s.delete_record(&c, "gone").await.ctx("delete_record")?,
        "second delete returned true"
    );
    ensure!(
        recent_ids(&*s, &c, 10).await? == ["kept"],
        "the deleted record is still listed"
    );
    Ok(())
}

/// Empty or overlong names are refused as invalid.
pub(crate) async fn bad_names<S: RecordStore + ?Sized>(s: Arc<S>, _: &ConformanceConfig) -> CheckResult {
    let long = "x".repeat(500);
    for (collection, id) in [("", "a"), ("c", ""), (long.as_str(), "a"), ("c", long.as_str())] {
        match s.put_record(collection, id, &json!(1), None).await {
            Err(BrokerError::Invalid(_)) => {}
            other => {
                return Err(format!(
                    "put_record({collection:.10?}, {id:.10?}) gave {other:?}, expected Invalid"
                ))
            }
        }
    }
    Ok(())
}

/// Past its TTL a record is neither read nor listed; one without stays.
pub(crate) async fn ttl_expiry<S: RecordStore + ?Sized>(s: Arc<S>, cfg: &ConformanceConfig) -> CheckResult {
    let c = unique_name("coll");
    let ttl = Duration::from_millis(500);
    s.put_record(&c, "forever", &json!(1), None).await.ctx("put_record")?;
    s.put_record(&c, "short", &json!(2), Some(ttl))
        .await
        .ctx("put_record")?;
    ensure!(
        recent_ids(&*s, &c, 10).await? == ["short", "forever"],
        "both records should be listed at first"
    );
    tokio::time::sleep(ttl + cfg.slack).await;
    ensure!(
        s.get_record(&c, "short").await.ctx("get_record")?.is_none(),
        "expired record still read"
    );
    ensure!(
        recent_ids(&*s, &c, 10).await? == ["forever"],
        "expired record still listed"
    );
    // Stored again after expiring, it is new: first in the list.
    s.put_record(&c, "short", &json!(3), None).await.ctx("put_record")?;
    ensure!(
        recent_ids(&*s, &c, 10).await? == ["short", "forever"],
        "a re-created record is not listed first"
    );
    Ok(())
}

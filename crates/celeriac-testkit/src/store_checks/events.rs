//! What every event bus promises.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::events::{Event, EventBus, EventCursor};

use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;

fn started(n: usize) -> Event {
    Event::task("task-started", "conformance@host", n as u64, &format!("task-{n}"))
        .with("name", "conformance.noop")
        .with("queue", "q")
}

/// Reads from `after` until `want` events came or a read returns nothing.
async fn read_all<B: EventBus + ?Sized>(
    bus: &B,
    mut after: Option<EventCursor>,
    want: usize,
) -> Result<(Vec<Event>, Option<EventCursor>), String> {
    let mut out = Vec::new();
    while out.len() < want {
        let batch = bus
            .read(after.as_ref(), 500, Duration::from_millis(500))
            .await
            .ctx("read")?;
        let Some(cursor) = batch.cursor else { break };
        out.extend(batch.events);
        after = Some(cursor);
    }
    Ok((out, after))
}

fn ids(events: &[Event]) -> Vec<String> {
    events.iter().filter_map(|e| e.uuid().map(str::to_owned)).collect()
}

/// Published batches read back whole and in order, and a cursor reads on
/// from where the previous read stopped, without repeats.
pub(crate) async fn publish_then_read<B: EventBus + ?Sized>(bus: Arc<B>, _: &ConformanceConfig) -> CheckResult {
    bus.publish(&[started(0), started(1)]).await.ctx("publish")?;
    bus.publish(&[started(2)]).await.ctx("publish")?;
    let (first, cursor) = read_all(&*bus, None, 3).await?;
    ensure!(ids(&first) == ["task-0", "task-1", "task-2"], "read {:?}", ids(&first));
    ensure!(
        first[0] == started(0) || first[0].kind == "task-started",
        "event changed: {:?}",
        first[0]
    );
    ensure!(
        first[1].str_field("name") == Some("conformance.noop"),
        "fields lost: {:?}",
        first[1]
    );
    bus.publish(&[started(3)]).await.ctx("publish")?;
    let (next, _) = read_all(&*bus, cursor, 1).await?;
    ensure!(ids(&next) == ["task-3"], "read on from the cursor: {:?}", ids(&next));
    Ok(())
}

/// A read with nothing new waits for the next publish and returns it.
pub(crate) async fn read_waits_for_publish<B: EventBus + ?Sized>(bus: Arc<B>, _: &ConformanceConfig) -> CheckResult {
    bus.publish(&[started(0)]).await.ctx("publish")?;
    let (_, cursor) = read_all(&*bus, None, 1).await?;
    let empty = bus
        .read(cursor.as_ref(), 10, Duration::from_millis(50))
        .await
        .ctx("read")?;
    ensure!(
        empty.events.is_empty() && empty.cursor.is_none(),
        "nothing new, yet read {:?}",
        ids(&empty.events)
    );
    let publisher = bus.clone();
    let later = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        publisher.publish(&[started(1)]).await
    });
    let waited = bus
        .read(cursor.as_ref(), 10, Duration::from_secs(5))
        .await
        .ctx("read")?;
    later
        .await
        .map_err(|e| format!("publisher panicked: {e}"))?
        .ctx("publish")?;
    ensure!(
        ids(&waited.events) == ["task-1"],
        "waiting read returned {:?}",
        ids(&waited.events)
    );
    Ok(())
}

/// A batch of thousands of events is published in one call and read back
/// completely, in order, across reads.
pub(crate) async fn large_batches<B: EventBus + ?Sized>(bus: Arc<B>, _: &ConformanceConfig) -> CheckResult {
    let batch: Vec<Event> = (0..5_000).map(started).collect();
    bus.publish(&batch).await.ctx("publish")?;
    bus.publish(&batch[..10]).await.ctx("publish")?;
    let (all, _) = read_all(&*bus, None, 5_010).await?;
    ensure!(all.len() == 5_010, "read {} of 5010 events", all.len());
    let in_order = all[..5_000].iter().enumerate().all(|(i, e)| e.clock == i as u64);
    ensure!(in_order, "events out of order");
    Ok(())
}

/// A cursor the bus never gave out is refused, not taken for the start.
pub(crate) async fn foreign_cursor_refused<B: EventBus + ?Sized>(bus: Arc<B>, _: &ConformanceConfig) -> CheckResult {
    let bad = EventCursor("not a cursor".into());
    ensure!(
        bus.read(Some(&bad), 10, Duration::ZERO).await.is_err(),
        "a foreign cursor was accepted"
    );
    Ok(())
}

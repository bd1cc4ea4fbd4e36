//! Measures the store alone (no worker): batched enqueue, then lease + result
//! + ack in batches, as a worker does. `cargo run --release -p celeriac-sqlite
//! --example store_throughput -- [messages] [batch]`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use celeriac_core::{Broker, FetchRequest, NewMessage, ResultBackend, Signature, TaskResult};
use celeriac_sqlite::{SqliteConfig, SqliteStore};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let batch: usize = args.next().map_or(Ok(256), |a| a.parse())?;
    let dir = std::env::temp_dir().join(format!("celeriac-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Arc::new(SqliteStore::open(SqliteConfig::new(dir.join("s.db")))?);
    let client = celeriac_core::Client::new(store.clone(), store.clone());
    let sig = Signature::new("celeriac.noop");
    let t = Instant::now();
    let mut pending: Vec<NewMessage> = Vec::with_capacity(1000);
    for _ in 0..n {
        pending.push(client.prepare(&sig, None, None)?.0);
        if pending.len() == 1000 {
            store.enqueue_many(std::mem::take(&mut pending)).await?;
        }
    }
    store.enqueue_many(pending).await?;
    let e = t.elapsed();
    println!("enqueue: {n} in {e:?} = {:.0}/s", n as f64 / e.as_secs_f64());
    let queues = vec!["celery".to_owned()];
    let t = Instant::now();
    let mut done = 0;
    while done < n {
        let got = store
            .fetch(FetchRequest {
                consumer: "bench",
                queues: &queues,
                max: batch,
                wait: Duration::from_secs(1),
                lease: Duration::from_secs(30),
            })
            .await?;
        let mut results = Vec::with_capacity(got.len());
        let mut tags = Vec::with_capacity(got.len());
        for d in got {
            let m = celeriac_core::TaskMessage::decode(&d.payload, &Default::default())?;
            results.push(TaskResult::success(m.headers.id, serde_json::Value::Null));
            tags.push(d.tag);
        }
        done += tags.len();
        store.store_many(&results).await?;
        store.ack(&tags).await?;
    }
    let e = t.elapsed();
    println!(
        "drain (fetch+decode+result+ack): {n} in {e:?} = {:.0}/s",
        n as f64 / e.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

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
    let (mut t_fetch, mut t_store, mut t_ack) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    while done < n {
        let t0 = Instant::now();
        let got = store
            .fetch(FetchRequest {
                consumer: "bench",
                queues: &queues,
                max: batch,
                wait: Duration::from_secs(1),
                lease: Duration::from_secs(30),
            })
            .await?;
        t_fetch += t0.elapsed();
        let mut results = Vec::with_capacity(got.len());
        let mut tags = Vec::with_capacity(got.len());
        for d in got {
            let m = celeriac_core::TaskMessage::decode(&d.payload, &Default::default())?;
            results.push(TaskResult::success(m.headers.id, serde_json::Value::Null));
            tags.push(d.tag);
        }
        done += tags.len();
        let t1 = Instant::now();
        store.store_many(&results).await?;
        t_store += t1.elapsed();
        let t2 = Instant::now();
        store.ack(&tags).await?;
        t_ack += t2.elapsed();
    }
    let per = |d: Duration| d.as_nanos() as f64 / n as f64;
    println!(
        "per task: fetch {:.0} ns, store {:.0} ns, ack {:.0} ns",
        per(t_fetch),
        per(t_store),
        per(t_ack)
    );
    let e = t.elapsed();
    println!(
        "drain (fetch+decode+result+ack): {n} in {e:?} = {:.0}/s",
        n as f64 / e.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

//! The README's five-minute tour, compiled by CI so the README stays true
//! (a test checks the README shows this file). Run a worker with
//! `cargo run --release -p celeriac --example tour -- worker`, then the
//! client with `cargo run --release -p celeriac --example tour`.

use std::time::Duration;

use celeriac::{task, App, TaskError, WorkerConfig};

/// An `async fn` task runs on the async runtime: for I/O that awaits.
#[task(name = "tasks.add")]
async fn add(x: i64, y: i64) -> Result<i64, TaskError> {
    x.checked_add(y)
        .ok_or_else(|| TaskError::new("ValueError", "the sum overflows"))
}

/// Computation goes to the CPU pool, so it never stalls the runtime.
#[task(name = "tasks.count_primes", kind = "cpu", time_limit = 60)]
fn count_primes(below: u64) -> usize {
    (2..below)
        .filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0))
        .count()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The per-user embedded store; `.broker("sqlite:///path/to/file.db")` picks another.
    let app = App::builder()
        .task::<add>()
        .task::<count_primes>()
        .tasks(&celeriac::builtins::registry()) // celeriac.add, celeriac.sleep, … too
        .build()?;

    if std::env::args().nth(1).as_deref() == Some("worker") {
        // Runs until Ctrl-C or SIGTERM, then shuts down gracefully.
        app.worker(WorkerConfig::default())
            .run(celeriac::shutdown_on_signals())
            .await?;
        return Ok(());
    }

    // The web-server side: send, get an id at once, read the result when ready.
    let client = app.client();
    let sum = client.send(add::s(2, 3)).await?;
    let primes = client.send(count_primes::s(1_000_000)).await?;
    println!("sent {} and {}", sum.id(), primes.id());
    println!("2 + 3 = {}", sum.get(Duration::from_secs(10)).await?);
    println!("{} primes below a million", primes.get(Duration::from_secs(60)).await?);
    Ok(())
}

//! Time per encode/decode of a typical message and result document:
//! `cargo run --release -p celeriac-core --example codec_cost`.

use std::time::Instant;

use celeriac_core::protocol::{DecodeLimits, TaskMessage};
use celeriac_core::{build_message, Signature, TaskResult};

fn per_op(n: u32, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() {
    let sig = Signature::new("celeriac.noop");
    let message = build_message(&sig, None, None, "celery", "gen1@host").expect("message");
    let bytes = message.encode();
    let limits = DecodeLimits::default();
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    println!("envelope bytes: {}", bytes.len());
    println!(
        "build+encode: {:.0} ns",
        per_op(n, || {
            let m = build_message(&sig, None, None, "celery", "gen1@host").expect("message");
            std::hint::black_box(m.encode());
        })
    );
    println!(
        "decode: {:.0} ns",
        per_op(n, || {
            std::hint::black_box(TaskMessage::decode(&bytes, &limits).expect("decode"));
        })
    );
    let result = TaskResult::success(message.headers.id.clone(), serde_json::Value::Null);
    println!(
        "result document: {:.0} ns",
        per_op(n, || {
            std::hint::black_box(result.to_document());
        })
    );
}

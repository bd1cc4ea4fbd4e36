//! The load tool: the photo app in three modes — (a) detection inline in a
//! single-threaded server, (b) inline in a thread-per-request server, (c)
//! dispatched to Celeriac workers — at several upload rates, with a table
//! and a chart written to `docs/`.
//!
//! ```sh
//! cargo run --release -p celeriac-photos --example photo-load
//! cargo run --release -p celeriac-photos --example photo-load -- --duration 10 --rates 5,10,20 --out /tmp/load
//! ```
//!
//! Options: `--duration SECS` (20) of uploads per run, `--drain SECS` (20)
//! for results to arrive after it, `--rates auto|R1,R2,…` (auto: half, one
//! and two times what this machine can process, measured first),
//! `--modes single-thread,thread-per-request,workers`, `--page-rate N` (10
//! light-page requests a second), `--out DIR` (docs). `photo-load serve
//! --mode M --store DIR` is the server it starts for each run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use celeriac_photos::load::{
    calibrate, markdown, run_load, run_server, svg, Calibration, LoadConfig, LoadPlan, Measurement, Mode, ServerProcess,
};

/// Mode (c)'s targets while its workers are saturated.
const PAGE_P99_TARGET_MS: f64 = 20.0;
const UPLOAD_P99_TARGET_MS: f64 = 200.0;

struct Options {
    config: LoadConfig,
    auto_rates: bool,
    out: PathBuf,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = if args.first().map(String::as_str) == Some("serve") {
        serve(&args[1..])
    } else {
        parse(&args).and_then(measure)
    };
    if let Err(e) = outcome {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn serve(args: &[String]) -> Result<(), String> {
    let mode = value(args, "--mode")
        .and_then(Mode::parse)
        .ok_or("serve needs --mode")?;
    let store = value(args, "--store").ok_or("serve needs --store DIR")?;
    run_server(mode, Path::new(store))
}

fn seconds(args: &[String], flag: &str, default: f64) -> Result<Duration, String> {
    let secs = match value(args, flag) {
        Some(v) => v.parse::<f64>().map_err(|_| format!("{flag} {v}: expected seconds"))?,
        None => default,
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(format!("{flag} must be positive"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse(args: &[String]) -> Result<Options, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let modes = match value(args, "--modes") {
        None => Mode::ALL.to_vec(),
        Some(list) => list
            .split(',')
            .map(|m| Mode::parse(m.trim()).ok_or(format!("unknown mode `{m}`")))
            .collect::<Result<_, _>>()?,
    };
    let (rates, auto_rates) = match value(args, "--rates") {
        None | Some("auto") => (Vec::new(), true),
        Some(list) => (
            list.split(',')
                .map(|r| r.trim().parse::<f64>().map_err(|_| format!("bad rate `{r}`")))
                .collect::<Result<_, _>>()?,
            false,
        ),
    };
    let page_rate = match value(args, "--page-rate") {
        Some(v) => v.parse().map_err(|_| format!("--page-rate {v}: expected a number"))?,
        None => 10.0,
    };
    let mut photos = Vec::new();
    for name in ["astronaut.png", "camera.png", "coffee.png", "chelsea.png"] {
        let path = root.join("tests/fixtures/photos").join(name);
        let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        photos.push((name.to_owned(), data));
    }
    Ok(Options {
        config: LoadConfig {
            modes,
            rates,
            duration: seconds(args, "--duration", 20.0)?,
            drain: seconds(args, "--drain", 20.0)?,
            page_rate,
            program: std::env::current_exe().map_err(|e| e.to_string())?,
            photos,
        },
        auto_rates,
        out: value(args, "--out").map_or_else(|| root.join("docs"), PathBuf::from),
    })
}

fn measure(mut options: Options) -> Result<(), String> {
    let calibration = calibrate(&options.config.photos)?;
    println!(
        "calibration: {:.1} ms of one core per photo (detection + thumbnail); {} cores: {:.1} photos/s",
        calibration.ms_per_photo,
        calibration.cores,
        calibration.machine_capacity()
    );
    if options.auto_rates {
        let capacity = calibration.machine_capacity();
        options.config.rates = [0.5, 1.0, 2.0]
            .iter()
            .map(|f| (f * capacity).round().max(1.0))
            .collect();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for mode in options.config.modes.clone() {
        for rate in options.config.rates.clone() {
            let row = runtime.block_on(one_run(&options.config, mode, rate))?;
            println!("{}", serde_json::to_string(&row).unwrap_or_default());
            rows.push(row);
        }
    }
    write_outputs(&options, &calibration, &rows)
}

async fn one_run(config: &LoadConfig, mode: Mode, rate: f64) -> Result<Measurement, String> {
    let store = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = ServerProcess::start(&config.program, mode, store.path())?;
    // Warm up: the first detection parses the model.
    let warm_up = LoadPlan {
        rate: 2.0,
        duration: Duration::from_secs(1),
        drain: Duration::from_secs(10),
        page_rate: 1.0,
    };
    run_load(server.addr, &config.photos, &warm_up).await;
    let plan = LoadPlan {
        rate,
        duration: config.duration,
        drain: config.drain,
        page_rate: config.page_rate,
    };
    eprintln!("{}: {rate} photos/s for {:?}…", mode.name(), config.duration);
    let samples = run_load(server.addr, &config.photos, &plan).await;
    let row = Measurement::new(mode, &plan, &samples, server.peak_rss_kb());
    drop(server);
    Ok(row)
}

fn write_outputs(options: &Options, calibration: &Calibration, rows: &[Measurement]) -> Result<(), String> {
    let out = &options.out;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let chart = svg(rows, [PAGE_P99_TARGET_MS, UPLOAD_P99_TARGET_MS]);
    std::fs::write(out.join("photos-load.svg"), chart).map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(rows).map_err(|e| e.to_string())?;
    std::fs::write(out.join("photos-load.json"), json).map_err(|e| e.to_string())?;
    let doc = document(options, calibration, rows);
    std::fs::write(out.join("photos-load.md"), &doc).map_err(|e| e.to_string())?;
    println!("\n{}", markdown(rows));
    println!("wrote {}", out.join("photos-load.md").display());
    Ok(())
}

fn document(options: &Options, calibration: &Calibration, rows: &[Measurement]) -> String {
    let c = &options.config;
    let rates: Vec<String> = c.rates.iter().map(|r| format!("{r}")).collect();
    let mut doc = String::from("# The case for dispatching, measured\n\n");
    let _ = write!(
        doc,
        "Generated by the load tool (`crates/celeriac-photos/examples/photo-load.rs`); see \
         [the photo app](photos.md#the-case-for-dispatching-measured) for how to read it.\n\n\
         ```sh\ncargo run --release -p celeriac-photos --example photo-load -- --duration {} --drain {} --rates {} --page-rate {}\n```\n\n\
         - Machine: {} cores. One photo (detection + thumbnail, the four test photos in turn) costs \
         {:.1} ms of one core, so the machine can process about {:.1} photos/s, and mode (c)'s worker, \
         whose cpu pool has {} thread(s), about {:.1} photos/s.\n\
         - Each run: a fresh server process and store; uploads sent on a fixed schedule for {} s at the \
         offered rate (open loop: arrivals do not wait for answers), the gallery page requested {} times a \
         second, results followed over server-sent events for up to {} s more. Timeouts: {} s for an \
         upload, {} s for a page.\n\n",
        c.duration.as_secs_f64(),
        c.drain.as_secs_f64(),
        rates.join(","),
        c.page_rate,
        calibration.cores,
        calibration.ms_per_photo,
        calibration.machine_capacity(),
        worker_threads(calibration),
        calibration.core_capacity() * worker_threads(calibration) as f64,
        c.duration.as_secs_f64(),
        c.page_rate,
        c.drain.as_secs_f64(),
        celeriac_photos::load::UPLOAD_TIMEOUT.as_secs(),
        celeriac_photos::load::PAGE_TIMEOUT.as_secs(),
    );
    doc.push_str(&markdown(rows));
    doc.push_str("\n![Light page p99, upload response p99 and photos completed per second against the offered rate, per mode](photos-load.svg)\n\n");
    doc.push_str(&targets(calibration, rows));
    doc
}

fn worker_threads(calibration: &Calibration) -> usize {
    calibration.cores.saturating_sub(1).max(1)
}

/// Mode (c)'s targets, checked on every run where its workers were
/// saturated (offered more than they can process).
fn targets(calibration: &Calibration, rows: &[Measurement]) -> String {
    let worker_capacity = calibration.core_capacity() * worker_threads(calibration) as f64;
    let mut out = format!(
        "## Targets of mode (c) while its workers are saturated\n\n\
         Light page p99 under {PAGE_P99_TARGET_MS} ms, upload response p99 under {UPLOAD_P99_TARGET_MS} ms, \
         no failed request; checked at every offered rate above the worker's {worker_capacity:.1} photos/s.\n\n"
    );
    let saturated: Vec<&Measurement> = rows
        .iter()
        .filter(|r| r.mode == Mode::Workers.name() && r.rate > worker_capacity)
        .collect();
    if saturated.is_empty() {
        out.push_str("No run saturated the workers.\n");
    }
    for r in saturated {
        let page = verdict(r.page_p99_ms, PAGE_P99_TARGET_MS);
        let upload = verdict(r.upload_p99_ms, UPLOAD_P99_TARGET_MS);
        let failed = if r.failed_requests == 0 {
            "no failed request: met".to_owned()
        } else {
            format!("{} failed requests: missed", r.failed_requests)
        };
        let _ = writeln!(
            out,
            "- {:.1} photos/s: light page p99 {page}; upload p99 {upload}; {failed}.",
            r.rate
        );
    }
    out
}

fn verdict(value: Option<f64>, target: f64) -> String {
    match value {
        Some(v) if v < target => format!("{v:.1} ms: met"),
        Some(v) => format!("{v:.1} ms: missed by {:.1} ms", v - target),
        None => "not measured".into(),
    }
}

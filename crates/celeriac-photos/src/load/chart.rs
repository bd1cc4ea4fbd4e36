//! The chart: three panels (light page p99, upload response p99, photos
//! completed per second) against the offered rate, one line per mode, as
//! SVG written by hand — no plotting tool needed to reproduce it.

use std::fmt::Write as _;

use super::report::Measurement;
use super::Mode;

const PANEL_W: f64 = 300.0;
const PANEL_H: f64 = 210.0;
const MARGIN_L: f64 = 58.0;
const MARGIN_T: f64 = 40.0;
const GAP: f64 = 70.0;
const COLORS: [&str; 3] = ["#d62728", "#ff7f0e", "#2ca02c"];

struct Panel {
    title: &'static str,
    unit: &'static str,
    log: bool,
    value: fn(&Measurement) -> Option<f64>,
}

const PANELS: [Panel; 3] = [
    Panel {
        title: "Light page p99",
        unit: "ms (log)",
        log: true,
        value: |m| m.page_p99_ms,
    },
    Panel {
        title: "Upload response p99",
        unit: "ms (log)",
        log: true,
        value: |m| m.upload_p99_ms,
    },
    Panel {
        title: "Photos completed",
        unit: "per second",
        log: false,
        value: |m| Some(m.completed_per_s),
    },
];

/// The SVG document for `rows`. `targets_ms` (light page, upload) are drawn
/// as mode (c)'s targets on the two latency panels.
pub fn svg(rows: &[Measurement], targets_ms: [f64; 2]) -> String {
    let width = MARGIN_L + 3.0 * PANEL_W + 2.0 * GAP + 20.0;
    let height = MARGIN_T + PANEL_H + 110.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let max_rate = rows.iter().map(|r| r.rate).fold(1.0, f64::max) * 1.08;
    for (i, panel) in PANELS.iter().enumerate() {
        let x0 = MARGIN_L + i as f64 * (PANEL_W + GAP);
        let target = targets_ms.get(i).copied();
        draw_panel(&mut out, panel, rows, x0, max_rate, target);
    }
    draw_legend(&mut out, MARGIN_T + PANEL_H + 60.0);
    out.push_str("</svg>\n");
    out
}

fn draw_panel(out: &mut String, panel: &Panel, rows: &[Measurement], x0: f64, max_rate: f64, target: Option<f64>) {
    let values: Vec<f64> = rows.iter().filter_map(panel.value).collect();
    let top = values.iter().copied().fold(0.0, f64::max).max(target.unwrap_or(0.0));
    let scale = Scale::new(panel.log, top);
    let y0 = MARGIN_T;
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-weight=\"bold\" font-size=\"13\">{}</text>",
        x0,
        y0 - 14.0,
        panel.title
    );
    let _ = writeln!(
        out,
        "<rect x=\"{x0:.1}\" y=\"{y0:.1}\" width=\"{PANEL_W}\" height=\"{PANEL_H}\" fill=\"none\" stroke=\"#999\"/>"
    );
    for tick in scale.ticks() {
        let y = y0 + PANEL_H * (1.0 - scale.at(tick));
        let _ = writeln!(
            out,
            "<line x1=\"{x0:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eee\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x0 + PANEL_W,
            x0 - 5.0,
            y + 4.0,
            tick_label(tick)
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 {:.1} {:.1})\">{}</text>",
        x0 - 44.0,
        y0 + PANEL_H / 2.0,
        x0 - 44.0,
        y0 + PANEL_H / 2.0,
        panel.unit
    );
    let mut rates: Vec<f64> = rows.iter().map(|r| r.rate).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    for rate in &rates {
        let x = x0 + PANEL_W * rate / max_rate;
        let _ = writeln!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{rate:.0}</text>",
            y0 + PANEL_H + 16.0
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">offered uploads per second</text>",
        x0 + PANEL_W / 2.0,
        y0 + PANEL_H + 34.0
    );
    if let Some(t) = target {
        let y = y0 + PANEL_H * (1.0 - scale.at(t));
        let _ = writeln!(
            out,
            "<line x1=\"{x0:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#2ca02c\" stroke-dasharray=\"5 4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#2ca02c\">target (c) {t:.0} ms</text>",
            x0 + PANEL_W,
            x0 + PANEL_W - 4.0,
            y - 4.0
        );
    }
    for (mode, color) in Mode::ALL.iter().zip(COLORS) {
        let points: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.mode == mode.name())
            .filter_map(|r| (panel.value)(r).map(|v| (r.rate, v)))
            .map(|(rate, v)| (x0 + PANEL_W * rate / max_rate, y0 + PANEL_H * (1.0 - scale.at(v))))
            .collect();
        if points.is_empty() {
            continue;
        }
        let path: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = writeln!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>",
            path.join(" ")
        );
        for (x, y) in points {
            let _ = writeln!(out, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{color}\"/>");
        }
    }
}

fn draw_legend(out: &mut String, y: f64) {
    for (i, (mode, color)) in Mode::ALL.iter().zip(COLORS).enumerate() {
        let x = MARGIN_L + i as f64 * 330.0;
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{color}\" stroke-width=\"3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x + 24.0,
            x + 30.0,
            y + 4.0,
            mode.label()
        );
    }
}

fn tick_label(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 1.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Maps values to 0..1 on a linear or logarithmic axis.
struct Scale {
    log: bool,
    low: f64,
    high: f64,
}

impl Scale {
    fn new(log: bool, top: f64) -> Scale {
        if log {
            let high = 10f64.powf(top.max(10.0).log10().ceil());
            Scale { log, low: 1.0, high }
        } else {
            Scale {
                log,
                low: 0.0,
                high: (top * 1.15).max(1.0),
            }
        }
    }

    fn at(&self, v: f64) -> f64 {
        let f = if self.log {
            (v.max(self.low).log10() - self.low.log10()) / (self.high.log10() - self.low.log10())
        } else {
            (v - self.low) / (self.high - self.low)
        };
        f.clamp(0.0, 1.0)
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let mut t = Vec::new();
            let mut v = self.low;
            while v <= self.high * 1.0001 {
                t.push(v);
                v *= 10.0;
            }
            t
        } else {
            let step = nice_step(self.high / 5.0);
            (0..=((self.high / step) as usize)).map(|i| i as f64 * step).collect()
        }
    }
}

fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

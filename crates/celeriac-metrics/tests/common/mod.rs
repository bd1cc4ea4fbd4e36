//! Reads a scrape the way Prometheus would, with a strict third-party
//! parser, into samples the tests can look up.

#![allow(dead_code)] // each test binary uses part of it

use std::collections::BTreeMap;

use prom_text_format_parser::{Scrape, Type, ValueType};

/// Label name → unescaped value.
pub type Labels = BTreeMap<String, String>;

/// One parsed scrape.
#[derive(Debug)]
pub struct Parsed {
    /// `(family, type, help)`, in the order of the text.
    pub families: Vec<(String, Type, Option<String>)>,
    /// `(sample name with its _bucket/_sum/_count suffix, labels, value)`.
    pub samples: Vec<(String, Labels, f64)>,
}

/// Parses `text`, panicking (with the text) if it is not valid.
pub fn parse(text: &str) -> Parsed {
    let scrape = Scrape::parse(text).unwrap_or_else(|e| panic!("unparsable scrape: {e:?}\n{text}"));
    let mut families = Vec::new();
    let mut samples = Vec::new();
    for metric in scrape.metrics {
        for sample in &metric.samples {
            let suffix = match (metric.kind, sample.value.value_type) {
                (Type::Histogram, ValueType::Sample) => "_bucket",
                (_, ValueType::Sum) => "_sum",
                (_, ValueType::Count) => "_count",
                _ => "",
            };
            let labels = sample
                .labels
                .iter()
                .map(|l| (l.key.clone(), unescape(&l.value)))
                .collect();
            samples.push((format!("{}{suffix}", metric.name), labels, sample.value.value.as_f64()));
        }
        families.push((metric.name, metric.kind, metric.help_desc));
    }
    Parsed { families, samples }
}

impl Parsed {
    /// The value of sample `name` with exactly `labels`.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want = to_labels(labels);
        let mut found = self.samples.iter().filter(|(n, l, _)| n == name && *l == want);
        let value = found.next().map(|(_, _, v)| *v);
        assert!(found.next().is_none(), "duplicate series {name}{want:?}");
        value
    }

    /// [`Parsed::get`], panicking when absent.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name}{labels:?} in {:#?}", self.samples))
    }

    /// Label sets of sample `name`.
    pub fn series(&self, name: &str) -> Vec<&Labels> {
        self.samples
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, _)| l)
            .collect()
    }

    /// The type of family `name`, if present.
    pub fn kind(&self, name: &str) -> Option<Type> {
        self.families.iter().find(|(n, _, _)| n == name).map(|(_, t, _)| *t)
    }

    /// `_bucket` samples of histogram `name` with `labels` (plus `le`):
    /// `(le, cumulative count)` in the text's order.
    pub fn buckets(&self, name: &str, labels: &[(&str, &str)]) -> Vec<(String, f64)> {
        let want = to_labels(labels);
        let bucket = format!("{name}_bucket");
        self.samples
            .iter()
            .filter(|(n, _, _)| *n == bucket)
            .filter_map(|(_, l, v)| {
                let mut rest = l.clone();
                let le = rest.remove("le")?;
                (rest == want).then_some((le, *v))
            })
            .collect()
    }
}

fn to_labels(labels: &[(&str, &str)]) -> Labels {
    labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Undoes the text format's label value escapes (the parser validates
/// them but keeps them).
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

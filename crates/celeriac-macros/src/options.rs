//! Parsing `#[task(...)]` arguments.

use syn::meta::ParseNestedMeta;
use syn::{Expr, ExprArray, ExprLit, Lit, LitStr, Path};

/// Options written in the attribute; unset ones keep the runtime defaults.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) name: Option<LitStr>,
    pub(crate) queue: Option<LitStr>,
    pub(crate) priority: Option<u8>,
    pub(crate) max_retries: Option<Option<u32>>,
    pub(crate) retry_backoff: Option<f64>,
    pub(crate) retry_backoff_max: Option<f64>,
    pub(crate) retry_jitter: Option<bool>,
    pub(crate) autoretry_for: Vec<LitStr>,
    pub(crate) soft_time_limit: Option<f64>,
    pub(crate) time_limit: Option<f64>,
    pub(crate) acks_late: Option<bool>,
    pub(crate) ignore_result: Option<bool>,
    pub(crate) kind: Option<LitStr>,
    pub(crate) krate: Option<Path>,
}

fn seconds(meta: &ParseNestedMeta) -> syn::Result<f64> {
    let lit: Lit = meta.value()?.parse()?;
    let secs = match &lit {
        Lit::Int(i) => i.base10_parse::<u64>()? as f64,
        Lit::Float(f) => f.base10_parse::<f64>()?,
        _ => return Err(syn::Error::new_spanned(lit, "expected seconds, e.g. 30 or 2.5")),
    };
    if !(secs.is_finite() && secs >= 0.0) {
        return Err(syn::Error::new_spanned(lit, "seconds must be a non-negative number"));
    }
    Ok(secs)
}

fn boolean(meta: &ParseNestedMeta) -> syn::Result<bool> {
    let lit: syn::LitBool = meta.value()?.parse()?;
    Ok(lit.value)
}

impl Options {
    pub(crate) fn parse(&mut self, meta: ParseNestedMeta) -> syn::Result<()> {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .ok_or_else(|| meta.error("expected an option name"))?;
        match key.as_str() {
            "name" => self.name = Some(meta.value()?.parse()?),
            "queue" => self.queue = Some(meta.value()?.parse()?),
            "priority" => {
                let lit: syn::LitInt = meta.value()?.parse()?;
                let p: u8 = lit.base10_parse()?;
                if p > 9 {
                    return Err(syn::Error::new_spanned(lit, "priority is 0-9 (0 is served first)"));
                }
                self.priority = Some(p);
            }
            "max_retries" => {
                let value: Expr = meta.value()?.parse()?;
                self.max_retries = Some(match &value {
                    Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => Some(i.base10_parse()?),
                    Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) if s.value() == "unlimited" => None,
                    _ => return Err(syn::Error::new_spanned(value, "expected a count or \"unlimited\"")),
                });
            }
            "retry_backoff" => self.retry_backoff = Some(seconds(&meta)?),
            "retry_backoff_max" => self.retry_backoff_max = Some(seconds(&meta)?),
            "retry_jitter" => self.retry_jitter = Some(boolean(&meta)?),
            "autoretry_for" => {
                let array: ExprArray = meta.value()?.parse()?;
                for element in array.elems {
                    match element {
                        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => self.autoretry_for.push(s),
                        other => return Err(syn::Error::new_spanned(other, "expected error kind names as strings")),
                    }
                }
            }
            "soft_time_limit" => self.soft_time_limit = Some(seconds(&meta)?),
            "time_limit" => self.time_limit = Some(seconds(&meta)?),
            "acks_late" => self.acks_late = Some(boolean(&meta)?),
            "ignore_result" => self.ignore_result = Some(boolean(&meta)?),
            "kind" => {
                let kind: LitStr = meta.value()?.parse()?;
                if !matches!(kind.value().as_str(), "async" | "blocking" | "cpu") {
                    return Err(syn::Error::new_spanned(
                        kind,
                        "kind is \"async\", \"blocking\" or \"cpu\"",
                    ));
                }
                self.kind = Some(kind);
            }
            "crate" => {
                let path: LitStr = meta.value()?.parse()?;
                self.krate = Some(path.parse()?);
            }
            other => {
                return Err(meta.error(format!(
                    "unknown task option `{other}` (known: name, queue, priority, max_retries, retry_backoff, \
                     retry_backoff_max, retry_jitter, autoretry_for, soft_time_limit, time_limit, acks_late, \
                     ignore_result, kind)"
                )))
            }
        }
        Ok(())
    }
}

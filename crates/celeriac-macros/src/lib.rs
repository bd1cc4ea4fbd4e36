//! `#[celeriac::task]`: turns a function into a Celeriac task.
//!
//! The attribute keeps the function (as `name::call`) and generates a unit
//! struct of the same name implementing `celeriac::Task`, with
//! `name::s(args…)` to build a typed signature. Arguments are matched from
//! Celery's `args` (in order) and `kwargs` (by parameter name); a parameter
//! of type `TaskContext` receives the running task's context.
#![deny(missing_docs)]

mod expand;
mod options;

use proc_macro::TokenStream;

/// Declares a task. See the `celeriac` crate for the options.
#[proc_macro_attribute]
pub fn task(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut options = options::Options::default();
    let parser = syn::meta::parser(|meta| options.parse(meta));
    syn::parse_macro_input!(attr with parser);
    let function = syn::parse_macro_input!(item as syn::ItemFn);
    match expand::expand(options, function) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

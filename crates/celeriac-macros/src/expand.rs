//! Code generation for `#[task]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{FnArg, GenericArgument, ItemFn, Pat, PathArguments, ReturnType, Type};

use crate::options::Options;

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

fn is_named(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == name)
}

/// `Result<T, E>` gives `Some(T)`.
fn result_ok_type(ty: &Type) -> Option<Type> {
    let segment = last_segment(ty)?;
    if segment.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}

struct Param {
    ident: syn::Ident,
    ty: Type,
    context: bool,
}

pub(crate) fn expand(options: Options, function: ItemFn) -> syn::Result<TokenStream> {
    let krate = options.krate.clone().unwrap_or_else(|| syn::parse_quote!(::celeriac));
    let sig = &function.sig;
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&sig.generics, "a task cannot be generic"));
    }
    let mut params = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(typed) = input else {
            return Err(syn::Error::new_spanned(
                input,
                "a task is a free function, not a method",
            ));
        };
        let Pat::Ident(pat) = &*typed.pat else {
            return Err(syn::Error::new_spanned(
                &typed.pat,
                "task parameters must be plain names",
            ));
        };
        if matches!(&*typed.ty, Type::Reference(_)) {
            return Err(syn::Error::new_spanned(
                &typed.ty,
                "task parameters are deserialized, so they must be owned types (String, not &str)",
            ));
        }
        params.push(Param {
            ident: pat.ident.clone(),
            ty: (*typed.ty).clone(),
            context: is_named(&typed.ty, "TaskContext"),
        });
    }
    let fn_name = &sig.ident;
    let vis = &function.vis;
    let attrs = &function.attrs;
    let asyncness = &sig.asyncness;
    let inputs = &sig.inputs;
    let output = &sig.output;
    let body = &function.block;
    let (output_type, returns_result) = match output {
        ReturnType::Default => (syn::parse_quote!(()), false),
        ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(ok) => (ok, true),
            None => ((**ty).clone(), false),
        },
    };
    let name = match &options.name {
        Some(n) => quote!(#n),
        None => quote!(::core::concat!(
            ::core::module_path!(),
            "::",
            ::core::stringify!(#fn_name)
        )),
    };

    let arg_params: Vec<&Param> = params.iter().filter(|p| !p.context).collect();
    let arg_idents: Vec<&syn::Ident> = arg_params.iter().map(|p| &p.ident).collect();
    let arg_types: Vec<&Type> = arg_params.iter().map(|p| &p.ty).collect();
    let arg_names: Vec<String> = arg_params.iter().map(|p| p.ident.to_string()).collect();
    let arg_optional: Vec<bool> = arg_params.iter().map(|p| is_named(&p.ty, "Option")).collect();
    let call_args: Vec<TokenStream> = params
        .iter()
        .map(|p| {
            if p.context {
                quote!(ctx.clone())
            } else {
                let i = &p.ident;
                quote!(#i)
            }
        })
        .collect();
    let decode = arg_params.iter().map(|p| {
        let ident = &p.ident;
        let ty = &p.ty;
        let name = p.ident.to_string();
        quote! {
            let #ident: #ty = #krate::__private::decode_arg(
                <Self as #krate::Task>::NAME,
                #name,
                __values.next().unwrap_or(#krate::__private::Value::Null),
            )?;
        }
    });
    let finish = if returns_result {
        quote!(#krate::__private::from_result(__out))
    } else {
        quote!(#krate::__private::from_value(__out))
    };
    let run = if asyncness.is_some() {
        quote!(Self::call(#(#call_args),*).await)
    } else {
        quote!(Self::call(#(#call_args),*))
    };
    let bind = quote! {
        const __PARAMS: &[#krate::__private::Param] = &[
            #( #krate::__private::Param { name: #arg_names, optional: #arg_optional } ),*
        ];
        let mut __values = __args.bind(<Self as #krate::Task>::NAME, __PARAMS)?.into_iter();
        #(#decode)*
    };
    let handler = if asyncness.is_some() {
        quote! {
            #krate::TaskHandler::from_async(|ctx: #krate::TaskContext, __args: #krate::TaskArgs| async move {
                let _ = &ctx;
                #bind
                let __out = #run;
                #finish
            })
        }
    } else {
        quote! {
            #krate::TaskHandler::from_sync(|ctx: #krate::TaskContext, __args: #krate::TaskArgs| {
                let _ = &ctx;
                #bind
                let __out = #run;
                #finish
            })
        }
    };

    let default_kind = if asyncness.is_some() { "async" } else { "blocking" };
    let kind = options
        .kind
        .as_ref()
        .map_or_else(|| default_kind.to_owned(), |k| k.value());
    let kind = match kind.as_str() {
        "cpu" => quote!(#krate::ExecutionKind::Cpu),
        "blocking" => quote!(#krate::ExecutionKind::Blocking),
        _ => quote!(#krate::ExecutionKind::Async),
    };
    let mut sets = Vec::new();
    if let Some(q) = &options.queue {
        sets.push(quote!(o.queue = ::core::option::Option::Some(::std::string::String::from(#q));));
    }
    if let Some(p) = options.priority {
        sets.push(quote!(o.priority = ::core::option::Option::Some(#p);));
    }
    match options.max_retries {
        Some(Some(n)) => sets.push(quote!(o.max_retries = ::core::option::Option::Some(#n);)),
        Some(None) => sets.push(quote!(o.max_retries = ::core::option::Option::None;)),
        None => {}
    }
    if let Some(s) = options.retry_backoff {
        sets.push(quote!(o.backoff.base = ::core::time::Duration::from_secs_f64(#s);));
    }
    if let Some(s) = options.retry_backoff_max {
        sets.push(quote!(o.backoff.max = ::core::time::Duration::from_secs_f64(#s);));
    }
    if let Some(j) = options.retry_jitter {
        sets.push(quote!(o.backoff.jitter = #j;));
    }
    for kind in &options.autoretry_for {
        sets.push(quote!(o.autoretry_for.push(::std::string::String::from(#kind));));
    }
    if let Some(s) = options.soft_time_limit {
        sets.push(quote!(o.soft_time_limit = ::core::option::Option::Some(::core::time::Duration::from_secs_f64(#s));));
    }
    if let Some(s) = options.time_limit {
        sets.push(quote!(o.time_limit = ::core::option::Option::Some(::core::time::Duration::from_secs_f64(#s));));
    }
    if let Some(b) = options.acks_late {
        sets.push(quote!(o.acks_late = #b;));
    }
    if let Some(b) = options.ignore_result {
        sets.push(quote!(o.ignore_result = #b;));
    }
    let doc_s = format!("Builds a call of the `{fn_name}` task, ready to send.");
    let doc_partial = format!(
        "A call of `{fn_name}` without arguments, to complete with `.args(…)`/`.kwarg(…)` or to receive a parent's result in a chain."
    );
    let doc_call = format!("Runs the body of `{fn_name}` directly, without a broker.");

    Ok(quote! {
        #(#attrs)*
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #fn_name;

        impl #fn_name {
            #[doc = #doc_s]
            #[allow(clippy::too_many_arguments)]
            #vis fn s(#(#arg_idents: #arg_types),*) -> #krate::Signature<#output_type> {
                #krate::__private::signature::<Self>(::std::vec![
                    #( #krate::__private::arg_value(&#arg_idents) ),*
                ])
            }

            #[doc = #doc_partial]
            #vis fn partial() -> #krate::Signature<#output_type> {
                #krate::__private::signature::<Self>(::std::vec::Vec::new())
            }

            #[doc = #doc_call]
            #[allow(clippy::too_many_arguments)]
            #vis #asyncness fn call(#inputs) #output #body
        }

        impl #krate::Task for #fn_name {
            const NAME: &'static str = #name;
            type Output = #output_type;

            fn options() -> #krate::TaskOptions {
                #[allow(unused_mut)]
                let mut o = #krate::TaskOptions::default();
                o.kind = #kind;
                #(#sets)*
                o
            }

            fn handler() -> #krate::TaskHandler {
                #handler
            }
        }
    })
}

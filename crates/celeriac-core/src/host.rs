//! Host identity used in message origins and worker ids.

/// The machine's host name, or `localhost` when it cannot be read.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length and gethostname
    // writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if !name.is_empty() => name.to_owned(),
        _ => "localhost".into(),
    }
}

/// Celery's `origin` header value for this process: `gen<pid>@<host>`.
pub fn origin() -> String {
    format!("gen{}@{}", std::process::id(), hostname())
}

//! A minimal HTTP/1.1 client for the load generator: one connection per
//! request, as many independent clients would open.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::{header, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// Sends `request` on a new connection; returns the status and whole body.
///
/// # Errors
///
/// A message when the connection or the exchange fails.
pub async fn exchange(addr: SocketAddr, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), String> {
    let response = open(addr, request).await?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the body: {e}"))?;
    Ok((status, body.to_bytes()))
}

/// Sends `request` and returns the response with its body still streaming.
pub(crate) async fn open(
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);
    sender.send_request(request).await.map_err(|e| format!("request: {e}"))
}

/// A GET request.
pub fn get(addr: SocketAddr, path: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header(header::HOST, addr.to_string())
        .body(Full::new(Bytes::new()))
        .unwrap_or_default()
}

/// A multipart upload of one file, asking for a JSON answer.
pub fn upload(addr: SocketAddr, path: &str, name: &str, content_type: &str, data: &[u8]) -> Request<Full<Bytes>> {
    const BOUNDARY: &str = "celeriac-load-4f6a3b2c1d";
    let mut body = Vec::with_capacity(data.len() + 256);
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{name}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Request::post(path)
        .header(header::HOST, addr.to_string())
        .header(header::ACCEPT, "application/json")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

/// Reads server-sent events from `body`, calling `on_event(name, data)` for
/// each, until the stream ends or `on_event` returns false.
///
/// # Errors
///
/// A message when the stream breaks.
pub async fn read_events(
    mut body: hyper::body::Incoming,
    mut on_event: impl FnMut(&str, &str) -> bool,
) -> Result<(), String> {
    let mut buffer = String::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("event stream: {e}"))?;
        let Some(data) = frame.data_ref() else { continue };
        buffer.push_str(&String::from_utf8_lossy(data));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = "message";
            let mut payload = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    payload.push_str(v.trim_start());
                }
            }
            if !payload.is_empty() && !on_event(name, &payload) {
                return Ok(());
            }
        }
    }
    Ok(())
}

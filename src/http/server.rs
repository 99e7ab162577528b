//! How the admin and IOTA servers serve their connections: HTTP/1.1 (hyper) on each accepted
//! TCP connection, within the listener's [`HttpLimits`].
//!
//! - **Connection caps.** A connection over the listener's cap, or over its source address's
//!   cap ([`ConnectionGate`]), is closed at once (logged at debug level).
//! - **Header timeout.** A request's head must be complete within `header_timeout` of the
//!   server starting to wait for it (a new connection, or a kept-alive one after its previous
//!   answer); otherwise the connection is closed. An idle kept-alive connection is closed so.
//! - **Stall timeout** (`idle_timeout`). A connection on which nothing is read or written for
//!   that long while the server waits on it (a body that stops coming, a client that does not
//!   read its answer) is closed.
//! - **Body.** A request declaring a `Content-Length` above `max_body` is answered 413 at once,
//!   without waiting for the body; a body found longer than that is answered 413; a body not
//!   complete within `body_timeout` is answered 408. Handlers get the body whole.
//!
//! On stop the listener closes, kept-alive connections are told to finish their request in
//! hand, and the loop waits up to five seconds for them.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Sleep;

use super::problem::Problem;
use crate::listener::ConnectionGate;

/// The limits one HTTP listener serves within.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HttpLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections served at once from one source address.
    pub max_connections_per_source: usize,
    /// Time for a request's head to arrive.
    pub header_timeout: Duration,
    /// Time for a request's body to arrive.
    pub body_timeout: Duration,
    /// Time a connection may make no progress while the server waits on it.
    pub idle_timeout: Duration,
    /// Largest request body in octets.
    pub max_body: usize,
    /// How a body over `max_body` is refused (the listener's own error format).
    pub too_large: fn(usize) -> Response,
}

/// How long a stopping server waits for the requests in hand.
const DRAIN: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` within `limits` until `stop` turns true. `name` labels logs and
/// metrics (`admin`, `iota`).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    name: &'static str,
    mut stop: watch::Receiver<bool>,
) {
    let gate = ConnectionGate::new(limits.max_connections, limits.max_connections_per_source);
    let app = app.layer(middleware::from_fn_with_state(limits, read_body));
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = async { let _ = stop.wait_for(|s| *s).await; } => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let permit = match gate.admit(peer.ip()) {
                        Ok(p) => p,
                        Err(refused) => {
                            tracing::debug!(%peer, server = name, reason = refused.label(), "connection refused");
                            continue; // dropped: closed
                        }
                    };
                    let app = app.clone();
                    let stop = stop.clone();
                    conns.spawn(async move {
                        serve_connection(tcp, peer, app, limits, stop).await;
                        drop(permit);
                    });
                }
                Err(err) => {
                    // Out of file descriptors, most likely: wait a little rather than spin.
                    tracing::warn!(%err, server = name, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, async { while conns.join_next().await.is_some() {} }).await;
    conns.abort_all();
}

/// Serves one connection until it closes, a limit closes it, or the server stops.
async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: HttpLimits,
    mut stop: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let io = TokioIo::new(Stall::new(tcp, limits.idle_timeout));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, TowerToHyperService::new(app));
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(%peer, %err, "HTTP connection closed");
            }
        }
        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN, conn).await;
        }
    }
}

/// Reads a request's body whole within the limits before the handler sees it.
async fn read_body(State(limits): State<HttpLimits>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body as u64) {
        return (limits.too_large)(limits.max_body);
    }
    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout(
        limits.body_timeout,
        axum::body::to_bytes(body, limits.max_body),
    )
    .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(err)) => {
            // `to_bytes` reports a body over the limit as a length-limit error somewhere in
            // its source chain; anything else is the client going away mid-body.
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
            while let Some(e) = source {
                if e.is::<http_body_util::LengthLimitError>() {
                    return (limits.too_large)(limits.max_body);
                }
                source = e.source();
            }
            return Problem::bad_request(format!("reading the request body: {err}"))
                .into_response();
        }
        Err(_) => {
            return Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                format!(
                    "the request body did not arrive within {} s",
                    limits.body_timeout.as_secs()
                ),
            )
            .into_response()
        }
    };
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// A body over the limit, as the admin API refuses it (problem+json).
pub(crate) fn too_large(max: usize) -> Response {
    let mut response = Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!("the request body is limited to {max} octets"),
    )
    .into_response();
    // The body is not read: the connection cannot carry another request.
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

/// A connection that fails with `TimedOut` when it makes no progress for `timeout` while read
/// from or written to.
struct Stall<T> {
    inner: T,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<T> Stall<T> {
    fn new(inner: T, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    fn progressed(&mut self) {
        let at = tokio::time::Instant::now() + self.timeout;
        self.deadline.as_mut().reset(at);
    }

    /// Pending: has the deadline passed?
    fn stalled<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no progress within the idle timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Stall<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.progressed();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.stalled(cx),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Stall<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, data) {
            Poll::Ready(result) => {
                this.progressed();
                Poll::Ready(result)
            }
            Poll::Pending => this.stalled(cx),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(result) => Poll::Ready(result),
            Poll::Pending => this.stalled(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                this.progressed();
                Poll::Ready(result)
            }
            Poll::Pending => this.stalled(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

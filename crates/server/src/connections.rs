//! The accept loop behind `serve`, with the limits that keep a few clients
//! from holding the server (decisions §5): a header-read timeout, a keep-alive
//! idle timeout, a cap on open connections in all and one per source IP.
//!
//! hyper's own `header_read_timeout` is not used: in hyper 1.x its timer also
//! runs while a kept-alive connection waits for its next request, so it cannot
//! give a short header timeout beside a longer idle one. The connection's IO
//! keeps both deadlines instead ([`Deadlines`]), knowing from the service
//! when a request is being answered.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::Service;

use crate::client_ip::TrustedProxies;

/// A request head is a few hundred bytes, sent at once; 10 s allows for a
/// slow, lossy link and still frees a stalled connection soon.
pub const HEADER_READ_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Longer than the idle timeout of the usual reverse proxies' upstream
/// connections (nginx `keepalive_timeout` and AWS ALB: 60 s), so the proxy
/// closes first and never sends a request onto a connection being closed.
pub const IDLE_TIMEOUT_MS_DEFAULT: u64 = 75_000;
/// Far above what a merchant API sees, far below what memory allows
/// (a connection holds some kilobytes of buffers).
pub const CONNECTIONS_MAX_DEFAULT: u32 = 10_000;
/// Room for a busy merchant's connection pool, or many payers behind one
/// NAT, while one host cannot take more than a small share of the total.
pub const CONNECTIONS_PER_IP_MAX_DEFAULT: u32 = 256;

/// After an accept error that is not the peer's (out of file descriptors),
/// retrying at once would spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Sent to a connection over a cap, which is then closed.
const REFUSAL: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\nRetry-After: 1\r\n\r\n";

#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// From connecting, or from the first byte of a next request on a
    /// kept-alive connection, until the request's head is complete.
    pub header_read_timeout: Duration,
    /// From the end of an answer until the next request's first byte.
    pub idle_timeout: Duration,
    pub connections_max: u32,
    /// Trusted proxies are exempt: every client behind them shares their address.
    pub connections_per_ip_max: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_millis(HEADER_READ_TIMEOUT_MS_DEFAULT),
            idle_timeout: Duration::from_millis(IDLE_TIMEOUT_MS_DEFAULT),
            connections_max: CONNECTIONS_MAX_DEFAULT,
            connections_per_ip_max: CONNECTIONS_PER_IP_MAX_DEFAULT,
        }
    }
}

/// Serves `app` (an [`axum::Router`], or the framed [`crate::App`]) over HTTP/1.x
/// (1.0 and 1.1) until `shutdown` resolves, then stops accepting, lets
/// requests in flight finish and closes idle connections. Handlers see the
/// peer as `ConnectInfo<SocketAddr>`.
pub async fn serve_router<S>(
    listener: TcpListener,
    app: S,
    limits: &ConnectionLimits,
    trusted_proxies: &TrustedProxies,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    S: Served,
{
    let permits = usize::try_from(limits.connections_max)
        .unwrap_or(usize::MAX)
        .min(Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(permits));
    let per_ip = Arc::new(ConnectionsPerIp::default());
    let (closing, closing_seen) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) if is_peers_error(&err) => continue,
                Err(err) => {
                    tracing::error!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            refuse(&stream, peer, "connections_max");
            continue;
        };
        let ip_slot = if trusted_proxies.contains(peer.ip()) {
            None
        } else {
            match per_ip.enter(peer.ip(), limits.connections_per_ip_max) {
                Some(ip_slot) => Some(ip_slot),
                None => {
                    refuse(&stream, peer, "connections_per_ip_max");
                    continue;
                }
            }
        };
        let connection = Connection {
            stream,
            peer,
            app: app.clone(),
            limits: limits.clone(),
            _slot: slot,
            _ip_slot: ip_slot,
        };
        tokio::spawn(connection.serve(closing_seen.clone()));
    }
    drop(listener);
    drop(closing_seen);
    closing.send_replace(true);
    closing.closed().await;
}

/// Errors of one connection that never reached us; the listener is fine.
fn is_peers_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Answers 503 if the socket takes it at once (it always has room for so few
/// bytes), never waiting on the peer; dropping the stream closes it.
fn refuse(stream: &TcpStream, peer: SocketAddr, limit: &'static str) {
    let _ = stream.try_write(REFUSAL);
    tracing::debug!(%peer, limit, "connection refused");
}

/// Open connections per source IP; a slot gives its place back when dropped.
#[derive(Debug, Default)]
struct ConnectionsPerIp {
    open: Mutex<HashMap<IpAddr, u32>>,
}

impl ConnectionsPerIp {
    fn enter(self: &Arc<Self>, ip: IpAddr, max: u32) -> Option<IpSlot> {
        let ip = ip.to_canonical();
        // A poisoned lock only means a panic between two counter updates.
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        match open.entry(ip) {
            Entry::Occupied(mut count) if *count.get() < max => *count.get_mut() += 1,
            Entry::Occupied(_) => return None,
            Entry::Vacant(place) if max > 0 => {
                place.insert(1);
            }
            Entry::Vacant(_) => return None,
        }
        Some(IpSlot {
            connections: Arc::clone(self),
            ip,
        })
    }
}

#[derive(Debug)]
struct IpSlot {
    connections: Arc<ConnectionsPerIp>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self
            .connections
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Entry::Occupied(mut count) = open.entry(self.ip) {
            *count.get_mut() -= 1;
            if *count.get() == 0 {
                count.remove();
            }
        }
    }
}

/// What [`serve_router`] serves: a service that is always ready (a router,
/// framed or not), so each request is called without waiting on it.
pub trait Served:
    Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send + Unpin>
    + Clone
    + Send
    + 'static
{
}

impl<S> Served for S where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send + Unpin>
        + Clone
        + Send
        + 'static
{
}

/// One accepted connection and the slots it holds while it lives.
struct Connection<S> {
    stream: TcpStream,
    peer: SocketAddr,
    app: S,
    limits: ConnectionLimits,
    _slot: OwnedSemaphorePermit,
    _ip_slot: Option<IpSlot>,
}

impl<S: Served> Connection<S> {
    async fn serve(self, mut closing: watch::Receiver<bool>) {
        let activity = Arc::new(Activity::default());
        let io = TokioIo::new(Deadlines::new(
            self.stream,
            Arc::clone(&activity),
            &self.limits,
        ));
        let service = ConnectionService {
            app: self.app,
            peer: self.peer,
            activity,
        };
        // No hyper timer: the deadlines are the IO's (see the module comment).
        let connection = http1::Builder::new()
            .header_read_timeout(None)
            .serve_connection(io, service);
        tokio::pin!(connection);
        let shutting_down = async move {
            let _ = closing.wait_for(|closing| *closing).await;
        };
        let served = tokio::select! {
            served = connection.as_mut() => served,
            () = shutting_down => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(err) = served {
            tracing::debug!(peer = %self.peer, error = %err, "connection ended");
        }
    }
}

/// Whether the connection is answering a request, as the service sees it.
#[derive(Debug, Default)]
struct Activity {
    answering: AtomicBool,
}

/// A request being answered: from the call of the service until its answer's
/// body is written (or dropped).
#[derive(Debug)]
struct Answering(Arc<Activity>);

impl Answering {
    fn begin(activity: &Arc<Activity>) -> Answering {
        activity.answering.store(true, Ordering::Release);
        Answering(Arc::clone(activity))
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.answering.store(false, Ordering::Release);
    }
}

#[derive(Clone)]
struct ConnectionService<S> {
    app: S,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl<S: Served> hyper::service::Service<Request<Incoming>> for ConnectionService<S> {
    type Response = Response<AnswerBody>;
    type Error = Infallible;
    type Future = AnswerFuture<S::Future>;

    fn call(&self, request: Request<Incoming>) -> AnswerFuture<S::Future> {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let answering = Answering::begin(&self.activity);
        AnswerFuture {
            route: self.app.clone().call(request),
            answering: Some(answering),
        }
    }
}

struct AnswerFuture<F> {
    route: F,
    answering: Option<Answering>,
}

impl<F> Future for AnswerFuture<F>
where
    F: Future<Output = Result<Response<Body>, Infallible>> + Unpin,
{
    type Output = Result<Response<AnswerBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Ok(response) = ready!(Pin::new(&mut self.route).poll(cx));
        let answering = self.answering.take();
        Poll::Ready(Ok(response.map(|body| AnswerBody {
            body,
            _answering: answering,
        })))
    }
}

/// The router's body, ending the request's [`Answering`] when hyper drops it.
struct AnswerBody {
    body: Body,
    _answering: Option<Answering>,
}

impl hyper::body::Body for AnswerBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Where a connection stands, as far as its deadlines go.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Since connecting, or since a next request's first byte arrived.
    ReadingHead { since: Instant },
    /// A request is being answered (its body read, the handler run, the
    /// answer written): no deadline here.
    Answering,
    /// Between an answer and the next request.
    Idle { since: Instant },
}

/// The socket, failing a read with `TimedOut` once the phase's deadline has
/// passed with nothing arriving; hyper then closes the connection.
struct Deadlines {
    stream: TcpStream,
    activity: Arc<Activity>,
    phase: Phase,
    timer: Pin<Box<Sleep>>,
    header_read_timeout: Duration,
    idle_timeout: Duration,
}

impl Deadlines {
    fn new(stream: TcpStream, activity: Arc<Activity>, limits: &ConnectionLimits) -> Deadlines {
        let now = Instant::now();
        Deadlines {
            stream,
            activity,
            phase: Phase::ReadingHead { since: now },
            timer: Box::pin(tokio::time::sleep_until(now + limits.header_read_timeout)),
            header_read_timeout: limits.header_read_timeout,
            idle_timeout: limits.idle_timeout,
        }
    }

    /// Follows the service: an answer began, or the one in progress ended.
    fn follow_activity(&mut self) {
        if self.activity.answering.load(Ordering::Acquire) {
            self.phase = Phase::Answering;
        } else if let Phase::Answering = self.phase {
            self.phase = Phase::Idle {
                since: Instant::now(),
            };
        }
    }

    /// Ready with the error to fail with once the deadline has passed; until
    /// then the timer wakes the connection's task at the deadline.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        self.follow_activity();
        let (deadline, what) = match self.phase {
            Phase::Answering => return Poll::Pending,
            Phase::ReadingHead { since } => (since + self.header_read_timeout, "header read"),
            Phase::Idle { since } => (since + self.idle_timeout, "idle"),
        };
        // A deadline later than the timer's (each next request's) is moved
        // to only when the timer rings: a busy connection does not re-arm it
        // for every request, and an early ring costs one wake-up.
        if deadline < self.timer.deadline() {
            self.timer.as_mut().reset(deadline);
        }
        loop {
            ready!(self.timer.as_mut().poll(cx));
            if deadline <= self.timer.deadline() {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{what} timeout"),
                ));
            }
            self.timer.as_mut().reset(deadline);
        }
    }
}

impl AsyncRead for Deadlines {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let filled = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > filled {
                    this.follow_activity();
                    if let Phase::Idle { .. } = this.phase {
                        this.phase = Phase::ReadingHead {
                            since: Instant::now(),
                        };
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => this.poll_deadline(cx).map(Err),
        }
    }
}

impl AsyncWrite for Deadlines {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    /// hyper flushes after an answer's last bytes, when no read may follow
    /// until the peer sends: the idle deadline is armed here, or nothing
    /// would wake an idle connection to close it.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Poll::Ready(err) = this.poll_deadline(cx) {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_per_ip_slot_is_given_back_when_dropped() {
        let connections = Arc::new(ConnectionsPerIp::default());
        let ip = IpAddr::from([192, 0, 2, 1]);
        let first = connections.enter(ip, 2);
        let second = connections.enter(ip, 2);
        assert!(first.is_some() && second.is_some());
        assert!(
            connections.enter(ip, 2).is_none(),
            "a third is over the cap"
        );
        // The same address seen through an IPv6 socket is the same client.
        let mapped = IpAddr::from([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]);
        assert!(connections.enter(mapped, 2).is_none());
        assert!(connections.enter(IpAddr::from([192, 0, 2, 2]), 2).is_some());
        drop(first);
        let third = connections.enter(ip, 2);
        assert!(third.is_some());
        drop((second, third));
        let open = connections
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        assert!(
            open.is_empty(),
            "addresses with no connection are forgotten: {open:?}"
        );
    }
}

//! The TCP side of an SMPP session: what the sans-IO [`Session`] polls is written to the
//! socket, what the socket gives is handed to it, and its timer is fired. The ESME binds and
//! the OSPP handler's connections are both a `Link` and a loop around it.

use std::pin::Pin;
use std::time::Instant;

use otagw_codecs::smpp::Session;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// Octets read from the socket at a time.
const READ_BUFFER: usize = 16 * 1024;

/// A TCP connection and the session that runs on it.
#[derive(Debug)]
pub(crate) struct Link {
    tcp: TcpStream,
    /// The session.
    pub(crate) session: Session,
    buf: Vec<u8>,
    /// The session's timer, kept from one wait to the next (re-armed only when its deadline
    /// moves: a timer armed anew for every wait costs the runtime's timer wheel each time).
    timer: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    /// The I/O error that ended the connection, if one did.
    pub(crate) io_error: Option<std::io::Error>,
    /// When octets last came from the peer (or the link was made): for read timeouts.
    pub(crate) last_input: Instant,
}

impl Link {
    pub(crate) fn new(tcp: TcpStream, session: Session) -> Self {
        Self {
            tcp,
            session,
            buf: vec![0; READ_BUFFER],
            timer: Box::pin(tokio::time::sleep(std::time::Duration::ZERO)),
            armed: None,
            io_error: None,
            last_input: Instant::now(),
        }
    }

    /// The connection is gone (with `error`, or closed by the peer).
    fn lost(&mut self, error: Option<std::io::Error>) {
        if self.io_error.is_none() {
            self.io_error = error;
        }
        self.session.connection_lost();
    }

    /// Writes all the session has to send; a write that fails closes the session.
    pub(crate) async fn flush(&mut self) {
        while let Some(octets) = self.session.poll_transmit() {
            if self.io_error.is_some() {
                continue; // nowhere to write: dropped
            }
            if let Err(e) = self.tcp.write_all(&octets).await {
                self.lost(Some(e));
            }
        }
    }

    /// Waits for octets from the peer, or the session's timer, and hands them to the session.
    /// Cancel-safe: nothing is lost when another branch of a `select!` wins.
    pub(crate) async fn input(&mut self) {
        if self.session.is_closed() {
            return std::future::pending().await;
        }
        let deadline = self.session.poll_timeout();
        if let Some(at) = deadline.filter(|at| self.armed != Some(*at)) {
            self.timer
                .as_mut()
                .reset(tokio::time::Instant::from_std(at));
        }
        self.armed = deadline;
        tokio::select! {
            read = self.tcp.read(&mut self.buf) => match read {
                Ok(0) => self.lost(None),
                Ok(n) => {
                    self.last_input = Instant::now();
                    let octets = self.buf.get(..n).unwrap_or_default();
                    self.session.handle_data(Instant::now(), octets);
                }
                Err(e) => self.lost(Some(e)),
            },
            () = &mut self.timer, if deadline.is_some() => {
                self.session.handle_timeout(Instant::now());
            }
        }
    }
}

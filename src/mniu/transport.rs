//! SIGTRAN transports: how M3UA messages travel between the gateway and its signalling peers.
//!
//! Nothing above this module knows which transport carries an association:
//! - **TCP**: one M3UA message after another on the stream, framed by the M3UA length field
//!   (what the development and CI machines can run; osmo-stp >= 1.9 accepts it too);
//! - **SCTP** (kernel SCTP, payload protocol identifier 3, behind the `sctp` cargo feature): one
//!   M3UA message per SCTP message. [`probe_sctp`] tells at run time whether the kernel has SCTP.

use std::net::SocketAddr;

use otagw_codecs::m3ua;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// M3UA's SCTP payload protocol identifier.
pub const M3UA_PPID: u32 = 3;
/// Largest M3UA message accepted from a peer.
pub const MAX_MESSAGE: usize = 65_536 + 8;

/// Which transport an association uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// M3UA over TCP.
    Tcp,
    /// M3UA over kernel SCTP.
    Sctp,
}

/// Transport failures.
#[derive(Debug, Error)]
pub enum TransportError {
    /// Kernel SCTP is missing or this build lacks it.
    #[error("kernel SCTP not available: {0}")]
    SctpUnavailable(String),
    /// Connecting failed.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Peer.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The association failed while in use.
    #[error("association I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The peer sent something that is not M3UA.
    #[error("peer sent a bad M3UA frame: {0}")]
    Framing(String),
    /// The peer closed the association.
    #[error("peer closed the association")]
    Closed,
}

/// Whether the kernel supports SCTP sockets; `Err` says why not, in words an operator can act
/// on (the raw errno is in the message, not instead of it).
pub fn probe_sctp() -> Result<(), TransportError> {
    use socket2::{Domain, Protocol, Socket, Type};
    match Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::from(132))) {
        Ok(_) => {
            if cfg!(feature = "sctp") {
                Ok(())
            } else {
                Err(TransportError::SctpUnavailable(
                    "the kernel has SCTP but this otagw was built without the `sctp` feature"
                        .to_string(),
                ))
            }
        }
        Err(e) => Err(TransportError::SctpUnavailable(format!(
            "the kernel refused an SCTP socket ({e}); load the sctp module (modprobe sctp) or use transport = \"tcp\""
        ))),
    }
}

/// The receiving half of an association.
#[derive(Debug)]
pub enum Receiver {
    /// TCP: a byte stream with a reassembly buffer.
    Tcp {
        /// The socket.
        read: OwnedReadHalf,
        /// Octets received but not yet framed.
        buffer: Vec<u8>,
    },
    /// SCTP.
    #[cfg(feature = "sctp")]
    Sctp(tokio_sctp::OwnedReadHalf),
}

/// The sending half of an association.
#[derive(Debug)]
pub enum Sender {
    /// TCP.
    Tcp(OwnedWriteHalf),
    /// SCTP.
    #[cfg(feature = "sctp")]
    Sctp(tokio_sctp::OwnedWriteHalf),
}

/// Opens an association to `addr`.
pub async fn connect(
    kind: TransportKind,
    addr: SocketAddr,
) -> Result<(Sender, Receiver), TransportError> {
    match kind {
        TransportKind::Tcp => {
            let stream = TcpStream::connect(addr)
                .await
                .map_err(|source| TransportError::Connect { addr, source })?;
            let _ = stream.set_nodelay(true);
            Ok(split_tcp(stream))
        }
        TransportKind::Sctp => connect_sctp(addr).await,
    }
}

/// Wraps an accepted TCP connection (the simulators' side).
pub fn split_tcp(stream: TcpStream) -> (Sender, Receiver) {
    let (read, write) = stream.into_split();
    (
        Sender::Tcp(write),
        Receiver::Tcp {
            read,
            buffer: Vec::new(),
        },
    )
}

#[cfg(feature = "sctp")]
async fn connect_sctp(addr: SocketAddr) -> Result<(Sender, Receiver), TransportError> {
    probe_sctp()?;
    let stream = tokio_sctp::SctpStream::connect(addr)
        .await
        .map_err(|source| TransportError::Connect { addr, source })?;
    let (read, write) = stream.into_split();
    Ok((Sender::Sctp(write), Receiver::Sctp(read)))
}

#[cfg(not(feature = "sctp"))]
async fn connect_sctp(_addr: SocketAddr) -> Result<(Sender, Receiver), TransportError> {
    probe_sctp()?;
    Err(TransportError::SctpUnavailable(
        "this otagw was built without the `sctp` feature".to_string(),
    ))
}

impl Sender {
    /// Sends encoded M3UA messages laid end to end in `messages`: one write on TCP, one SCTP
    /// message each on SCTP.
    pub async fn send_all(&mut self, messages: &[u8]) -> Result<(), TransportError> {
        match self {
            Self::Tcp(w) => w.write_all(messages).await?,
            #[cfg(feature = "sctp")]
            Self::Sctp(_) => {
                let mut rest = messages;
                while !rest.is_empty() {
                    let len = m3ua::frame_len(rest)
                        .map_err(|e| TransportError::Framing(e.to_string()))?
                        .filter(|n| *n <= rest.len())
                        .ok_or_else(|| {
                            TransportError::Framing("a partial message to send".into())
                        })?;
                    let (one, more) = rest.split_at(len);
                    self.send(one).await?;
                    rest = more;
                }
            }
        }
        Ok(())
    }

    /// Sends one encoded M3UA message.
    pub async fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        match self {
            Self::Tcp(w) => w.write_all(message).await?,
            #[cfg(feature = "sctp")]
            Self::Sctp(w) => {
                let options = tokio_sctp::SendOptions {
                    ppid: M3UA_PPID,
                    ..Default::default()
                };
                w.sendmsg(message, None, &options).await?;
            }
        }
        Ok(())
    }
}

impl Receiver {
    /// Receives one M3UA message (its octets, header included).
    pub async fn recv(&mut self) -> Result<Vec<u8>, TransportError> {
        match self {
            Self::Tcp { read, buffer } => loop {
                match m3ua::frame_len(buffer).map_err(|e| TransportError::Framing(e.to_string()))? {
                    Some(len) if len > MAX_MESSAGE => {
                        return Err(TransportError::Framing(format!(
                            "message of {len} octets is over the {MAX_MESSAGE} limit"
                        )))
                    }
                    Some(len) if buffer.len() >= len => {
                        let rest = buffer.split_off(len);
                        return Ok(std::mem::replace(buffer, rest));
                    }
                    _ => {}
                }
                let mut chunk = [0u8; 4096];
                let n = read.read(&mut chunk).await?;
                if n == 0 {
                    return Err(TransportError::Closed);
                }
                buffer.extend_from_slice(&chunk[..n]);
            },
            #[cfg(feature = "sctp")]
            Self::Sctp(r) => {
                let mut buf = bytes::BytesMut::with_capacity(MAX_MESSAGE);
                let (n, _info, _flags) = r.recvmsg_buf(&mut buf).await?;
                if n == 0 {
                    return Err(TransportError::Closed);
                }
                Ok(buf[..n].to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_probe_explains_itself() {
        match probe_sctp() {
            Ok(()) => {}
            Err(e) => assert!(
                e.to_string().starts_with("kernel SCTP not available"),
                "{e}"
            ),
        }
    }

    #[tokio::test]
    async fn tcp_frames_messages_split_and_merged() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            // Two BEAT messages (class 3, type 3) with 4 octets of heartbeat data, written as
            // one merged write split at an awkward point.
            let beat = |b: u8| vec![1, 0, 3, 3, 0, 0, 0, 16, 0, 9, 0, 8, b, b, b, b];
            let mut both = beat(1);
            both.extend(beat(2));
            s.write_all(&both[..5]).await.unwrap();
            s.flush().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            s.write_all(&both[5..]).await.unwrap();
        });
        let (_tx, mut rx) = connect(TransportKind::Tcp, addr).await.unwrap();
        let first = rx.recv().await.unwrap();
        let second = rx.recv().await.unwrap();
        assert_eq!(first.len(), 16);
        assert_eq!(first[12], 1);
        assert_eq!(second[12], 2);
        server.await.unwrap();
        assert!(matches!(rx.recv().await, Err(TransportError::Closed)));
    }
}

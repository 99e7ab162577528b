//! The signalling trace: every M3UA message the gateway sends or receives, and every IS-683
//! message carried over IOTA, written to a pcap file that Wireshark opens as is.
//!
//! - M3UA messages become IPv4/SCTP frames (one DATA chunk, PPID 3, port 2905 on both ends),
//!   whatever the real transport (TCP here), so Wireshark's M3UA dissector finds them.
//! - IS-683 messages on the IOTA bearer become IPv4/UDP frames between the gateway's port 6832
//!   and a pseudo-address and port of their session ([`session_endpoint`]): session N's handset
//!   is 10.a.b.c (the low 24 bits of N) at port 49152 + N mod 16384, so each session is one UDP
//!   conversation and Wireshark's "Follow UDP stream" (or `ip.addr == 10.a.b.c`) shows that
//!   session alone, both directions. The direction is which end sent it: from port 6832 forward,
//!   to it reverse. Wireshark decodes them with the small Lua shim in `codecs/tests/support/`.
//!
//! The gateway is 127.0.0.1 and the M3UA peer 127.0.0.2 in the trace (those two addresses only
//! tell the directions apart). Each packet is time-stamped and flushed as it is written; when the file
//! passes `max_bytes` it is renamed to `FILE.1` (replacing an older one) and a new file begun.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use otagw_codecs::pcap::{self, LINKTYPE_IPV4};

const GATEWAY_IP: [u8; 4] = [127, 0, 0, 1];
const PEER_IP: [u8; 4] = [127, 0, 0, 2];
const M3UA_PORT: u16 = 2905;
const M3UA_PPID: u32 = 3;
/// The gateway's UDP port of IOTA-borne IS-683 messages in the trace (both directions).
pub(crate) const IS683_SESSION_PORT: u16 = 6832;

/// The pseudo-address and UDP port standing for session `session`'s handset in the trace:
/// 10.a.b.c with a.b.c the low 24 bits of the id, port 49152 + id mod 16384. Unique for 16.7
/// million sessions in a row, which one trace file never holds.
pub(crate) fn session_endpoint(session: i64) -> ([u8; 4], u16) {
    let [_, _, _, _, _, a, b, c] = session.to_be_bytes();
    let port = 49152 + u16::try_from(session.rem_euclid(16384)).unwrap_or(0);
    ([10, a, b, c], port)
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the gateway.
    Sent,
    /// To the gateway.
    Received,
}

#[derive(Debug)]
struct Writer {
    path: PathBuf,
    file: File,
    written: u64,
    max_bytes: u64,
    tsn: u32,
}

impl Writer {
    fn open(path: &Path, max_bytes: u64) -> std::io::Result<Self> {
        let mut file = File::create(path)?;
        let header = pcap::global_header(LINKTYPE_IPV4);
        file.write_all(&header)?;
        file.flush()?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            written: header.len() as u64,
            max_bytes,
            tsn: 0,
        })
    }

    fn write(&mut self, frame: &[u8]) -> std::io::Result<()> {
        if self.max_bytes > 0 && self.written + frame.len() as u64 + 16 > self.max_bytes {
            let mut rotated = self.path.clone().into_os_string();
            rotated.push(".1");
            std::fs::rename(&self.path, rotated)?;
            *self = Self::open(&self.path, self.max_bytes)?;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let record = pcap::record(
            u32::try_from(now.as_secs()).unwrap_or(u32::MAX),
            now.subsec_micros(),
            frame,
        );
        self.file.write_all(&record)?;
        self.file.flush()?;
        self.written += record.len() as u64;
        Ok(())
    }
}

/// A shared trace file. Cheap to clone; writes from any task.
#[derive(Debug, Clone)]
pub struct Tracer {
    inner: Arc<Mutex<Writer>>,
}

impl Tracer {
    /// Creates (truncates) `path` and writes the pcap header. `max_bytes` 0: never rotate.
    pub fn create(path: &Path, max_bytes: u64) -> std::io::Result<Self> {
        Ok(Self {
            inner: Arc::new(Mutex::new(Writer::open(path, max_bytes)?)),
        })
    }

    fn write(&self, build: impl FnOnce(&mut Writer) -> Option<Vec<u8>>) {
        let Ok(mut w) = self.inner.lock() else {
            return;
        };
        if let Some(frame) = build(&mut w) {
            if let Err(e) = w.write(&frame) {
                tracing::warn!(error = %e, path = %w.path.display(), "writing the signalling trace");
            }
        }
    }

    /// Records one M3UA message.
    pub fn m3ua(&self, direction: Direction, message: &[u8]) {
        let (src, dst) = match direction {
            Direction::Sent => (GATEWAY_IP, PEER_IP),
            Direction::Received => (PEER_IP, GATEWAY_IP),
        };
        self.write(|w| {
            w.tsn = w.tsn.wrapping_add(1);
            pcap::ipv4_sctp_frame(src, dst, M3UA_PORT, M3UA_PORT, w.tsn, M3UA_PPID, message).ok()
        });
    }

    /// Records one IS-683 message of session `session` carried over IOTA (`forward`: gateway
    /// to handset), between the gateway and the session's pseudo-address
    /// ([`session_endpoint`]).
    pub fn is683(&self, session: i64, forward: bool, message: &[u8]) {
        let gateway = (GATEWAY_IP, IS683_SESSION_PORT);
        let handset = session_endpoint(session);
        let ((src, sport), (dst, dport)) = if forward {
            (gateway, handset)
        } else {
            (handset, gateway)
        };
        self.write(|_| pcap::ipv4_udp_frame(src, dst, sport, dport, message).ok());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn writes_a_pcap_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.pcap");
        let t = Tracer::create(&path, 200).unwrap();
        t.is683(1, true, &[0x05]);
        let first = std::fs::read(&path).unwrap();
        assert_eq!(&first[..24], &pcap::global_header(LINKTYPE_IPV4)[..]);
        assert!(first.len() > 24, "flushed per packet");
        for _ in 0..10 {
            t.m3ua(Direction::Sent, &[1, 0, 3, 3, 0, 0, 0, 8]);
        }
        assert!(dir.path().join("t.pcap.1").exists(), "rotated");
        assert!(std::fs::metadata(&path).unwrap().len() <= 200);
    }

    #[test]
    fn each_session_has_its_own_address_and_port() {
        assert_eq!(session_endpoint(1), ([10, 0, 0, 1], 49153));
        assert_eq!(session_endpoint(0x01_0203), ([10, 1, 2, 3], 49152 + 0x0203));
        assert_ne!(session_endpoint(7), session_endpoint(8));
        assert_eq!(session_endpoint(-1).0[0], 10, "no panic on odd ids");
        // Both directions of one session are one UDP conversation.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.pcap");
        let t = Tracer::create(&path, 0).unwrap();
        t.is683(5, true, &[0x05]);
        t.is683(5, false, &[0x05, 0x00]);
        let bytes = std::fs::read(&path).unwrap();
        // pcap header 24, then records: 16 octets of header (length at 8..12), the IPv4 frame
        // (addresses at 12..20, UDP ports at 20..24).
        let frame = |at: usize| {
            let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
            (&bytes[at + 16..at + 16 + len], at + 16 + len)
        };
        let (first, next) = frame(24);
        let (second, _) = frame(next);
        assert_eq!(&first[12..16], &GATEWAY_IP);
        assert_eq!(&first[16..20], &[10, 0, 0, 5]);
        assert_eq!(&second[12..16], &[10, 0, 0, 5]);
        assert_eq!(&second[16..20], &GATEWAY_IP);
        assert_eq!(&first[20..22], &IS683_SESSION_PORT.to_be_bytes());
        assert_eq!(&second[22..24], &IS683_SESSION_PORT.to_be_bytes());
        assert_eq!(first[22..24], second[20..22], "the same handset port");
    }
}

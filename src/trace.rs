//! The signalling trace: every M3UA message the gateway sends or receives, and every IS-683
//! message carried over IOTA, written to a pcap file that Wireshark opens as is.
//!
//! - M3UA messages become IPv4/SCTP frames (one DATA chunk, PPID 3, port 2905 on both ends),
//!   whatever the real transport (TCP here), so Wireshark's M3UA dissector finds them.
//! - IS-683 messages on the IOTA bearer become IPv4/UDP frames to port 6830 (forward) or 6831
//!   (reverse); Wireshark decodes them with the small Lua shim in `codecs/tests/support/`.
//!
//! The gateway is 127.0.0.1 and the peer 127.0.0.2 in the trace (the addresses only tell the
//! directions apart). Each packet is time-stamped and flushed as it is written; when the file
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
/// UDP port of forward IS-683 messages in the trace.
pub(crate) const IS683_FORWARD_PORT: u16 = 6830;
/// UDP port of reverse IS-683 messages in the trace.
pub(crate) const IS683_REVERSE_PORT: u16 = 6831;

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

    /// Records one IS-683 message carried over IOTA (`forward`: gateway to handset).
    pub fn is683(&self, forward: bool, message: &[u8]) {
        let (src, dst, port) = if forward {
            (GATEWAY_IP, PEER_IP, IS683_FORWARD_PORT)
        } else {
            (PEER_IP, GATEWAY_IP, IS683_REVERSE_PORT)
        };
        self.write(|_| pcap::ipv4_udp_frame(src, dst, 40000, port, message).ok());
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
        t.is683(true, &[0x05]);
        let first = std::fs::read(&path).unwrap();
        assert_eq!(&first[..24], &pcap::global_header(LINKTYPE_IPV4)[..]);
        assert!(first.len() > 24, "flushed per packet");
        for _ in 0..10 {
            t.m3ua(Direction::Sent, &[1, 0, 3, 3, 0, 0, 0, 8]);
        }
        assert!(dir.path().join("t.pcap.1").exists(), "rotated");
        assert!(std::fs::metadata(&path).unwrap().len() <= 200);
    }
}

//! Classic pcap files and raw IPv4 frames, built in memory.
//!
//! Pure helpers (no I/O) used by the signalling trace and by tests that hand our encodings to
//! Wireshark. A file is a 24-octet global header followed by one record per packet:
//!
//! | part | fields (octets) |
//! |---|---|
//! | global header | magic 0xa1b2c3d4 (4), version 2 (2), 4 (2), thiszone 0 (4), sigfigs 0 (4), snaplen 65535 (4), linktype (4) |
//! | record header | ts_sec (4), ts_usec (4), incl_len (4), orig_len (4), then incl_len octets |
//!
//! All header integers are written little-endian (readers detect the byte order from the
//! magic). Frames are carried with [`LINKTYPE_IPV4`] (228): each packet is a bare IPv4 datagram,
//! so no fake Ethernet header is needed; [`ipv4_packet`] builds one for any protocol (UDP now,
//! SCTP for the signalling trace) and [`ipv4_udp_frame`] adds a UDP header.

use thiserror::Error;

/// Link type: Ethernet II.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Link type: raw IP (version from the first nibble).
pub const LINKTYPE_RAW: u32 = 101;
/// Link type: user-defined 0 (Wireshark maps it to a dissector through its user DLT table).
pub const LINKTYPE_USER0: u32 = 147;
/// Link type: user-defined 1.
pub const LINKTYPE_USER1: u32 = 148;
/// Link type: raw IPv4, the one this module's frames use.
pub const LINKTYPE_IPV4: u32 = 228;
/// The snapshot length written in the global header; longer frames are truncated in the file.
pub const SNAPLEN: u32 = 65535;

/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// IP protocol number of SCTP.
pub const IPPROTO_SCTP: u8 = 132;

/// A frame that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PcapError {
    /// The payload does not fit the length field of the header being built.
    #[error("{what}: payload of {len} octets exceeds the maximum of {max}")]
    TooLarge {
        /// The header whose length field overflows.
        what: &'static str,
        /// The payload length.
        len: usize,
        /// The largest payload allowed.
        max: usize,
    },
}

/// The 24-octet pcap global header for `linktype`.
pub fn global_header(linktype: u32) -> [u8; 24] {
    let mut h = [0u8; 24];
    h[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // thiszone and sigfigs stay 0.
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&linktype.to_le_bytes());
    h
}

/// One packet record: the 16-octet record header and the frame (truncated to [`SNAPLEN`], with
/// orig_len keeping the real length).
pub fn record(ts_sec: u32, ts_usec: u32, frame: &[u8]) -> Vec<u8> {
    let incl = frame.len().min(SNAPLEN as usize);
    let orig = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(16 + incl);
    out.extend_from_slice(&ts_sec.to_le_bytes());
    out.extend_from_slice(&ts_usec.to_le_bytes());
    out.extend_from_slice(&(incl as u32).to_le_bytes());
    out.extend_from_slice(&orig.to_le_bytes());
    out.extend_from_slice(&frame[..incl]);
    out
}

/// A pcap file under construction.
#[derive(Debug, Clone)]
pub struct PcapWriter {
    buf: Vec<u8>,
}

impl PcapWriter {
    /// A file with the global header for `linktype` and no packets yet.
    pub fn new(linktype: u32) -> Self {
        Self {
            buf: global_header(linktype).to_vec(),
        }
    }

    /// Appends a packet stamped `ts_sec` seconds + `ts_usec` microseconds.
    pub fn packet(&mut self, ts_sec: u32, ts_usec: u32, frame: &[u8]) {
        self.buf.extend(record(ts_sec, ts_usec, frame));
    }

    /// Appends a packet stamped with a time in microseconds since the epoch.
    pub fn packet_at_micros(&mut self, micros: u64, frame: &[u8]) {
        let secs = u32::try_from(micros / 1_000_000).unwrap_or(u32::MAX);
        self.packet(secs, (micros % 1_000_000) as u32, frame);
    }

    /// The file's octets so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The finished file.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// The Internet checksum (RFC 1071) of `data`: the ones' complement of the ones' complement sum
/// of its 16-bit big-endian words (an odd last octet is padded with zero). Over an IPv4 header
/// whose checksum field is zero it gives the value to store there; over a header with a correct
/// checksum it gives 0.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = match chunk {
            [hi, lo] => u16::from_be_bytes([*hi, *lo]),
            [hi] => u16::from_be_bytes([*hi, 0]),
            _ => 0,
        };
        sum += u32::from(word);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 datagram: a 20-octet header (no options; identification 0, don't-fragment set,
/// TTL 64, the given protocol, a correct header checksum) followed by `payload`.
pub fn ipv4_packet(
    src: [u8; 4],
    dst: [u8; 4],
    protocol: u8,
    payload: &[u8],
) -> Result<Vec<u8>, PcapError> {
    const MAX: usize = 65535 - 20;
    let total = u16::try_from(payload.len() + 20).map_err(|_| PcapError::TooLarge {
        what: "IPv4 total length",
        len: payload.len(),
        max: MAX,
    })?;
    let mut p = Vec::with_capacity(usize::from(total));
    p.push(0x45); // version 4, IHL 5 words
    p.push(0); // DSCP / ECN
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&0u16.to_be_bytes()); // identification
    p.extend_from_slice(&0x4000u16.to_be_bytes()); // flags: don't fragment, offset 0
    p.push(64); // TTL
    p.push(protocol);
    p.extend_from_slice(&[0, 0]); // checksum, filled below
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    let sum = internet_checksum(&p);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(payload);
    Ok(p)
}

/// A UDP datagram (8-octet header with checksum 0, which IPv4 allows) followed by `payload`.
pub fn udp_datagram(sport: u16, dport: u16, payload: &[u8]) -> Result<Vec<u8>, PcapError> {
    let len = u16::try_from(payload.len() + 8).map_err(|_| PcapError::TooLarge {
        what: "UDP length",
        len: payload.len(),
        max: 65535 - 8,
    })?;
    let mut d = Vec::with_capacity(usize::from(len));
    d.extend_from_slice(&sport.to_be_bytes());
    d.extend_from_slice(&dport.to_be_bytes());
    d.extend_from_slice(&len.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    Ok(d)
}

/// An IPv4 + UDP frame for a [`LINKTYPE_IPV4`] capture. Fails if the payload exceeds the
/// 65507 octets an IPv4 UDP datagram can carry.
pub fn ipv4_udp_frame(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Result<Vec<u8>, PcapError> {
    ipv4_packet(src, dst, IPPROTO_UDP, &udp_datagram(sport, dport, payload)?)
}

/// CRC32c (Castagnoli, reflected, as SCTP uses it: RFC 9260 appendix A).
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An SCTP packet with one DATA chunk (unfragmented: B and E set) carrying `payload` with
/// payload protocol identifier `ppid`, and a correct CRC32c checksum.
pub fn sctp_data_packet(
    sport: u16,
    dport: u16,
    tsn: u32,
    stream: u16,
    ppid: u32,
    payload: &[u8],
) -> Result<Vec<u8>, PcapError> {
    const CHUNK_HEADER: usize = 16;
    let chunk_len =
        u16::try_from(CHUNK_HEADER + payload.len()).map_err(|_| PcapError::TooLarge {
            what: "SCTP DATA chunk length",
            len: payload.len(),
            max: 65535 - CHUNK_HEADER,
        })?;
    let mut p = Vec::with_capacity(12 + usize::from(chunk_len) + 3);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&1u32.to_be_bytes()); // verification tag
    p.extend_from_slice(&[0, 0, 0, 0]); // checksum, filled below
    p.push(0); // chunk type DATA
    p.push(0x03); // B and E: a whole message
    p.extend_from_slice(&chunk_len.to_be_bytes());
    p.extend_from_slice(&tsn.to_be_bytes());
    p.extend_from_slice(&stream.to_be_bytes());
    p.extend_from_slice(&(tsn as u16).to_be_bytes()); // stream sequence number
    p.extend_from_slice(&ppid.to_be_bytes());
    p.extend_from_slice(payload);
    while p.len() % 4 != 0 {
        p.push(0);
    }
    let sum = crc32c(&p);
    // The CRC32c is stored in the byte order it was computed (little-endian on the wire).
    p[8..12].copy_from_slice(&sum.to_le_bytes());
    Ok(p)
}

/// An IPv4 + SCTP frame for a [`LINKTYPE_IPV4`] capture (see [`sctp_data_packet`]).
pub fn ipv4_sctp_frame(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    tsn: u32,
    ppid: u32,
    payload: &[u8],
) -> Result<Vec<u8>, PcapError> {
    ipv4_packet(
        src,
        dst,
        IPPROTO_SCTP,
        &sctp_data_packet(sport, dport, tsn, 0, ppid, payload)?,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // RFC 3720 / the usual CRC-32C check value over "123456789".
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn sctp_data_chunk_layout() {
        let p = sctp_data_packet(2905, 2905, 7, 0, 3, &[1, 2, 3]).unwrap();
        assert_eq!(p.len(), 12 + 16 + 4);
        assert_eq!(&p[12..16], &[0, 0x03, 0, 19]);
        assert_eq!(&p[24..28], &3u32.to_be_bytes());
        let mut zeroed = p.clone();
        zeroed[8..12].copy_from_slice(&[0; 4]);
        assert_eq!(
            u32::from_le_bytes([p[8], p[9], p[10], p[11]]),
            crc32c(&zeroed)
        );
    }

    #[test]
    fn global_header_bytes() {
        assert_eq!(
            global_header(LINKTYPE_IPV4),
            [
                0xd4, 0xc3, 0xb2, 0xa1, // magic, little-endian
                0x02, 0x00, 0x04, 0x00, // version 2.4
                0, 0, 0, 0, // thiszone
                0, 0, 0, 0, // sigfigs
                0xff, 0xff, 0x00, 0x00, // snaplen 65535
                0xe4, 0x00, 0x00, 0x00, // linktype 228
            ]
        );
    }

    #[test]
    fn record_bytes() {
        let r = record(1, 2, &[0xAA, 0xBB]);
        assert_eq!(
            r,
            [1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0xAA, 0xBB]
        );
        let mut w = PcapWriter::new(LINKTYPE_ETHERNET);
        w.packet_at_micros(3_000_004, &[0x01]);
        let f = w.finish();
        assert_eq!(f.len(), 24 + 16 + 1);
        assert_eq!(&f[24..32], &[3, 0, 0, 0, 4, 0, 0, 0]);
    }

    #[test]
    fn ipv4_header_checksum_vector() {
        // 192.168.0.1 -> 192.168.0.199, UDP, total length 0x73 (87 octets of UDP payload).
        // Header words: 4500 0073 0000 4000 4011 xxxx c0a8 0001 c0a8 00c7.
        // Sum: 0x2479C -> fold 0x479E -> complement 0xB861.
        let frame =
            ipv4_udp_frame([192, 168, 0, 1], [192, 168, 0, 199], 40000, 6830, &[0; 87]).unwrap();
        assert_eq!(
            &frame[..20],
            &[
                0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
                0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7
            ]
        );
        assert_eq!(internet_checksum(&frame[..20]), 0);
        // UDP header: ports 40000 (0x9c40), 6830 (0x1aae), length 95, checksum 0.
        assert_eq!(
            &frame[20..28],
            &[0x9c, 0x40, 0x1a, 0xae, 0x00, 0x5f, 0x00, 0x00]
        );
        assert_eq!(frame.len(), 0x73);
    }

    #[test]
    fn oversized_payloads_are_refused() {
        assert!(matches!(
            ipv4_udp_frame([0; 4], [0; 4], 1, 2, &vec![0; 65508]),
            Err(PcapError::TooLarge { .. })
        ));
        assert!(ipv4_udp_frame([0; 4], [0; 4], 1, 2, &vec![0; 65507]).is_ok());
        assert!(ipv4_packet([0; 4], [0; 4], IPPROTO_SCTP, &vec![0; 65516]).is_err());
    }

    #[test]
    fn odd_length_checksum() {
        // 0x0102 + 0x0300 = 0x0402 -> !0x0402 = 0xFBFD.
        assert_eq!(internet_checksum(&[1, 2, 3]), 0xFBFD);
    }
}

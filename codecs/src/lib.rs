//! Wire formats spoken by otagw, as pure functions over bytes.
//!
//! Every decoder here is total: `decode(&[u8])` returns a typed error for any input it cannot
//! accept and never panics. Every encoder is the exact inverse of its decoder for valid values.
//! Nothing in this crate performs I/O, reads a clock or touches a database.
//!
//! | module | what |
//! |---|---|
//! | [`ansi41`] | ANSI-41 MAP (IS-725-A subset): operations, typed parameters, error codes |
//! | [`ber`] | BER tag-length-value reading and writing (definite lengths, long-form tags) |
//! | [`bits`] | MSB-first bit reader and writer shared by the bit-packed formats |
//! | [`identity`] | ESN, MEID (and its pseudo-ESN), MIN/MDN digits, IMSI, MCC |
//! | [`is637`] | IS-637 SMS bearer data for teleservice 4100 (WAP over SS7), WDP segmentation |
//! | [`is683`] | IS-683 (C.S0016) OTASP/OTAPA forward and reverse messages, NAM blocks |
//! | [`m3ua`] | M3UA (RFC 4666) messages and stream framing, ANSI point codes |
//! | [`mmc`] | MMC documents: IS-683 messages in XML for IOTA over HTTP (docs/iota.md) |
//! | [`ospp`] | OSPP, the provisioning messages IVRs and OTAP tools carry in SMPP (our profile) |
//! | [`pcap`] | classic pcap files and raw IPv4/UDP frames, built in memory (for traces and tests) |
//! | [`prl`] | Preferred Roaming List (classic and extended), its CRC, SSPR segmentation |
//! | [`sccp`] | SCCP connectionless messages (UDT, UDTS, XUDT, XUDTS), ANSI and ITU addresses |
//! | [`smpp`] | SMPP 3.4/5.0 sessions (client and server) without I/O, PDU framing, congestion pacing |
//! | [`spasm`] | SPASM: AUTH_OTAPA for OTAPA on a protected NAM (otagw's computation, documented) |
//! | [`tcap`] | ANSI TCAP (T1.114) packages and components, parameters kept as raw TLVs |
//! | [`wap`] | WAP push over SMS: user data header, WSP push PDU, WBXML SI/SL/PROV, segmentation |

#![warn(unreachable_pub)]

pub mod ansi41;
pub mod ber;
pub mod bits;
pub mod codec;
pub mod identity;
pub mod is637;
pub mod is683;
pub mod m3ua;
mod macros;
pub mod mmc;
pub mod ospp;
pub mod pcap;
pub mod prl;
pub mod sccp;
pub mod smpp;
pub mod spasm;
pub mod tcap;
pub mod wap;

//! WAP push over SMS: the user data header, connectionless WSP push PDUs, WBXML documents
//! (Service Indication, Service Loading, OMA Client Provisioning) and segmentation of a push into
//! short messages.
//!
//! | module | what | reference |
//! |---|---|---|
//! | [`udh`] | user data header: application port addressing, concatenation, other IEs raw | 3GPP TS 23.040 §9.2.3.24 |
//! | [`wsp`] | WSP connectionless Push / ConfirmedPush PDU, content types, headers, uintvar | WAP-230-WSP §8 |
//! | [`wbxml`] | WBXML 1.3 for SI 1.0, SL 1.0 and PROV 1.0 | WAP-192-WBXML, WAP-167-SI, WAP-168-SL, OMA-WAP-ProvCont |
//! | [`push`] | a complete push: content -> WSP -> SMS segments, and reassembly | WAP-259-WDP annex (SMS) |
//!
//! A push travels as `UDH (ports 2948/9200 [+ concatenation]) | WSP push PDU | WBXML body`.
//! Over CDMA without an SMSC the same WSP PDU is carried by IS-637 teleservice 4100
//! ([`crate::is637`]).

pub mod push;
pub mod udh;
pub mod wbxml;
pub mod wsp;

/// WDP destination port of connectionless WSP push (the WAP push port).
pub const WAP_PUSH_PORT: u16 = 2948;
/// WDP source port used by a push proxy gateway (connectionless WSP, "wap-wsp").
pub const WAP_WSP_PORT: u16 = 9200;

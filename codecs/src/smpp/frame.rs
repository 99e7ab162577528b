//! SMPP framing: a byte stream cut into PDUs by their command_length, each PDU decoded whole.
//!
//! Every PDU starts with a 16-octet header: command_length (the whole PDU, header included),
//! command_id, command_status, sequence_number (SMPP 3.4 §3.2). [`Framer`] keeps the octets
//! that have arrived and hands out one [`Frame`] per whole PDU. The header is always read;
//! the body is given to rusmpp, and a body rusmpp cannot read is reported beside the header
//! ([`Frame::pdu`] is an error) so the session can answer it with a generic_nack and go on:
//! the next PDU starts where command_length says, whatever the body held.
//!
//! rusmpp 0.4 decodes `enquire_link`, `enquire_link_resp`, `unbind`, `unbind_resp`,
//! `generic_nack`, `cancel_sm_resp`, `replace_sm_resp` and `cancel_broadcast_sm_resp` from
//! their header alone. An SMPP 5.0 SMSC may put TLVs such as congestion_state on any response,
//! `enquire_link_resp` included: such a body is not given to rusmpp (which would leave it to be
//! read as the next PDU's header) but kept in [`Frame::rest`], where
//! [`super::congestion::reported_in_body`] reads it. Octets after a body rusmpp read are kept
//! there too.
//!
//! A command_length below 16 or above the largest PDU accepted ([`MAX_PDU_LEN`] by default) is
//! no PDU at all: the stream cannot be followed further ([`FrameError`]).

use bytes::{Buf, BytesMut};
use rusmpp_core::command::owned::Command;
use rusmpp_core::decode::owned::DecodeWithLength;
use rusmpp_core::encode::{Encode, Length};
use rusmpp_core::pdus::owned::Pdu;
use rusmpp_core::types::owned::AnyOctetString;
use rusmpp_core::CommandId;
use thiserror::Error;

/// Octets of the SMPP header (command_length, command_id, command_status, sequence_number).
pub const HEADER_LEN: usize = 16;

/// The largest PDU accepted by default (rusmpp's default).
pub const MAX_PDU_LEN: usize = 8192;

/// The header of a PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// command_length: octets of the whole PDU, header included.
    pub command_length: u32,
    /// command_id.
    pub command_id: CommandId,
    /// command_status (0 in requests).
    pub command_status: u32,
    /// sequence_number.
    pub sequence_number: u32,
}

impl Header {
    /// Whether the PDU is a response (bit 31 of command_id set).
    pub fn is_response(&self) -> bool {
        u32::from(self.command_id) & 0x8000_0000 != 0
    }
}

/// Why a PDU's body could not be read (the header could).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BodyError {
    /// The command has a body and the PDU carries none.
    #[error("{0:?} without its body")]
    Missing(CommandId),
    /// The body does not decode.
    #[error("{id:?} body does not decode: {reason}")]
    Malformed {
        /// The command.
        id: CommandId,
        /// What rusmpp said.
        reason: String,
    },
}

/// One PDU off the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its header.
    pub header: Header,
    /// The PDU, or why its body could not be read.
    pub pdu: Result<Pdu, BodyError>,
    /// Octets of the PDU not part of what was decoded: the body of a PDU rusmpp reads as
    /// header-only (TLVs, when the peer sent some), or trailing octets after a body.
    pub rest: Vec<u8>,
}

/// The stream can no longer be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FrameError {
    /// command_length below the header's 16 octets.
    #[error("command_length {0} is shorter than the SMPP header")]
    TooShort(u32),
    /// command_length above the largest PDU accepted.
    #[error("command_length {length} is above the largest PDU accepted ({max})")]
    TooLong {
        /// The command_length.
        length: u32,
        /// The largest accepted.
        max: usize,
    },
    /// [`decode`] was given fewer octets than the command_length says.
    #[error("command_length {length}, but only {available} octets")]
    Truncated {
        /// The command_length (0 when not even that was there).
        length: u32,
        /// The octets given.
        available: usize,
    },
}

/// Whether rusmpp 0.4 decodes a PDU with this command_id from its header alone, and which.
fn header_only(id: CommandId) -> Option<Pdu> {
    Some(match id {
        CommandId::Unbind => Pdu::Unbind,
        CommandId::UnbindResp => Pdu::UnbindResp,
        CommandId::EnquireLink => Pdu::EnquireLink,
        CommandId::EnquireLinkResp => Pdu::EnquireLinkResp,
        CommandId::GenericNack => Pdu::GenericNack,
        CommandId::CancelSmResp => Pdu::CancelSmResp,
        CommandId::ReplaceSmResp => Pdu::ReplaceSmResp,
        CommandId::CancelBroadcastSmResp => Pdu::CancelBroadcastSmResp,
        _ => return None,
    })
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(src) = b.get(at..at + 4) {
        word.copy_from_slice(src);
    }
    u32::from_be_bytes(word)
}

/// Cuts a byte stream into [`Frame`]s (see the module documentation).
#[derive(Debug)]
pub struct Framer {
    buf: BytesMut,
    max: usize,
}

impl Default for Framer {
    fn default() -> Self {
        Self::new()
    }
}

impl Framer {
    /// A framer taking PDUs of at most [`MAX_PDU_LEN`] octets.
    pub fn new() -> Self {
        Self::with_max_pdu_len(MAX_PDU_LEN)
    }

    /// A framer taking PDUs of at most `max` octets (at least the header).
    pub fn with_max_pdu_len(max: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max: max.max(HEADER_LEN),
        }
    }

    /// Octets received and not yet handed out.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Adds octets from the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole PDU, `None` until one has arrived. After an error the framer is of no
    /// further use.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let length = be_u32(&self.buf, 0);
        let len = usize::try_from(length).unwrap_or(usize::MAX);
        if len < HEADER_LEN {
            return Err(FrameError::TooShort(length));
        }
        if len > self.max {
            return Err(FrameError::TooLong {
                length,
                max: self.max,
            });
        }
        if self.buf.len() < len {
            self.buf.reserve(len - self.buf.len());
            return Ok(None);
        }
        let pdu = self.buf.split_to(len);
        Ok(Some(decode_whole(pdu)))
    }
}

/// Decodes one whole PDU (`pdu` holds exactly command_length octets, at least the header).
fn decode_whole(mut pdu: BytesMut) -> Frame {
    let header = Header {
        command_length: be_u32(&pdu, 0),
        command_id: CommandId::from(be_u32(&pdu, 4)),
        command_status: be_u32(&pdu, 8),
        sequence_number: be_u32(&pdu, 12),
    };
    if let Some(bare) = header_only(header.command_id) {
        return Frame {
            header,
            pdu: Ok(bare),
            rest: pdu.get(HEADER_LEN..).unwrap_or_default().to_vec(),
        };
    }
    if let CommandId::Other(_) = header.command_id {
        // Not an SMPP command: kept whole (rusmpp has no body for one without octets).
        let body = pdu.get(HEADER_LEN..).unwrap_or_default();
        return Frame {
            header,
            pdu: Ok(Pdu::Other {
                command_id: header.command_id,
                body: AnyOctetString::from_slice(body),
            }),
            rest: Vec::new(),
        };
    }
    // rusmpp reads from after command_length.
    pdu.advance(4);
    let length = pdu.len();
    let id = header.command_id;
    match Command::decode(&mut pdu, length) {
        Ok((command, _)) => {
            let (_, _, _, body) = command.into_parts().raw();
            Frame {
                header,
                pdu: body.ok_or(BodyError::Missing(id)),
                rest: pdu.to_vec(),
            }
        }
        Err(e) => Frame {
            header,
            pdu: Err(BodyError::Malformed {
                id,
                reason: e.to_string(),
            }),
            rest: Vec::new(),
        },
    }
}

/// Decodes one whole PDU from `octets` (exactly one PDU, command_length octets).
pub fn decode(octets: &[u8]) -> Result<Frame, FrameError> {
    let mut framer = Framer::with_max_pdu_len(octets.len().max(MAX_PDU_LEN));
    framer.push(octets);
    match framer.next_frame()? {
        Some(frame) => Ok(frame),
        None => Err(FrameError::Truncated {
            length: be_u32(octets, 0),
            available: octets.len(),
        }),
    }
}

/// Appends `command` to `out` as a PDU (command_length first).
pub fn encode(command: &Command, out: &mut Vec<u8>) {
    let body = command.length();
    let start = out.len();
    out.extend_from_slice(&u32::try_from(4 + body).unwrap_or(u32::MAX).to_be_bytes());
    out.resize(start + 4 + body, 0);
    if let Some(dst) = out.get_mut(start + 4..) {
        command.encode(dst);
    }
}

/// Appends a PDU of `id` with `body` as its octets (for a body rusmpp has no type for, such as
/// TLVs on an `enquire_link_resp`).
pub fn encode_raw(
    id: CommandId,
    status: u32,
    sequence_number: u32,
    body: &[u8],
    out: &mut Vec<u8>,
) {
    let length = u32::try_from(HEADER_LEN + body.len()).unwrap_or(u32::MAX);
    for word in [length, u32::from(id), status, sequence_number] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use rusmpp_core::pdus::owned::{SubmitSm, SubmitSmResp};
    use rusmpp_core::types::owned::{COctetString, OctetString};
    use rusmpp_core::CommandStatus;

    /// enquire_link_resp, sequence 9, with congestion_state 95.
    const ENQUIRE_LINK_RESP_WITH_TLV: [u8; 21] = [
        0, 0, 0, 21, 0x80, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 9, 0x04, 0x28, 0, 1, 95,
    ];
    /// enquire_link, sequence 10.
    const ENQUIRE_LINK: [u8; 16] = [0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 10];

    fn encoded(command: &Command) -> Vec<u8> {
        let mut out = Vec::new();
        encode(command, &mut out);
        out
    }

    #[test]
    fn a_body_on_enquire_link_resp_is_set_aside_and_the_next_pdu_decodes() {
        let mut framer = Framer::new();
        framer.push(&ENQUIRE_LINK_RESP_WITH_TLV);
        framer.push(&ENQUIRE_LINK);
        let first = framer.next_frame().unwrap().unwrap();
        assert_eq!(first.header.command_id, CommandId::EnquireLinkResp);
        assert_eq!(first.header.sequence_number, 9);
        assert!(first.header.is_response());
        assert_eq!(first.pdu, Ok(Pdu::EnquireLinkResp));
        assert_eq!(first.rest, [0x04, 0x28, 0, 1, 95]);
        let second = framer.next_frame().unwrap().unwrap();
        assert_eq!(second.header.command_id, CommandId::EnquireLink);
        assert_eq!(second.header.sequence_number, 10);
        assert!(!second.header.is_response());
        assert!(second.rest.is_empty());
        assert_eq!(framer.buffered(), 0);
        assert_eq!(framer.next_frame().unwrap(), None);
    }

    #[test]
    fn pdus_arriving_in_pieces_wait_for_the_rest() {
        let mut framer = Framer::new();
        for (i, octet) in ENQUIRE_LINK_RESP_WITH_TLV.iter().enumerate() {
            framer.push(&[*octet]);
            let got = framer.next_frame().unwrap();
            assert_eq!(got.is_some(), i + 1 == ENQUIRE_LINK_RESP_WITH_TLV.len());
        }
    }

    #[test]
    fn other_pdus_go_to_rusmpp_whole_and_round_trip() {
        let resp = SubmitSmResp::new(COctetString::from_string("A1".into()).unwrap(), Vec::new());
        let wire = encoded(&Command::new(CommandStatus::EsmeRok, 3, resp.clone()));
        let frame = decode(&wire).unwrap();
        assert_eq!(frame.header.command_length as usize, wire.len());
        assert_eq!(frame.pdu, Ok(Pdu::SubmitSmResp(resp)));
        assert!(frame.rest.is_empty());

        let sm = SubmitSm::builder()
            .short_message(OctetString::from_vec(b"hello".to_vec()).unwrap())
            .build();
        let wire = encoded(&Command::new(
            CommandStatus::EsmeRok,
            0x7FFF_FFFF,
            sm.clone(),
        ));
        let frame = decode(&wire).unwrap();
        assert_eq!(frame.header.sequence_number, 0x7FFF_FFFF);
        assert_eq!(frame.pdu, Ok(Pdu::SubmitSm(sm)));
    }

    #[test]
    fn a_body_that_does_not_decode_is_reported_and_the_stream_goes_on() {
        // submit_sm, sequence 4, whose body is one octet (service_type without its NUL).
        let bad = [0, 0, 0, 17, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4, b'W'];
        let mut framer = Framer::new();
        framer.push(&bad);
        framer.push(&ENQUIRE_LINK);
        let first = framer.next_frame().unwrap().unwrap();
        assert_eq!(first.header.command_id, CommandId::SubmitSm);
        assert_eq!(first.header.sequence_number, 4);
        assert!(
            matches!(
                first.pdu,
                Err(BodyError::Malformed {
                    id: CommandId::SubmitSm,
                    ..
                })
            ),
            "{first:?}"
        );
        let second = framer.next_frame().unwrap().unwrap();
        assert_eq!(second.pdu, Ok(Pdu::EnquireLink));
    }

    #[test]
    fn a_command_without_its_body_and_unknown_commands() {
        // submit_sm, header only.
        let bare = [0, 0, 0, 16, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 5];
        let frame = decode(&bare).unwrap();
        assert_eq!(frame.pdu, Err(BodyError::Missing(CommandId::SubmitSm)));
        // command_id 0x00000777: not SMPP; kept as Other with its body.
        let other = [0, 0, 0, 18, 0, 0, 7, 0x77, 0, 0, 0, 0, 0, 0, 0, 6, 1, 2];
        let frame = decode(&other).unwrap();
        assert_eq!(u32::from(frame.header.command_id), 0x777);
        assert!(matches!(frame.pdu, Ok(Pdu::Other { .. })), "{frame:?}");
    }

    #[test]
    fn a_length_out_of_bounds_is_an_error() {
        for length in [0u32, 4, 15] {
            let mut framer = Framer::new();
            framer.push(&length.to_be_bytes());
            framer.push(&[0; 12]);
            assert_eq!(framer.next_frame(), Err(FrameError::TooShort(length)));
        }
        let mut framer = Framer::new();
        framer.push(&100_000u32.to_be_bytes());
        assert!(matches!(
            framer.next_frame(),
            Err(FrameError::TooLong {
                length: 100_000,
                ..
            })
        ));
    }

    #[test]
    fn decode_wants_the_whole_pdu() {
        assert_eq!(
            decode(&ENQUIRE_LINK[..10]),
            Err(FrameError::Truncated {
                length: 16,
                available: 10
            })
        );
        assert_eq!(
            decode(&[0, 0]),
            Err(FrameError::Truncated {
                length: 0,
                available: 2
            })
        );
    }

    #[test]
    fn raw_pdus_carry_their_body() {
        let mut out = Vec::new();
        encode_raw(
            CommandId::EnquireLinkResp,
            0,
            9,
            &[0x04, 0x28, 0, 1, 95],
            &mut out,
        );
        assert_eq!(out, ENQUIRE_LINK_RESP_WITH_TLV);
    }

    proptest::proptest! {
        #[test]
        fn any_octets_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let mut framer = Framer::with_max_pdu_len(512);
            framer.push(&data);
            while let Ok(Some(_)) = framer.next_frame() {}
        }

        #[test]
        fn any_body_after_a_valid_header_never_panics(
            id in proptest::sample::select(vec![
                0x0000_0001u32, 0x8000_0001, 0x0000_0002, 0x8000_0002, 0x0000_0004, 0x8000_0004,
                0x0000_0005, 0x8000_0005, 0x0000_0009, 0x8000_0009, 0x0000_0015, 0x8000_0000,
                0x0000_0103, 0x0000_0021, 0x1234_5678,
            ]),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        ) {
            let mut wire = Vec::new();
            encode_raw(CommandId::from(id), 0, 1, &body, &mut wire);
            let frame = decode(&wire).unwrap();
            proptest::prop_assert_eq!(frame.header.sequence_number, 1);
        }
    }
}

//! The gateway's SMPP framing, on its ESME binds and on the OSPP handler's links: rusmpp's
//! `CommandCodec`, fed whole PDUs, with the bodies it does not take set aside.
//!
//! rusmpp 0.4 decodes `enquire_link`, `enquire_link_resp`, `unbind`, `unbind_resp`,
//! `generic_nack`, `cancel_sm_resp`, `replace_sm_resp` and `cancel_broadcast_sm_resp` as
//! header-only PDUs. Given one with a body (an SMPP 5.0 SMSC may put TLVs such as
//! congestion_state on any response, `enquire_link_resp` included) it returns the header and
//! leaves the body in the buffer, where it is read as the next PDU's header: the bind breaks.
//! [`SmppCodec`] waits for a whole PDU (by its command_length), takes such a body off before
//! rusmpp sees the PDU, and hands it over beside the command ([`Received::body`]), where
//! [`super::congestion::reported_in_body`] reads it. Every other PDU goes to rusmpp as it came.

use rusmpp::tokio_codec::CommandCodec;
use rusmpp::{Command, CommandId};
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

/// Octets of the SMPP header (command_length, command_id, command_status, sequence_number).
const HEADER: usize = 16;

/// The largest PDU accepted, as rusmpp's default.
const MAX_PDU: usize = 8192;

/// A PDU from the SMSC.
#[derive(Debug)]
pub struct Received {
    /// The PDU as rusmpp decoded it.
    pub command: Command,
    /// The body of a PDU rusmpp decodes as header-only (empty for every other PDU): TLVs, when
    /// the peer sent some.
    pub body: BytesMut,
}

/// rusmpp's codec made safe for bodies on header-only PDUs (see the module documentation).
#[derive(Debug)]
pub struct SmppCodec {
    inner: CommandCodec,
}

impl SmppCodec {
    /// A codec taking PDUs of at most 8192 octets.
    pub fn new() -> Self {
        Self {
            inner: CommandCodec::new().with_max_length(MAX_PDU),
        }
    }
}

impl Default for SmppCodec {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether rusmpp 0.4 decodes a PDU with this command_id from its header alone.
fn header_only(id: CommandId) -> bool {
    matches!(
        id,
        CommandId::Unbind
            | CommandId::UnbindResp
            | CommandId::EnquireLink
            | CommandId::EnquireLinkResp
            | CommandId::GenericNack
            | CommandId::CancelSmResp
            | CommandId::ReplaceSmResp
            | CommandId::CancelBroadcastSmResp
    )
}

fn be_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

impl Decoder for SmppCodec {
    type Item = Received;
    type Error = <CommandCodec as Decoder>::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Received>, Self::Error> {
        let Some(length) = be_u32(src) else {
            return Ok(None);
        };
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        if !(HEADER..=MAX_PDU).contains(&length) {
            // Not a PDU: rusmpp says why.
            return Ok(self.inner.decode(src)?.map(|command| Received {
                command,
                body: BytesMut::new(),
            }));
        }
        if src.len() < length {
            src.reserve(length - src.len());
            return Ok(None);
        }
        // A whole PDU: rusmpp decodes it in one call, so it never holds half of one.
        let mut pdu = src.split_to(length);
        let id = be_u32(&pdu[4..]).map(CommandId::from);
        let body = if length > HEADER && id.is_some_and(header_only) {
            let body = pdu.split_off(HEADER);
            pdu[..4].copy_from_slice(&(HEADER as u32).to_be_bytes());
            body
        } else {
            BytesMut::new()
        };
        Ok(self
            .inner
            .decode(&mut pdu)?
            .map(|command| Received { command, body }))
    }
}

impl Encoder<Command> for SmppCodec {
    type Error = <CommandCodec as Encoder<Command>>::Error;

    fn encode(&mut self, command: Command, dst: &mut BytesMut) -> Result<(), Self::Error> {
        self.inner.encode(command, dst)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use rusmpp::pdus::SubmitSmResp;
    use rusmpp::types::COctetString;
    use rusmpp::{CommandStatus, Pdu};

    /// enquire_link_resp, sequence 9, with congestion_state 95.
    const ENQUIRE_LINK_RESP_WITH_TLV: [u8; 21] = [
        0, 0, 0, 21, 0x80, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 9, 0x04, 0x28, 0, 1, 95,
    ];
    /// enquire_link, sequence 10.
    const ENQUIRE_LINK: [u8; 16] = [0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 10];

    #[test]
    fn a_body_on_enquire_link_resp_is_set_aside_and_the_next_pdu_decodes() {
        let mut codec = SmppCodec::new();
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&ENQUIRE_LINK_RESP_WITH_TLV);
        wire.extend_from_slice(&ENQUIRE_LINK);
        let first = codec.decode(&mut wire).unwrap().unwrap();
        assert_eq!(first.command.id(), CommandId::EnquireLinkResp);
        assert_eq!(first.command.sequence_number(), 9);
        assert_eq!(&first.body[..], &[0x04, 0x28, 0, 1, 95]);
        let second = codec.decode(&mut wire).unwrap().unwrap();
        assert_eq!(second.command.id(), CommandId::EnquireLink);
        assert_eq!(second.command.sequence_number(), 10);
        assert!(second.body.is_empty());
        assert!(wire.is_empty());
    }

    #[test]
    fn pdus_arriving_in_pieces_wait_for_the_rest() {
        let mut codec = SmppCodec::new();
        let mut wire = BytesMut::new();
        for (i, octet) in ENQUIRE_LINK_RESP_WITH_TLV.iter().enumerate() {
            wire.extend_from_slice(&[*octet]);
            let got = codec.decode(&mut wire).unwrap();
            assert_eq!(got.is_some(), i + 1 == ENQUIRE_LINK_RESP_WITH_TLV.len());
        }
    }

    #[test]
    fn other_pdus_go_to_rusmpp_whole() {
        let mut codec = SmppCodec::new();
        let mut wire = BytesMut::new();
        let resp = SubmitSmResp::new(COctetString::from_string("A1".into()).unwrap(), Vec::new());
        codec
            .encode(Command::new(CommandStatus::EsmeRok, 3, resp), &mut wire)
            .unwrap();
        let got = codec.decode(&mut wire).unwrap().unwrap();
        let Some(Pdu::SubmitSmResp(r)) = got.command.pdu() else {
            panic!("{got:?}");
        };
        assert_eq!(r.message_id().as_str(), "A1");
        assert!(got.body.is_empty());
    }

    #[test]
    fn a_length_out_of_bounds_is_an_error() {
        for length in [4u32, 15, 100_000] {
            let mut codec = SmppCodec::new();
            let mut wire = BytesMut::new();
            wire.extend_from_slice(&length.to_be_bytes());
            wire.extend_from_slice(&[0; 12]);
            assert!(codec.decode(&mut wire).is_err(), "command_length {length}");
        }
    }
}

//! What the SMSC does for an attached handset: reassembles the short messages submitted to it
//! and decodes them into [`Delivery`]s. Pure: no I/O.

use std::collections::HashMap;

use otagw_codecs::wap::push::{PushError, Reassembler, ReassemblyError, WapPush};
use otagw_codecs::wap::udh::{UdhError, UserDataHeader};
use otagw_codecs::wap::WAP_PUSH_PORT;
use thiserror::Error;
use tokio::sync::mpsc::UnboundedSender;

use super::SubmittedMessage;
use crate::handset::push::Delivery;

/// esm_class bit: the short message starts with a user data header.
pub(crate) const ESM_UDHI: u8 = 0x40;

/// Why a short message could not be handed to the attached handset.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum Undeliverable {
    /// The user data header does not decode.
    #[error("user data header: {0}")]
    Udh(#[from] UdhError),
    /// The segment does not fit the message it belongs to.
    #[error("reassembly: {0}")]
    Reassembly(#[from] ReassemblyError),
    /// Addressed to an application port other than WAP push (2948).
    #[error("no application on port {0}")]
    Port(u16),
    /// The reassembled datagram is not a push the handset understands.
    #[error("push: {0}")]
    Push(#[from] PushError),
    /// A message without ports whose data coding is not a text coding.
    #[error("data_coding 0x{0:02X} is not a text coding")]
    NotText(u8),
    /// Octets that are not text in their data coding.
    #[error("the text is not valid in data_coding 0x{0:02X}")]
    BadText(u8),
}

/// One attached handset: its channel and, per originator, the segments still missing.
#[derive(Debug)]
pub(crate) struct Inbox {
    tx: UnboundedSender<Delivery>,
    reassemblers: HashMap<String, Reassembler>,
}

impl Inbox {
    pub(crate) fn new(tx: UnboundedSender<Delivery>) -> Self {
        Self {
            tx,
            reassemblers: HashMap::new(),
        }
    }

    /// Whether the handset dropped its end of the channel.
    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Hands `delivery` to the handset; false when its end is gone.
    pub(crate) fn send(&self, delivery: Delivery) -> bool {
        self.tx.send(delivery).is_ok()
    }

    /// Takes one submitted message: `Some` once a whole message is there, `None` for a segment
    /// kept until the others arrive. A refused segment leaves the state as it was.
    pub(crate) fn take(&mut self, m: &SubmittedMessage) -> Result<Option<Delivery>, Undeliverable> {
        if m.esm_class & ESM_UDHI == 0 {
            return text(m.data_coding, &m.short_message).map(|t| Some(Delivery::Text(t)));
        }
        let (udh, _) = UserDataHeader::decode(&m.short_message)?;
        let ports = udh.ports();
        if let Some((destination, _)) = ports {
            if destination != WAP_PUSH_PORT {
                return Err(Undeliverable::Port(destination));
            }
        } else if !is_text_coding(m.data_coding) {
            return Err(Undeliverable::NotText(m.data_coding));
        }
        let Some(payload) = self
            .reassemblers
            .entry(m.source.clone())
            .or_default()
            .push(&m.short_message)?
        else {
            return Ok(None);
        };
        if ports.is_some() {
            Ok(Some(Delivery::Push(WapPush::decode(&payload)?)))
        } else {
            text(m.data_coding, &payload).map(|t| Some(Delivery::Text(t)))
        }
    }
}

fn is_text_coding(data_coding: u8) -> bool {
    matches!(data_coding, 0x00 | 0x01 | 0x03 | 0x08)
}

/// Decodes text in an SMPP data_coding: 0 (the SMSC default alphabet, ASCII here) and 1 (IA5 /
/// ASCII) take octets up to 0x7F; 3 is Latin-1; 8 is UCS2 (UTF-16BE).
pub(crate) fn text(data_coding: u8, octets: &[u8]) -> Result<String, Undeliverable> {
    let bad = || Undeliverable::BadText(data_coding);
    match data_coding {
        0x00 | 0x01 => {
            if octets.is_ascii() {
                Ok(octets.iter().map(|&b| char::from(b)).collect())
            } else {
                Err(bad())
            }
        }
        0x03 => Ok(octets.iter().map(|&b| char::from(b)).collect()),
        0x08 => {
            if octets.len() % 2 != 0 {
                return Err(bad());
            }
            let units = octets
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map_err(|_| bad())
        }
        other => Err(Undeliverable::NotText(other)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use otagw_codecs::wap::push::{sms_segments, ConcatReference, PushContent};
    use otagw_codecs::wap::wbxml::{ServiceLoading, SlAction};

    fn message(esm_class: u8, data_coding: u8, short_message: Vec<u8>) -> SubmittedMessage {
        SubmittedMessage {
            message_id: "1".into(),
            system_id: "otagw".into(),
            service_type: String::new(),
            source: "OTAF".into(),
            destination: "6195550101".into(),
            esm_class,
            data_coding,
            registered_delivery: 1,
            short_message,
        }
    }

    fn inbox() -> (Inbox, tokio::sync::mpsc::UnboundedReceiver<Delivery>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Inbox::new(tx), rx)
    }

    #[test]
    fn texts_in_each_coding() {
        assert_eq!(text(0, b"Welcome!").unwrap(), "Welcome!");
        assert_eq!(text(1, b"a@b").unwrap(), "a@b");
        assert_eq!(text(0, &[0x41, 0xE9]), Err(Undeliverable::BadText(0)));
        assert_eq!(text(3, &[0x63, 0x61, 0x66, 0xE9]).unwrap(), "caf\u{e9}");
        assert_eq!(
            text(8, &[0x00, 0x63, 0x04, 0x1F, 0xD8, 0x3D, 0xDE, 0x00]).unwrap(),
            "c\u{41f}\u{1f600}"
        );
        assert_eq!(text(8, &[0x00]), Err(Undeliverable::BadText(8)));
        assert_eq!(text(8, &[0xD8, 0x3D]), Err(Undeliverable::BadText(8)));
        assert_eq!(text(4, b"x"), Err(Undeliverable::NotText(4)));
    }

    #[test]
    fn a_concatenated_push_comes_out_whole_and_refusals_change_nothing() {
        let push = WapPush {
            tid: 3,
            content: PushContent::Sl(ServiceLoading {
                href: format!("http://127.0.0.1:8181/iota/otapa/{}", "x".repeat(200)),
                action: SlAction::ExecuteHigh,
            }),
        };
        let segs = sms_segments(&push.encode().unwrap(), ConcatReference::Eight(9)).unwrap();
        assert!(segs.len() >= 2);
        let (mut inbox, _rx) = inbox();
        assert_eq!(
            inbox.take(&message(0x40, 4, segs[1].clone())).unwrap(),
            None
        );
        // A duplicate and a segment for another port are refused.
        assert!(matches!(
            inbox.take(&message(0x40, 4, segs[1].clone())),
            Err(Undeliverable::Reassembly(_))
        ));
        let mut other_port = segs[0].clone();
        other_port[8..10].copy_from_slice(&9200u16.to_be_bytes());
        assert_eq!(
            inbox.take(&message(0x40, 4, other_port)),
            Err(Undeliverable::Port(9200))
        );
        let mut last = None;
        for (i, s) in segs.iter().enumerate() {
            if i != 1 {
                last = inbox.take(&message(0x40, 4, s.clone())).unwrap();
            }
        }
        assert_eq!(last, Some(Delivery::Push(push)));
    }

    #[test]
    fn undecodable_pushes_and_binary_without_ports_are_refused() {
        let (mut inbox, _rx) = inbox();
        let mut sm = vec![0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0];
        sm.extend_from_slice(b"\x01\x06not a push");
        assert!(matches!(
            inbox.take(&message(0x40, 4, sm)),
            Err(Undeliverable::Push(_))
        ));
        assert_eq!(
            inbox.take(&message(
                0x40,
                4,
                vec![0x05, 0x00, 0x03, 0x01, 0x02, 0x01, 0x41]
            )),
            Err(Undeliverable::NotText(4))
        );
        assert!(matches!(
            inbox.take(&message(0x40, 4, vec![0x09, 0x05])),
            Err(Undeliverable::Udh(_))
        ));
        assert_eq!(
            inbox.take(&message(0x00, 4, b"binary".to_vec())),
            Err(Undeliverable::NotText(4))
        );
    }

    #[test]
    fn a_concatenated_text_comes_out_whole() {
        let (mut inbox, _rx) = inbox();
        let first = [&[0x05, 0x00, 0x03, 0x07, 0x02, 0x01][..], b"Hello, "].concat();
        let second = [&[0x05, 0x00, 0x03, 0x07, 0x02, 0x02][..], b"world"].concat();
        assert_eq!(inbox.take(&message(0x40, 0, first)).unwrap(), None);
        assert_eq!(
            inbox.take(&message(0x40, 0, second)).unwrap(),
            Some(Delivery::Text("Hello, world".into()))
        );
        assert_eq!(
            inbox
                .take(&message(0, 8, vec![0x00, 0x48, 0x00, 0x69]))
                .unwrap(),
            Some(Delivery::Text("Hi".into()))
        );
    }
}

//! IS-637 (TIA-637, C.S0015) SMS bearer data for teleservice 4100 (WAP): how a WAP push reaches
//! a CDMA handset over SS7 (in an SMDPP's SMS_BearerData) without an SMSC.
//!
//! Bearer data is a sequence of subparameters `SUBPARAMETER_ID (8) | SUBPARAM_LEN (8) | data`:
//!
//! | id | subparameter | fields (bits) |
//! |---|---|---|
//! | 0x00 | Message Identifier | MESSAGE_TYPE 4 (1 Deliver, 2 Submit), MESSAGE_ID 16, HEADER_IND 1, RESERVED 3 |
//! | 0x01 | User Data | MSG_ENCODING 5 (0 = octet), NUM_FIELDS 8, CHARi 8 x NUM_FIELDS, pad to an octet |
//! | other | kept raw | |
//!
//! The 13 bits before CHARi mean the user data octets are not octet-aligned inside the
//! subparameter. User data in another encoding than octet is kept raw (as
//! [`Subparameter::Other`] with id 0x01).
//!
//! For teleservice 4100 the user data is a WDP datagram segment:
//!
//! | field | bits | |
//! |---|---|---|
//! | MSG_TYPE | 8 | 0 (datagram) |
//! | TOTAL_SEGMENTS | 8 | |
//! | SEGMENT_NUMBER | 8 | from 0 |
//! | SOURCE_PORT | 16 | segment 0 only (9200) |
//! | DESTINATION_PORT | 16 | segment 0 only (2948) |
//! | data | rest | a piece of the WSP PDU |
//!
//! [`wap_bearer_data`] cuts a WSP PDU into such messages, all with the same MESSAGE_ID;
//! [`Reassembler`] puts them back together keyed on MESSAGE_ID.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::bits::{BitError, BitReader, BitWriter};
use crate::wap::{WAP_PUSH_PORT, WAP_WSP_PORT};

/// SMS_TeleserviceIdentifier of WAP (4100, `10 04`).
pub const TELESERVICE_WAP: u16 = 4100;
/// Subparameter id: Message Identifier.
pub const SUBPARAM_MESSAGE_IDENTIFIER: u8 = 0x00;
/// Subparameter id: User Data.
pub const SUBPARAM_USER_DATA: u8 = 0x01;
/// MESSAGE_TYPE Deliver (mobile-terminated).
pub const MESSAGE_TYPE_DELIVER: u8 = 1;
/// MESSAGE_TYPE Submit (mobile-originated).
pub const MESSAGE_TYPE_SUBMIT: u8 = 2;
/// MSG_ENCODING octet (unspecified 8-bit data).
pub const MSG_ENCODING_OCTET: u8 = 0;
/// The most user data octets one User Data subparameter holds (13 + 8 x 253 bits fit 255 octets).
pub const MAX_USER_DATA: usize = 253;
/// WDP header octets in segment 0 (MSG_TYPE, TOTAL_SEGMENTS, SEGMENT_NUMBER, two ports).
pub const WDP_FIRST_HEADER: usize = 7;
/// WDP header octets in the other segments.
pub const WDP_HEADER: usize = 3;

/// IS-637 bearer data or its WDP content that cannot be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Is637Error {
    /// A bit field ran past its subparameter.
    #[error("IS-637: {0}")]
    Bits(#[from] BitError),
    /// A subparameter runs past the end of the bearer data.
    #[error("IS-637: subparameter 0x{id:02X} of length {len} runs past the end ({available} octet(s) left)")]
    TruncatedSubparameter {
        /// The subparameter id.
        id: u8,
        /// Its SUBPARAM_LEN.
        len: usize,
        /// Octets left.
        available: usize,
    },
    /// The bearer data ends inside a subparameter header.
    #[error("IS-637: bearer data ends inside a subparameter header")]
    TruncatedHeader,
    /// A value out of range for its field.
    #[error("IS-637: {field} = {value} is out of range")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value.
        value: usize,
    },
    /// A raw subparameter uses an id with a typed form.
    #[error("IS-637: raw subparameter 0x{0:02X} has a typed form")]
    RawKnownId(u8),
    /// The bearer data lacks a subparameter teleservice 4100 needs.
    #[error("IS-637: bearer data has no {0} subparameter")]
    Missing(&'static str),
    /// The WDP header is not a datagram header.
    #[error("IS-637: WDP MSG_TYPE {0} is not 0 (datagram)")]
    NotDatagram(u8),
    /// The WDP segment numbering is inconsistent.
    #[error("IS-637: message {message_id}: {problem}")]
    Segment {
        /// The MESSAGE_ID.
        message_id: u16,
        /// What is wrong.
        problem: String,
    },
}

/// The Message Identifier subparameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageIdentifier {
    /// MESSAGE_TYPE (4 bits): [`MESSAGE_TYPE_DELIVER`], [`MESSAGE_TYPE_SUBMIT`], ...
    pub message_type: u8,
    /// MESSAGE_ID.
    pub message_id: u16,
    /// HEADER_IND: the user data starts with a user data header.
    pub header_ind: bool,
}

/// One bearer data subparameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subparameter {
    /// 0x00 Message Identifier.
    MessageIdentifier(MessageIdentifier),
    /// 0x01 User Data in octet encoding: the CHARi octets.
    UserData(Vec<u8>),
    /// Any other subparameter (or User Data in another encoding), kept raw.
    Other {
        /// SUBPARAMETER_ID.
        id: u8,
        /// Its data octets.
        data: Vec<u8>,
    },
}

/// SMS bearer data: its subparameters in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BearerData {
    /// The subparameters.
    pub subparameters: Vec<Subparameter>,
}

impl BearerData {
    /// The Message Identifier, if present.
    pub fn message_identifier(&self) -> Option<MessageIdentifier> {
        self.subparameters.iter().find_map(|s| match s {
            Subparameter::MessageIdentifier(m) => Some(*m),
            _ => None,
        })
    }

    /// The octet-encoded user data, if present.
    pub fn user_data(&self) -> Option<&[u8]> {
        self.subparameters.iter().find_map(|s| match s {
            Subparameter::UserData(d) => Some(d.as_slice()),
            _ => None,
        })
    }

    /// Encodes the bearer data.
    pub fn encode(&self) -> Result<Vec<u8>, Is637Error> {
        let mut out = Vec::new();
        for s in &self.subparameters {
            let (id, data) = match s {
                Subparameter::MessageIdentifier(m) => {
                    if m.message_type > 0x0F {
                        return Err(Is637Error::OutOfRange {
                            field: "MESSAGE_TYPE",
                            value: usize::from(m.message_type),
                        });
                    }
                    let mut w = BitWriter::new();
                    w.write(u64::from(m.message_type), 4);
                    w.write(u64::from(m.message_id), 16);
                    w.flag(m.header_ind);
                    w.write(0, 3);
                    (SUBPARAM_MESSAGE_IDENTIFIER, w.finish())
                }
                Subparameter::UserData(chars) => {
                    if chars.len() > MAX_USER_DATA {
                        return Err(Is637Error::OutOfRange {
                            field: "NUM_FIELDS",
                            value: chars.len(),
                        });
                    }
                    let mut w = BitWriter::new();
                    w.write(u64::from(MSG_ENCODING_OCTET), 5);
                    w.write(chars.len() as u64, 8);
                    w.bytes(chars);
                    (SUBPARAM_USER_DATA, w.finish())
                }
                Subparameter::Other { id, data } => {
                    let typed = *id == SUBPARAM_MESSAGE_IDENTIFIER
                        || (*id == SUBPARAM_USER_DATA
                            && data.first().is_some_and(|b| b >> 3 == MSG_ENCODING_OCTET));
                    if typed {
                        return Err(Is637Error::RawKnownId(*id));
                    }
                    (*id, data.clone())
                }
            };
            let len = u8::try_from(data.len()).map_err(|_| Is637Error::OutOfRange {
                field: "SUBPARAM_LEN",
                value: data.len(),
            })?;
            out.push(id);
            out.push(len);
            out.extend_from_slice(&data);
        }
        Ok(out)
    }

    /// Decodes bearer data.
    pub fn decode(data: &[u8]) -> Result<Self, Is637Error> {
        let mut rest = data;
        let mut subparameters = Vec::new();
        while !rest.is_empty() {
            let [id, len, tail @ ..] = rest else {
                return Err(Is637Error::TruncatedHeader);
            };
            let (id, len) = (*id, usize::from(*len));
            if tail.len() < len {
                return Err(Is637Error::TruncatedSubparameter {
                    id,
                    len,
                    available: tail.len(),
                });
            }
            let (body, after) = tail.split_at(len);
            subparameters.push(decode_subparameter(id, body)?);
            rest = after;
        }
        Ok(Self { subparameters })
    }
}

fn decode_subparameter(id: u8, body: &[u8]) -> Result<Subparameter, Is637Error> {
    let mut r = BitReader::new(body);
    Ok(match id {
        SUBPARAM_MESSAGE_IDENTIFIER => {
            let message_type = r.u8("MESSAGE_TYPE", 4)?;
            let message_id = r.u16("MESSAGE_ID", 16)?;
            let header_ind = r.flag("HEADER_IND")?;
            r.skip("RESERVED", 3)?;
            Subparameter::MessageIdentifier(MessageIdentifier {
                message_type,
                message_id,
                header_ind,
            })
        }
        SUBPARAM_USER_DATA if body.first().is_some_and(|b| b >> 3 == MSG_ENCODING_OCTET) => {
            r.skip("MSG_ENCODING", 5)?;
            let n = r.u8("NUM_FIELDS", 8)?;
            Subparameter::UserData(r.bytes("CHARi", usize::from(n))?)
        }
        _ => Subparameter::Other {
            id,
            data: body.to_vec(),
        },
    })
}

/// One WDP datagram segment inside teleservice 4100 user data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WdpSegment {
    /// TOTAL_SEGMENTS.
    pub total: u8,
    /// SEGMENT_NUMBER, from 0.
    pub number: u8,
    /// `(source, destination)` ports: present exactly in segment 0.
    pub ports: Option<(u16, u16)>,
    /// This segment's piece of the datagram.
    pub data: Vec<u8>,
}

impl WdpSegment {
    /// Encodes the segment (the User Data CHARi octets).
    pub fn encode(&self) -> Result<Vec<u8>, Is637Error> {
        if self.ports.is_some() != (self.number == 0) {
            return Err(Is637Error::OutOfRange {
                field: "SEGMENT_NUMBER (ports are in segment 0 only)",
                value: usize::from(self.number),
            });
        }
        let mut out = vec![0, self.total, self.number];
        if let Some((source, destination)) = self.ports {
            out.extend_from_slice(&source.to_be_bytes());
            out.extend_from_slice(&destination.to_be_bytes());
        }
        out.extend_from_slice(&self.data);
        Ok(out)
    }

    /// Decodes a segment from User Data CHARi octets.
    pub fn decode(chars: &[u8]) -> Result<Self, Is637Error> {
        let mut r = BitReader::new(chars);
        let msg_type = r.u8("WDP MSG_TYPE", 8)?;
        if msg_type != 0 {
            return Err(Is637Error::NotDatagram(msg_type));
        }
        let total = r.u8("TOTAL_SEGMENTS", 8)?;
        let number = r.u8("SEGMENT_NUMBER", 8)?;
        let ports = if number == 0 {
            Some((r.u16("SOURCE_PORT", 16)?, r.u16("DESTINATION_PORT", 16)?))
        } else {
            None
        };
        let header = if ports.is_some() {
            WDP_FIRST_HEADER
        } else {
            WDP_HEADER
        };
        Ok(Self {
            total,
            number,
            ports,
            data: chars.get(header..).unwrap_or(&[]).to_vec(),
        })
    }
}

/// Cuts a WSP PDU into teleservice 4100 bearer data messages (Deliver, MESSAGE_ID
/// `message_id`, ports 9200 -> 2948), each with at most `max_user_data` octets of user data
/// (WDP header included; 8 to 253).
pub fn wap_bearer_data(
    wsp: &[u8],
    message_id: u16,
    max_user_data: usize,
) -> Result<Vec<Vec<u8>>, Is637Error> {
    if !(WDP_FIRST_HEADER + 1..=MAX_USER_DATA).contains(&max_user_data) {
        return Err(Is637Error::OutOfRange {
            field: "maximum user data per message",
            value: max_user_data,
        });
    }
    let first = max_user_data - WDP_FIRST_HEADER;
    let other = max_user_data - WDP_HEADER;
    let (head, tail) = wsp.split_at(first.min(wsp.len()));
    let mut pieces = vec![head];
    pieces.extend(tail.chunks(other));
    let total = u8::try_from(pieces.len()).map_err(|_| Is637Error::OutOfRange {
        field: "TOTAL_SEGMENTS",
        value: pieces.len(),
    })?;
    pieces
        .into_iter()
        .zip(0u8..)
        .map(|(piece, number)| {
            let seg = WdpSegment {
                total,
                number,
                ports: (number == 0).then_some((WAP_WSP_PORT, WAP_PUSH_PORT)),
                data: piece.to_vec(),
            };
            BearerData {
                subparameters: vec![
                    Subparameter::MessageIdentifier(MessageIdentifier {
                        message_type: MESSAGE_TYPE_DELIVER,
                        message_id,
                        header_ind: false,
                    }),
                    Subparameter::UserData(seg.encode()?),
                ],
            }
            .encode()
        })
        .collect()
}

/// A reassembled WDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WdpDatagram {
    /// The MESSAGE_ID it came with.
    pub message_id: u16,
    /// Source port (9200 for a push).
    pub source_port: u16,
    /// Destination port (2948 for a push).
    pub destination_port: u16,
    /// The datagram (a WSP PDU for a push).
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Pending {
    total: u8,
    ports: Option<(u16, u16)>,
    parts: Vec<Option<Vec<u8>>>,
}

/// Reassembles teleservice 4100 messages into WDP datagrams, keyed on MESSAGE_ID (keep one per
/// originating address). A refused message leaves the state as it was.
#[derive(Debug, Clone, Default)]
pub struct Reassembler {
    pending: BTreeMap<u16, Pending>,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Datagrams with segments still missing.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Drops a partly received datagram.
    pub fn discard(&mut self, message_id: u16) {
        self.pending.remove(&message_id);
    }

    /// Takes one message's bearer data; returns the datagram when its last segment arrives.
    pub fn push(&mut self, bearer_data: &[u8]) -> Result<Option<WdpDatagram>, Is637Error> {
        let bd = BearerData::decode(bearer_data)?;
        let message_id = bd
            .message_identifier()
            .ok_or(Is637Error::Missing("Message Identifier"))?
            .message_id;
        let seg = WdpSegment::decode(bd.user_data().ok_or(Is637Error::Missing("User Data"))?)?;
        let fail = |problem: String| Is637Error::Segment {
            message_id,
            problem,
        };
        if seg.total == 0 {
            return Err(fail("TOTAL_SEGMENTS is 0".into()));
        }
        if seg.number >= seg.total {
            return Err(fail(format!(
                "SEGMENT_NUMBER {} not below TOTAL_SEGMENTS {}",
                seg.number, seg.total
            )));
        }
        let entry = self.pending.entry(message_id).or_insert_with(|| Pending {
            total: seg.total,
            ports: None,
            parts: vec![None; usize::from(seg.total)],
        });
        if entry.total != seg.total {
            return Err(fail(format!(
                "TOTAL_SEGMENTS {}, earlier segments said {}",
                seg.total, entry.total
            )));
        }
        let slot = &mut entry.parts[usize::from(seg.number)];
        if slot.is_some() {
            return Err(fail(format!("segment {} arrived twice", seg.number)));
        }
        *slot = Some(seg.data);
        if seg.ports.is_some() {
            entry.ports = seg.ports;
        }
        if !entry.parts.iter().all(Option::is_some) {
            return Ok(None);
        }
        let Some(done) = self.pending.remove(&message_id) else {
            return Ok(None);
        };
        let (source_port, destination_port) = done.ports.unwrap_or((0, 0));
        Ok(Some(WdpDatagram {
            message_id,
            source_port,
            destination_port,
            data: done.parts.into_iter().flatten().flatten().collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vectors() {
        let bd = BearerData {
            subparameters: vec![
                Subparameter::MessageIdentifier(MessageIdentifier {
                    message_type: 1,
                    message_id: 0x1234,
                    header_ind: false,
                }),
                Subparameter::UserData(vec![0xAB]),
            ],
        };
        let b = bd.encode().unwrap();
        // 0001 0001001000110100 0 000 -> 11 23 40 ; 00000 00000001 10101011 000 -> 00 0D 58
        assert_eq!(
            b,
            [0x00, 0x03, 0x11, 0x23, 0x40, 0x01, 0x03, 0x00, 0x0D, 0x58]
        );
        assert_eq!(BearerData::decode(&b).unwrap(), bd);
    }

    #[test]
    fn wdp_segments() {
        let wsp: Vec<u8> = (0..20).collect();
        let msgs = wap_bearer_data(&wsp, 7, 10).unwrap();
        // 3 in the first, 7 in each of the others: 3 + 7 + 7 + 3.
        assert_eq!(msgs.len(), 4);
        let first = BearerData::decode(&msgs[0]).unwrap();
        assert_eq!(
            first.user_data().unwrap(),
            [0, 4, 0, 0x23, 0xF0, 0x0B, 0x84, 0, 1, 2]
        );
        let mut r = Reassembler::new();
        for m in msgs[1..].iter().rev() {
            assert_eq!(r.push(m).unwrap(), None);
        }
        assert!(matches!(
            r.push(&msgs[1]),
            Err(Is637Error::Segment { message_id: 7, .. })
        ));
        let d = r.push(&msgs[0]).unwrap().unwrap();
        assert_eq!(d.data, wsp);
        assert_eq!((d.source_port, d.destination_port), (9200, 2948));
        assert!(wap_bearer_data(&wsp, 7, 7).is_err());
        assert!(wap_bearer_data(&wsp, 7, 254).is_err());
        // 3 octets in the first message, 7 in each of 254 more: 1781 octets fit, 1782 do not.
        assert_eq!(wap_bearer_data(&[0; 1781], 1, 10).unwrap().len(), 255);
        assert!(matches!(
            wap_bearer_data(&[0; 1782], 1, 10),
            Err(Is637Error::OutOfRange {
                field: "TOTAL_SEGMENTS",
                value: 256
            })
        ));
    }

    #[test]
    fn errors() {
        assert_eq!(
            BearerData::decode(&[0x00]),
            Err(Is637Error::TruncatedHeader)
        );
        assert!(matches!(
            BearerData::decode(&[0x01, 0x05, 0x00]),
            Err(Is637Error::TruncatedSubparameter {
                id: 1,
                len: 5,
                available: 1
            })
        ));
        // NUM_FIELDS 2 but room for one octet.
        assert!(matches!(
            BearerData::decode(&[0x01, 0x03, 0x00, 0x10, 0x00]),
            Err(Is637Error::Bits(_))
        ));
        let mut r = Reassembler::new();
        assert_eq!(
            r.push(&[0x01, 0x02, 0x00, 0x00]),
            Err(Is637Error::Missing("Message Identifier"))
        );
        assert_eq!(
            WdpSegment::decode(&[1, 1, 0]),
            Err(Is637Error::NotDatagram(1))
        );
    }

    fn subparameter() -> impl Strategy<Value = Subparameter> {
        prop_oneof![
            (0u8..16, any::<u16>(), any::<bool>()).prop_map(|(t, id, h)| {
                Subparameter::MessageIdentifier(MessageIdentifier {
                    message_type: t,
                    message_id: id,
                    header_ind: h,
                })
            }),
            proptest::collection::vec(any::<u8>(), 0..=MAX_USER_DATA)
                .prop_map(Subparameter::UserData),
            (2u8..=255, proptest::collection::vec(any::<u8>(), 0..30))
                .prop_map(|(id, data)| Subparameter::Other { id, data }),
            (1u8..32, proptest::collection::vec(any::<u8>(), 0..30)).prop_map(|(enc, mut data)| {
                data.insert(0, enc << 3);
                Subparameter::Other { id: 1, data }
            }),
        ]
    }

    proptest! {
        #[test]
        fn bearer_data_round_trip(subparameters in proptest::collection::vec(subparameter(), 0..5)) {
            let bd = BearerData { subparameters };
            prop_assert_eq!(BearerData::decode(&bd.encode().unwrap()).unwrap(), bd);
        }

        #[test]
        fn split_and_reassemble(wsp in proptest::collection::vec(any::<u8>(), 0..2000),
                                max in 16usize..=253, id in any::<u16>(), rot in any::<usize>()) {
            let mut msgs = wap_bearer_data(&wsp, id, max).unwrap();
            let n = msgs.len();
            msgs.rotate_left(rot % n);
            let mut r = Reassembler::new();
            let mut out = None;
            for (i, m) in msgs.iter().enumerate() {
                let bd = BearerData::decode(m).unwrap();
                prop_assert!(bd.user_data().unwrap().len() <= max);
                let got = r.push(m).unwrap();
                if i + 1 < n { prop_assert_eq!(&got, &None); } else { out = got; }
            }
            let d = out.unwrap();
            prop_assert_eq!(d.data, wsp);
            prop_assert_eq!(d.message_id, id);
            prop_assert_eq!(r.pending(), 0);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = BearerData::decode(&bytes);
            let _ = WdpSegment::decode(&bytes);
            let _ = Reassembler::new().push(&bytes);
        }
    }
}

//! A complete WAP push: the document, its WSP push PDU, and the short messages that carry it.
//!
//! | content | WSP content type | X-Wap-Application-Id |
//! |---|---|---|
//! | Service Indication | 0xAE application/vnd.wap.sic | 0x82 wml.ua |
//! | Service Loading | 0xB0 application/vnd.wap.slc | 0x82 wml.ua |
//! | OMA Client Provisioning | 0xB6 application/vnd.wap.connectivity-wbxml, or the general form with SEC and MAC (`1F 2D B6 91 81 92 <mac> 00`) | none |
//!
//! [`sms_segments`] cuts the WSP PDU into short messages of at most 140 octets each, user data
//! header included: ports 2948/9200 in every segment, and a concatenation element first when
//! more than one segment is needed (`0B 00 03 ref total seq 05 04 0B 84 23 F0`: 128 payload
//! octets per segment with an 8-bit reference, 127 with a 16-bit one; 133 in a single
//! segment). [`Reassembler`] puts segments back together.

use std::collections::BTreeMap;

use thiserror::Error;

use super::udh::{InformationElement, UdhError, UserDataHeader};
use super::wbxml::{ProvisioningDoc, ServiceIndication, ServiceLoading, WbxmlError};
use super::wsp::{
    application_id, content_type, ApplicationId, ContentType, Header, Media, Parameter, PushPdu,
    WspError,
};
use super::{WAP_PUSH_PORT, WAP_WSP_PORT};

/// The largest short message (user data, header included), in octets.
pub const MAX_SHORT_MESSAGE: usize = 140;

/// A push that cannot be built, decoded or segmented.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PushError {
    /// The WSP layer refused it.
    #[error(transparent)]
    Wsp(#[from] WspError),
    /// The WBXML layer refused it.
    #[error(transparent)]
    Wbxml(#[from] WbxmlError),
    /// The user data header layer refused it.
    #[error(transparent)]
    Udh(#[from] UdhError),
    /// The PDU needs more than 255 segments.
    #[error("push of {len} octets needs {segments} segments; at most 255 are possible")]
    TooManySegments {
        /// The PDU length.
        len: usize,
        /// Segments it would need.
        segments: usize,
    },
    /// A WSP push whose content type is not SI, SL or Client Provisioning.
    #[error("push content type {0} is not SI, SL or OMA Client Provisioning")]
    UnsupportedContentType(String),
}

/// The security parameters of an OMA Client Provisioning push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvSecurity {
    /// SEC: the security method ([`super::wsp::sec`]).
    pub sec: u8,
    /// MAC: the HMAC-SHA1 of the document, 40 hex characters.
    pub mac: String,
}

/// What a push carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushContent {
    /// A Service Indication.
    Si(ServiceIndication),
    /// A Service Loading.
    Sl(ServiceLoading),
    /// An OMA Client Provisioning document, with its security parameters if any.
    Prov {
        /// The document.
        doc: ProvisioningDoc,
        /// SEC and MAC, put in the content type's general form.
        security: Option<ProvSecurity>,
    },
}

/// A WAP push: a document and the WSP transaction identifier to send it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WapPush {
    /// WSP transaction identifier.
    pub tid: u8,
    /// The document.
    pub content: PushContent,
}

impl WapPush {
    /// The WSP push PDU.
    pub fn to_pdu(&self) -> Result<PushPdu, PushError> {
        let wml_ua = vec![Header::ApplicationId(ApplicationId::Code(
            application_id::WML_UA,
        ))];
        let (content_type, headers, body) = match &self.content {
            PushContent::Si(si) => (
                ContentType::WellKnown(content_type::SIC),
                wml_ua,
                si.encode()?,
            ),
            PushContent::Sl(sl) => (
                ContentType::WellKnown(content_type::SLC),
                wml_ua,
                sl.encode()?,
            ),
            PushContent::Prov { doc, security } => (
                match security {
                    Some(s) => ContentType::provisioning(s.sec, &s.mac),
                    None => ContentType::WellKnown(content_type::CONNECTIVITY_WBXML),
                },
                Vec::new(),
                doc.encode()?,
            ),
        };
        Ok(PushPdu {
            tid: self.tid,
            confirmed: false,
            content_type,
            headers,
            body,
        })
    }

    /// The WSP push PDU's octets.
    pub fn encode(&self) -> Result<Vec<u8>, PushError> {
        Ok(self.to_pdu()?.encode()?)
    }

    /// Decodes a WSP push PDU carrying SI, SL or Client Provisioning.
    pub fn decode(wsp: &[u8]) -> Result<Self, PushError> {
        let pdu = PushPdu::decode(wsp)?;
        let unsupported = || PushError::UnsupportedContentType(format!("{:?}", pdu.content_type));
        let code = pdu.content_type.well_known().ok_or_else(unsupported)?;
        let content = if code == u32::from(content_type::SIC) {
            PushContent::Si(ServiceIndication::decode(&pdu.body)?)
        } else if code == u32::from(content_type::SLC) {
            PushContent::Sl(ServiceLoading::decode(&pdu.body)?)
        } else if code == u32::from(content_type::CONNECTIVITY_WBXML) {
            let security = match &pdu.content_type {
                ContentType::General {
                    media: Media::WellKnown(_),
                    params,
                } => {
                    let sec = params.iter().find_map(|p| match p {
                        Parameter::Sec(s) => Some(*s),
                        _ => None,
                    });
                    let mac = params.iter().find_map(|p| match p {
                        Parameter::Mac(m) => Some(m.clone()),
                        _ => None,
                    });
                    sec.map(|sec| ProvSecurity {
                        sec,
                        mac: mac.unwrap_or_default(),
                    })
                }
                _ => None,
            };
            PushContent::Prov {
                doc: ProvisioningDoc::decode(&pdu.body)?,
                security,
            }
        } else {
            return Err(unsupported());
        };
        Ok(Self {
            tid: pdu.tid,
            content,
        })
    }
}

/// The reference number of a concatenated push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcatReference {
    /// An 8-bit reference (IEI 0x00).
    Eight(u8),
    /// A 16-bit reference (IEI 0x08).
    Sixteen(u16),
}

/// Cuts a WSP PDU into short messages (user data header + payload, at most 140 octets each).
///
/// One segment when the PDU fits in 133 octets (header `06 05 04 0B 84 23 F0`); otherwise
/// concatenated segments numbered from 1, each with the concatenation element before the ports.
pub fn sms_segments(wsp: &[u8], reference: ConcatReference) -> Result<Vec<Vec<u8>>, PushError> {
    let ports = InformationElement::Ports16 {
        destination: WAP_PUSH_PORT,
        source: WAP_WSP_PORT,
    };
    let single = UserDataHeader {
        elements: vec![ports.clone()],
    };
    if single.encoded_len() + wsp.len() <= MAX_SHORT_MESSAGE {
        let mut sm = single.encode()?;
        sm.extend_from_slice(wsp);
        return Ok(vec![sm]);
    }
    let concat = |total: u8, sequence: u8| match reference {
        ConcatReference::Eight(reference) => InformationElement::Concat8 {
            reference,
            total,
            sequence,
        },
        ConcatReference::Sixteen(reference) => InformationElement::Concat16 {
            reference,
            total,
            sequence,
        },
    };
    let header_len = UserDataHeader {
        elements: vec![concat(0, 0), ports.clone()],
    }
    .encoded_len();
    let room = MAX_SHORT_MESSAGE - header_len;
    let segments = wsp.len().div_ceil(room);
    let total = u8::try_from(segments).map_err(|_| PushError::TooManySegments {
        len: wsp.len(),
        segments,
    })?;
    wsp.chunks(room)
        .zip(1..=total)
        .map(|(chunk, sequence)| {
            let mut sm = UserDataHeader {
                elements: vec![concat(total, sequence), ports.clone()],
            }
            .encode()?;
            sm.extend_from_slice(chunk);
            Ok(sm)
        })
        .collect()
}

/// A segment that cannot be reassembled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReassemblyError {
    /// The user data header is malformed.
    #[error(transparent)]
    Udh(#[from] UdhError),
    /// The concatenation element says zero segments.
    #[error("segment of message {reference}: total of 0 segments")]
    ZeroTotal {
        /// The reference number.
        reference: u16,
    },
    /// The sequence number is 0 or above the total.
    #[error("segment of message {reference}: sequence {sequence} outside 1..={total}")]
    SequenceOutOfRange {
        /// The reference number.
        reference: u16,
        /// The sequence number.
        sequence: u8,
        /// The total.
        total: u8,
    },
    /// The total differs from the one earlier segments gave.
    #[error("segment of message {reference}: total {found}, earlier segments said {expected}")]
    TotalMismatch {
        /// The reference number.
        reference: u16,
        /// The total of the earlier segments.
        expected: u8,
        /// This segment's total.
        found: u8,
    },
    /// The segment has already arrived.
    #[error("segment {sequence} of message {reference} arrived twice")]
    Duplicate {
        /// The reference number.
        reference: u16,
        /// The sequence number.
        sequence: u8,
    },
}

#[derive(Debug, Clone)]
struct Pending {
    total: u8,
    parts: Vec<Option<Vec<u8>>>,
}

/// Reassembles concatenated short messages into the WSP PDU they carry.
///
/// Messages are keyed by their reference number (and whether it was 8- or 16-bit); keep one
/// reassembler per originator. A segment that is refused leaves the state as it was.
#[derive(Debug, Clone, Default)]
pub struct Reassembler {
    pending: BTreeMap<(u16, bool), Pending>,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Messages with segments still missing.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Drops a partly received message (e.g. on a timeout).
    pub fn discard(&mut self, reference: u16, wide: bool) {
        self.pending.remove(&(reference, wide));
    }

    /// Takes one short message (user data header + payload). Returns the payload of the whole
    /// message once its last segment arrives; a message without a concatenation element is
    /// returned at once.
    pub fn push(&mut self, short_message: &[u8]) -> Result<Option<Vec<u8>>, ReassemblyError> {
        let (udh, payload) = UserDataHeader::decode(short_message)?;
        let Some(c) = udh.concatenation() else {
            return Ok(Some(payload.to_vec()));
        };
        let reference = c.reference;
        if c.total == 0 {
            return Err(ReassemblyError::ZeroTotal { reference });
        }
        if c.sequence == 0 || c.sequence > c.total {
            return Err(ReassemblyError::SequenceOutOfRange {
                reference,
                sequence: c.sequence,
                total: c.total,
            });
        }
        let key = (reference, c.wide);
        let entry = self.pending.entry(key).or_insert_with(|| Pending {
            total: c.total,
            parts: vec![None; usize::from(c.total)],
        });
        if entry.total != c.total {
            return Err(ReassemblyError::TotalMismatch {
                reference,
                expected: entry.total,
                found: c.total,
            });
        }
        let slot = &mut entry.parts[usize::from(c.sequence - 1)];
        if slot.is_some() {
            return Err(ReassemblyError::Duplicate {
                reference,
                sequence: c.sequence,
            });
        }
        *slot = Some(payload.to_vec());
        if entry.parts.iter().all(Option::is_some) {
            let done = self.pending.remove(&key);
            return Ok(done.map(|p| p.parts.into_iter().flatten().flatten().collect()));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::wap::wbxml::{Characteristic, Parm, SiAction, SlAction};
    use proptest::prelude::*;

    fn si() -> WapPush {
        WapPush {
            tid: 1,
            content: PushContent::Si(ServiceIndication {
                href: Some("http://www.example.com/ota".into()),
                si_id: Some("1".into()),
                action: SiAction::SignalHigh,
                text: Some("New settings".into()),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn single_segment_header() {
        let wsp = si().encode().unwrap();
        assert_eq!(&wsp[..7], [0x01, 0x06, 0x03, 0xAE, 0xAF, 0x82, 0x03]);
        let segs = sms_segments(&wsp, ConcatReference::Eight(0x5A)).unwrap();
        assert_eq!(segs.len(), 1);
        assert_eq!(&segs[0][..7], [0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0]);
        assert_eq!(&segs[0][7..], &wsp[..]);
        assert_eq!(WapPush::decode(&wsp).unwrap(), si());
    }

    #[test]
    fn two_segment_headers() {
        let wsp: Vec<u8> = (0..200u16).map(|i| i as u8).collect();
        let segs = sms_segments(&wsp, ConcatReference::Eight(0x5A)).unwrap();
        assert_eq!(segs.len(), 2);
        assert_eq!(
            &segs[0][..12],
            [0x0B, 0x00, 0x03, 0x5A, 0x02, 0x01, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0]
        );
        assert_eq!(segs[0].len(), 140);
        assert_eq!(segs[1][5], 0x02);
        let mut r = Reassembler::new();
        assert_eq!(r.push(&segs[1]).unwrap(), None);
        assert_eq!(r.pending(), 1);
        assert_eq!(
            r.push(&segs[1]),
            Err(ReassemblyError::Duplicate {
                reference: 0x5A,
                sequence: 2
            })
        );
        assert_eq!(r.push(&segs[0]).unwrap(), Some(wsp.clone()));
        assert_eq!(r.pending(), 0);

        let wide = sms_segments(&wsp, ConcatReference::Sixteen(0x1234)).unwrap();
        assert_eq!(&wide[0][..7], [0x0C, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01]);
        assert_eq!(wide[0].len(), 140);
    }

    #[test]
    fn reassembly_errors() {
        let mut r = Reassembler::new();
        let seg = |total: u8, seq: u8| {
            let mut v = UserDataHeader {
                elements: vec![InformationElement::Concat8 {
                    reference: 7,
                    total,
                    sequence: seq,
                }],
            }
            .encode()
            .unwrap();
            v.push(seq);
            v
        };
        assert_eq!(
            r.push(&seg(0, 1)),
            Err(ReassemblyError::ZeroTotal { reference: 7 })
        );
        assert_eq!(
            r.push(&seg(2, 3)),
            Err(ReassemblyError::SequenceOutOfRange {
                reference: 7,
                sequence: 3,
                total: 2
            })
        );
        assert_eq!(r.push(&seg(3, 1)), Ok(None));
        assert_eq!(
            r.push(&seg(2, 2)),
            Err(ReassemblyError::TotalMismatch {
                reference: 7,
                expected: 3,
                found: 2
            })
        );
        assert_eq!(r.push(&seg(3, 3)), Ok(None));
        assert_eq!(r.push(&seg(3, 2)), Ok(Some(vec![1, 2, 3])));
        assert!(matches!(
            r.push(&[]),
            Err(ReassemblyError::Udh(UdhError::Empty))
        ));
        r.push(&seg(3, 1)).unwrap();
        r.discard(7, false);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn too_many_segments() {
        let big = vec![0u8; 128 * 255 + 1];
        assert!(matches!(
            sms_segments(&big, ConcatReference::Eight(1)),
            Err(PushError::TooManySegments { segments: 256, .. })
        ));
        assert_eq!(
            sms_segments(&big[1..], ConcatReference::Eight(1))
                .unwrap()
                .len(),
            255
        );
    }

    #[test]
    fn prov_with_security() {
        let push = WapPush {
            tid: 0,
            content: PushContent::Prov {
                doc: ProvisioningDoc {
                    version: Some("1.0".into()),
                    characteristics: vec![Characteristic {
                        type_: "BOOTSTRAP".into(),
                        parms: vec![Parm::new("NAME", "otagw")],
                        children: vec![],
                    }],
                },
                security: Some(ProvSecurity {
                    sec: 1,
                    mac: "00112233445566778899AABBCCDDEEFF00112233".into(),
                }),
            },
        };
        let wsp = push.encode().unwrap();
        assert_eq!(&wsp[..8], [0x00, 0x06, 0x2F, 0x1F, 0x2D, 0xB6, 0x91, 0x81]);
        assert_eq!(WapPush::decode(&wsp).unwrap(), push);
    }

    fn push() -> impl Strategy<Value = WapPush> {
        let content = prop_oneof![
            ("[a-z./:]{0,300}", "[ -~]{0,200}").prop_map(|(h, t)| PushContent::Si(
                ServiceIndication {
                    href: Some(h),
                    text: Some(t).filter(|t| !t.is_empty()),
                    ..Default::default()
                }
            )),
            "[a-z./:]{0,300}".prop_map(|href| PushContent::Sl(ServiceLoading {
                href,
                action: SlAction::Cache
            })),
            (
                proptest::collection::vec(("[A-Z]{1,8}", "[a-z0-9]{0,20}"), 0..30),
                proptest::option::of((0u8..4, "[0-9A-F]{40}"))
            )
                .prop_map(|(parms, sec)| PushContent::Prov {
                    doc: ProvisioningDoc {
                        version: None,
                        characteristics: vec![Characteristic {
                            type_: "NAPDEF".into(),
                            parms: parms.iter().map(|(n, v)| Parm::new(n, v)).collect(),
                            children: vec![],
                        }],
                    },
                    security: sec.map(|(sec, mac)| ProvSecurity { sec, mac }),
                }),
        ];
        (any::<u8>(), content).prop_map(|(tid, content)| WapPush { tid, content })
    }

    proptest! {
        #[test]
        fn push_segment_reassemble_round_trip(p in push(), wide in any::<bool>(),
                                              reference in any::<u16>(),
                                              order in any::<u64>()) {
            let wsp = p.encode().unwrap();
            prop_assert_eq!(WapPush::decode(&wsp).unwrap(), p);
            let r = if wide { ConcatReference::Sixteen(reference) }
                    else { ConcatReference::Eight(reference as u8) };
            let mut segs = sms_segments(&wsp, r).unwrap();
            for s in &segs {
                prop_assert!(s.len() <= MAX_SHORT_MESSAGE);
            }
            // A deterministic shuffle.
            let n = segs.len();
            for i in 0..n {
                let j = ((order >> (i % 64)) as usize).wrapping_add(i * 7) % n;
                segs.swap(i, j);
            }
            let mut re = Reassembler::new();
            let mut out = None;
            for (i, s) in segs.iter().enumerate() {
                let got = re.push(s).unwrap();
                if i + 1 < n {
                    prop_assert_eq!(&got, &None);
                } else {
                    out = got;
                }
            }
            prop_assert_eq!(out, Some(wsp));
            prop_assert_eq!(re.pending(), 0);
        }

        #[test]
        fn reassembler_never_panics(msgs in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..20), 0..10)) {
            let mut re = Reassembler::new();
            for m in msgs {
                let _ = re.push(&m);
            }
        }

        #[test]
        fn push_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = WapPush::decode(&bytes);
        }
    }
}

//! The user data header (UDH) of a short message (3GPP TS 23.040 §9.2.3.24).
//!
//! `UDHL (1) | IE*` where each information element is `IEI (1) | IEDL (1) | data (IEDL)`.
//!
//! | IEI | element | data |
//! |---|---|---|
//! | 0x00 | concatenated short messages, 8-bit reference | reference (1), total (1), sequence (1, from 1) |
//! | 0x04 | application port addressing, 8-bit | destination port (1), source port (1) |
//! | 0x05 | application port addressing, 16-bit | destination port (2), source port (2) |
//! | 0x08 | concatenated short messages, 16-bit reference | reference (2), total (1), sequence (1) |
//! | other | kept raw | |
//!
//! `06 05 04 0B 84 23 F0` is the header of a single-segment WAP push: ports 2948 / 9200.
//!
//! A known IEI with the wrong data length is an error, not an unknown element. The values of
//! the concatenation element are not checked here (the reassembler does that).

use thiserror::Error;

/// IEI: concatenated short messages, 8-bit reference number.
pub const IEI_CONCAT_8: u8 = 0x00;
/// IEI: application port addressing scheme, 8-bit address.
pub const IEI_PORTS_8: u8 = 0x04;
/// IEI: application port addressing scheme, 16-bit address.
pub const IEI_PORTS_16: u8 = 0x05;
/// IEI: concatenated short messages, 16-bit reference number.
pub const IEI_CONCAT_16: u8 = 0x08;

/// A user data header that cannot be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UdhError {
    /// The input is empty: there is no UDHL octet.
    #[error("user data header: no UDHL octet")]
    Empty,
    /// UDHL says more octets than the user data holds.
    #[error("user data header: UDHL {udhl} but only {available} octet(s) follow")]
    ShortHeader {
        /// The UDHL value.
        udhl: usize,
        /// Octets after the UDHL octet.
        available: usize,
    },
    /// An information element runs past the end of the header.
    #[error("user data header: IE 0x{iei:02X} at offset {offset} runs past the end of the header")]
    TruncatedElement {
        /// The element's identifier.
        iei: u8,
        /// Its offset within the header (after UDHL).
        offset: usize,
    },
    /// A known element has the wrong data length.
    #[error("user data header: IE 0x{iei:02X} has length {len}, expected {expected}")]
    BadLength {
        /// The element's identifier.
        iei: u8,
        /// Its IEDL.
        len: usize,
        /// The length its definition fixes.
        expected: usize,
    },
    /// The encoded header or one raw element would exceed 255 octets.
    #[error("user data header: {what} of {len} octets exceeds 255")]
    TooLong {
        /// What overflows.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A raw element uses an IEI that has a typed form here.
    #[error("user data header: raw IE uses IEI 0x{0:02X}, which has a typed form")]
    RawKnownIei(u8),
}

/// One information element of a user data header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InformationElement {
    /// IEI 0x00: concatenated short messages with an 8-bit reference.
    Concat8 {
        /// Reference number, the same in every segment of one message.
        reference: u8,
        /// Number of segments.
        total: u8,
        /// This segment's sequence number, from 1.
        sequence: u8,
    },
    /// IEI 0x08: concatenated short messages with a 16-bit reference.
    Concat16 {
        /// Reference number.
        reference: u16,
        /// Number of segments.
        total: u8,
        /// This segment's sequence number, from 1.
        sequence: u8,
    },
    /// IEI 0x04: application port addressing, 8-bit ports.
    Ports8 {
        /// Destination port.
        destination: u8,
        /// Originator port.
        source: u8,
    },
    /// IEI 0x05: application port addressing, 16-bit ports.
    Ports16 {
        /// Destination port.
        destination: u16,
        /// Originator port.
        source: u16,
    },
    /// Any other element, kept as it was.
    Other {
        /// The element's identifier (never one of the typed IEIs).
        iei: u8,
        /// Its data.
        data: Vec<u8>,
    },
}

impl InformationElement {
    /// The element's identifier.
    pub fn iei(&self) -> u8 {
        match self {
            Self::Concat8 { .. } => IEI_CONCAT_8,
            Self::Concat16 { .. } => IEI_CONCAT_16,
            Self::Ports8 { .. } => IEI_PORTS_8,
            Self::Ports16 { .. } => IEI_PORTS_16,
            Self::Other { iei, .. } => *iei,
        }
    }

    /// The element's data octets (without IEI and IEDL).
    fn data(&self) -> Vec<u8> {
        match self {
            Self::Concat8 {
                reference,
                total,
                sequence,
            } => vec![*reference, *total, *sequence],
            Self::Concat16 {
                reference,
                total,
                sequence,
            } => {
                let r = reference.to_be_bytes();
                vec![r[0], r[1], *total, *sequence]
            }
            Self::Ports8 {
                destination,
                source,
            } => vec![*destination, *source],
            Self::Ports16 {
                destination,
                source,
            } => {
                let d = destination.to_be_bytes();
                let s = source.to_be_bytes();
                vec![d[0], d[1], s[0], s[1]]
            }
            Self::Other { data, .. } => data.clone(),
        }
    }

    /// Decodes one element's data.
    fn from_parts(iei: u8, data: &[u8]) -> Result<Self, UdhError> {
        let expected = match iei {
            IEI_CONCAT_8 => Some(3),
            IEI_CONCAT_16 | IEI_PORTS_16 => Some(4),
            IEI_PORTS_8 => Some(2),
            _ => None,
        };
        if let Some(expected) = expected {
            if data.len() != expected {
                return Err(UdhError::BadLength {
                    iei,
                    len: data.len(),
                    expected,
                });
            }
        }
        Ok(match (iei, data) {
            (IEI_CONCAT_8, &[reference, total, sequence]) => Self::Concat8 {
                reference,
                total,
                sequence,
            },
            (IEI_CONCAT_16, &[r0, r1, total, sequence]) => Self::Concat16 {
                reference: u16::from_be_bytes([r0, r1]),
                total,
                sequence,
            },
            (IEI_PORTS_8, &[destination, source]) => Self::Ports8 {
                destination,
                source,
            },
            (IEI_PORTS_16, &[d0, d1, s0, s1]) => Self::Ports16 {
                destination: u16::from_be_bytes([d0, d1]),
                source: u16::from_be_bytes([s0, s1]),
            },
            _ => Self::Other {
                iei,
                data: data.to_vec(),
            },
        })
    }
}

/// The concatenation values of a segment, whichever reference width carried them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concatenation {
    /// The reference number (an 8-bit reference widened).
    pub reference: u16,
    /// Whether the reference was carried in the 16-bit element.
    pub wide: bool,
    /// Number of segments.
    pub total: u8,
    /// This segment's sequence number, from 1.
    pub sequence: u8,
}

/// A user data header: its information elements in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserDataHeader {
    /// The elements, in the order they appear.
    pub elements: Vec<InformationElement>,
}

impl UserDataHeader {
    /// A header with 16-bit application ports.
    pub fn with_ports(destination: u16, source: u16) -> Self {
        Self {
            elements: vec![InformationElement::Ports16 {
                destination,
                source,
            }],
        }
    }

    /// The 16-bit (or widened 8-bit) ports `(destination, source)`, if present.
    pub fn ports(&self) -> Option<(u16, u16)> {
        self.elements.iter().find_map(|e| match e {
            InformationElement::Ports16 {
                destination,
                source,
            } => Some((*destination, *source)),
            InformationElement::Ports8 {
                destination,
                source,
            } => Some((u16::from(*destination), u16::from(*source))),
            _ => None,
        })
    }

    /// The concatenation element, if present.
    pub fn concatenation(&self) -> Option<Concatenation> {
        self.elements.iter().find_map(|e| match e {
            InformationElement::Concat8 {
                reference,
                total,
                sequence,
            } => Some(Concatenation {
                reference: u16::from(*reference),
                wide: false,
                total: *total,
                sequence: *sequence,
            }),
            InformationElement::Concat16 {
                reference,
                total,
                sequence,
            } => Some(Concatenation {
                reference: *reference,
                wide: true,
                total: *total,
                sequence: *sequence,
            }),
            _ => None,
        })
    }

    /// The encoded length, UDHL octet included.
    pub fn encoded_len(&self) -> usize {
        1 + self
            .elements
            .iter()
            .map(|e| 2 + e.data().len())
            .sum::<usize>()
    }

    /// Encodes the header, UDHL octet first.
    pub fn encode(&self) -> Result<Vec<u8>, UdhError> {
        let mut body = Vec::new();
        for e in &self.elements {
            if let InformationElement::Other { iei, .. } = e {
                if matches!(
                    *iei,
                    IEI_CONCAT_8 | IEI_CONCAT_16 | IEI_PORTS_8 | IEI_PORTS_16
                ) {
                    return Err(UdhError::RawKnownIei(*iei));
                }
            }
            let data = e.data();
            let len = u8::try_from(data.len()).map_err(|_| UdhError::TooLong {
                what: "information element",
                len: data.len(),
            })?;
            body.push(e.iei());
            body.push(len);
            body.extend_from_slice(&data);
        }
        let udhl = u8::try_from(body.len()).map_err(|_| UdhError::TooLong {
            what: "user data header",
            len: body.len(),
        })?;
        let mut out = Vec::with_capacity(body.len() + 1);
        out.push(udhl);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decodes the header at the start of `user_data` and returns it with the octets that
    /// follow it (the payload).
    pub fn decode(user_data: &[u8]) -> Result<(Self, &[u8]), UdhError> {
        let (&udhl, rest) = user_data.split_first().ok_or(UdhError::Empty)?;
        let udhl = usize::from(udhl);
        if rest.len() < udhl {
            return Err(UdhError::ShortHeader {
                udhl,
                available: rest.len(),
            });
        }
        let (mut header, payload) = rest.split_at(udhl);
        let mut elements = Vec::new();
        let mut offset = 0;
        while let Some((&iei, after)) = header.split_first() {
            let truncated = UdhError::TruncatedElement { iei, offset };
            let (&len, after) = after.split_first().ok_or(truncated.clone())?;
            let len = usize::from(len);
            if after.len() < len {
                return Err(truncated);
            }
            let (data, after) = after.split_at(len);
            elements.push(InformationElement::from_parts(iei, data)?);
            offset += 2 + len;
            header = after;
        }
        Ok((Self { elements }, payload))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wap_push_ports_vector() {
        let h = UserDataHeader::with_ports(2948, 9200);
        assert_eq!(
            h.encode().unwrap(),
            [0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0]
        );
        let (d, rest) =
            UserDataHeader::decode(&[0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0xAA]).unwrap();
        assert_eq!(d, h);
        assert_eq!(rest, [0xAA]);
        assert_eq!(d.ports(), Some((2948, 9200)));
    }

    #[test]
    fn concatenated_segment_vector() {
        let bytes = [
            0x0B, 0x00, 0x03, 0x5A, 0x02, 0x01, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0,
        ];
        let (h, rest) = UserDataHeader::decode(&bytes).unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            h.elements,
            vec![
                InformationElement::Concat8 {
                    reference: 0x5A,
                    total: 2,
                    sequence: 1
                },
                InformationElement::Ports16 {
                    destination: 2948,
                    source: 9200
                },
            ]
        );
        assert_eq!(h.encode().unwrap(), bytes);
        assert_eq!(
            h.concatenation(),
            Some(Concatenation {
                reference: 0x5A,
                wide: false,
                total: 2,
                sequence: 1
            })
        );
    }

    #[test]
    fn errors() {
        assert_eq!(UserDataHeader::decode(&[]), Err(UdhError::Empty));
        assert!(matches!(
            UserDataHeader::decode(&[5, 0, 3]),
            Err(UdhError::ShortHeader { udhl: 5, .. })
        ));
        assert!(matches!(
            UserDataHeader::decode(&[4, 0x05, 0x02, 1, 2]),
            Err(UdhError::BadLength {
                iei: 5,
                len: 2,
                expected: 4
            })
        ));
        assert!(matches!(
            UserDataHeader::decode(&[2, 0x70, 0x04]),
            Err(UdhError::TruncatedElement { iei: 0x70, .. })
        ));
        let raw = UserDataHeader {
            elements: vec![InformationElement::Other {
                iei: 0x05,
                data: vec![],
            }],
        };
        assert_eq!(raw.encode(), Err(UdhError::RawKnownIei(5)));
    }

    fn element() -> impl Strategy<Value = InformationElement> {
        prop_oneof![
            (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(reference, total, sequence)| {
                InformationElement::Concat8 {
                    reference,
                    total,
                    sequence,
                }
            }),
            (any::<u16>(), any::<u8>(), any::<u8>()).prop_map(|(reference, total, sequence)| {
                InformationElement::Concat16 {
                    reference,
                    total,
                    sequence,
                }
            }),
            (any::<u8>(), any::<u8>()).prop_map(|(destination, source)| {
                InformationElement::Ports8 {
                    destination,
                    source,
                }
            }),
            (any::<u16>(), any::<u16>()).prop_map(|(destination, source)| {
                InformationElement::Ports16 {
                    destination,
                    source,
                }
            }),
            (
                any::<u8>().prop_filter("typed IEI", |i| ![0, 4, 5, 8].contains(i)),
                proptest::collection::vec(any::<u8>(), 0..20)
            )
                .prop_map(|(iei, data)| InformationElement::Other { iei, data }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(elements in proptest::collection::vec(element(), 0..8),
                      payload in proptest::collection::vec(any::<u8>(), 0..40)) {
            let h = UserDataHeader { elements };
            let mut bytes = h.encode().unwrap();
            prop_assert_eq!(bytes.len(), h.encoded_len());
            bytes.extend_from_slice(&payload);
            let (d, rest) = UserDataHeader::decode(&bytes).unwrap();
            prop_assert_eq!(d, h);
            prop_assert_eq!(rest, &payload[..]);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = UserDataHeader::decode(&bytes);
        }
    }
}

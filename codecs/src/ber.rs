//! A small BER (X.690) tag-length-value layer, enough for ANSI TCAP and ANSI-41 MAP.
//!
//! What it covers:
//!
//! - identifier octets: class (2 bits), primitive/constructed (1 bit), tag number; tag numbers
//!   of 31 and above use the long form (`1F` in the first octet, then base-128 octets, high bit
//!   set on all but the last), as ANSI-41 does for every parameter from tag 31 up
//!   (`9F 81 00` = context-specific primitive tag 128);
//! - definite lengths, short form (`0..=127` in one octet) and long form (`0x8N` then N octets,
//!   N at most 4). The indefinite form (`0x80`) is refused with [`BerError::IndefiniteLength`]:
//!   neither ANSI TCAP nor ANSI-41 uses it;
//! - reading a sequence of TLVs from a slice with every length checked against the octets that
//!   remain, so a decoder never reads past its input and never panics;
//! - writing, always with the shortest identifier and length forms.
//!
//! The layer is hand-written rather than taken from an ASN.1 crate: TCAP and ANSI-41 need only
//! tagged octet strings and nesting (no ASN.1 schema, no REAL or time types), the whole layer is
//! about 300 lines, and it keeps the codecs crate free of a large dependency.

use std::fmt;

use thiserror::Error;

/// The two high bits of an identifier octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// `00`: types defined by X.680 itself (INTEGER, SEQUENCE ...).
    Universal,
    /// `01`: application-wide tags.
    Application,
    /// `10`: tags whose meaning depends on the enclosing type (ANSI-41 parameters).
    ContextSpecific,
    /// `11`: private tags (ANSI TCAP's package and component identifiers).
    Private,
}

impl Class {
    /// The class from the two high bits of an identifier octet.
    pub const fn from_bits(octet: u8) -> Self {
        match octet >> 6 {
            0 => Class::Universal,
            1 => Class::Application,
            2 => Class::ContextSpecific,
            _ => Class::Private,
        }
    }

    /// The class as the two high bits of an identifier octet.
    pub const fn bits(self) -> u8 {
        match self {
            Class::Universal => 0x00,
            Class::Application => 0x40,
            Class::ContextSpecific => 0x80,
            Class::Private => 0xC0,
        }
    }
}

/// A BER identifier: class, primitive or constructed, tag number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identifier {
    /// The tag class.
    pub class: Class,
    /// Whether the contents are themselves TLVs (constructed) or plain octets (primitive).
    pub constructed: bool,
    /// The tag number (0 to [`Identifier::MAX_TAG`]).
    pub tag: u32,
}

impl Identifier {
    /// The largest tag number accepted: four base-128 octets.
    pub const MAX_TAG: u32 = (1 << 28) - 1;

    /// A primitive identifier.
    pub const fn primitive(class: Class, tag: u32) -> Self {
        Self {
            class,
            constructed: false,
            tag,
        }
    }

    /// A constructed identifier.
    pub const fn constructed(class: Class, tag: u32) -> Self {
        Self {
            class,
            constructed: true,
            tag,
        }
    }

    /// A context-specific primitive identifier (`[n] IMPLICIT` over an octet string).
    pub const fn context(tag: u32) -> Self {
        Self::primitive(Class::ContextSpecific, tag)
    }

    /// A private identifier.
    pub const fn private(constructed: bool, tag: u32) -> Self {
        Self {
            class: Class::Private,
            constructed,
            tag,
        }
    }

    /// The first identifier octet when the tag fits the short form, e.g. `E9` for
    /// private constructed 9; `None` for long-form tags.
    pub const fn short_octet(self) -> Option<u8> {
        if self.tag < 31 {
            Some(self.class.bits() | if self.constructed { 0x20 } else { 0 } | self.tag as u8)
        } else {
            None
        }
    }

    /// Appends the identifier octets. Errors if the tag number exceeds [`Identifier::MAX_TAG`].
    pub fn write(self, out: &mut Vec<u8>) -> Result<(), BerError> {
        let first = self.class.bits() | if self.constructed { 0x20 } else { 0 };
        if self.tag < 31 {
            out.push(first | self.tag as u8);
            return Ok(());
        }
        if self.tag > Self::MAX_TAG {
            return Err(BerError::TagTooLarge);
        }
        out.push(first | 0x1F);
        let mut groups = [0u8; 4];
        let mut n = 0;
        let mut t = self.tag;
        while t > 0 {
            groups[n] = (t & 0x7F) as u8;
            t >>= 7;
            n += 1;
        }
        for i in (0..n).rev() {
            out.push(groups[i] | if i > 0 { 0x80 } else { 0 });
        }
        Ok(())
    }

    /// Reads an identifier from the front of `input`; returns it and the octets it used.
    pub fn read(input: &[u8]) -> Result<(Self, usize), BerError> {
        let first = *input.first().ok_or(BerError::Truncated {
            what: "identifier",
            needed: 1,
            available: 0,
        })?;
        let class = Class::from_bits(first);
        let constructed = first & 0x20 != 0;
        if first & 0x1F != 0x1F {
            return Ok((
                Self {
                    class,
                    constructed,
                    tag: u32::from(first & 0x1F),
                },
                1,
            ));
        }
        let mut tag: u32 = 0;
        let mut used = 1;
        loop {
            let octet = *input.get(used).ok_or(BerError::Truncated {
                what: "long-form tag",
                needed: used + 1,
                available: input.len(),
            })?;
            if used == 1 && octet == 0x80 {
                return Err(BerError::NonMinimalTag);
            }
            used += 1;
            if used > 5 {
                return Err(BerError::TagTooLarge);
            }
            tag = (tag << 7) | u32::from(octet & 0x7F);
            if octet & 0x80 == 0 {
                break;
            }
        }
        if tag < 31 {
            return Err(BerError::NonMinimalTag);
        }
        Ok((
            Self {
                class,
                constructed,
                tag,
            },
            used,
        ))
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = match self.class {
            Class::Universal => "UNIVERSAL ",
            Class::Application => "APPLICATION ",
            Class::ContextSpecific => "",
            Class::Private => "PRIVATE ",
        };
        let form = if self.constructed {
            "constructed"
        } else {
            "primitive"
        };
        let mut octets = Vec::new();
        // A tag too large to write is shown without its octets.
        let hex = if self.write(&mut octets).is_ok() {
            octets
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            "?".to_owned()
        };
        write!(f, "[{class}{}] {form} ({hex})", self.tag)
    }
}

/// A failure to read or write BER.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BerError {
    /// The input ended inside an identifier, a length or contents.
    #[error("{what} needs {needed} octet(s) but only {available} remain")]
    Truncated {
        /// The part being read.
        what: &'static str,
        /// Octets it needs.
        needed: usize,
        /// Octets left.
        available: usize,
    },
    /// Length octet `0x80`: the indefinite form, which ANSI TCAP does not use.
    #[error("indefinite length (0x80) is not supported: TCAP uses definite lengths only")]
    IndefiniteLength,
    /// A long-form length of more than 4 octets (or the reserved `0xFF`).
    #[error("length field of {0} octet(s) is too long (at most 4)")]
    LengthTooLong(usize),
    /// A tag number above [`Identifier::MAX_TAG`].
    #[error("tag number too large (more than 4 base-128 octets)")]
    TagTooLarge,
    /// A long-form tag with a leading `0x80` octet or a number below 31.
    #[error("long-form tag is not minimally encoded")]
    NonMinimalTag,
    /// Octets follow the single TLV that was expected.
    #[error("{0} octet(s) left over after the TLV")]
    TrailingOctets(usize),
    /// A value too long to encode (more than 2^32 - 1 octets).
    #[error("contents of {0} octets are too long to encode")]
    ContentsTooLong(usize),
}

/// Appends a definite length in its shortest form.
pub fn write_length(len: usize, out: &mut Vec<u8>) -> Result<(), BerError> {
    if len < 0x80 {
        out.push(len as u8);
        return Ok(());
    }
    let len32 = u32::try_from(len).map_err(|_| BerError::ContentsTooLong(len))?;
    let bytes = len32.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push(0x80 | (4 - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
    Ok(())
}

/// Reads a definite length from the front of `input`; returns it and the octets it used.
/// Long forms with leading zero octets are accepted (BER allows them).
pub fn read_length(input: &[u8]) -> Result<(usize, usize), BerError> {
    let first = *input.first().ok_or(BerError::Truncated {
        what: "length",
        needed: 1,
        available: 0,
    })?;
    if first < 0x80 {
        return Ok((usize::from(first), 1));
    }
    if first == 0x80 {
        return Err(BerError::IndefiniteLength);
    }
    let n = usize::from(first & 0x7F);
    if n > 4 {
        return Err(BerError::LengthTooLong(n));
    }
    let octets = input.get(1..1 + n).ok_or(BerError::Truncated {
        what: "long-form length",
        needed: 1 + n,
        available: input.len(),
    })?;
    let len = octets
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Ok((len, 1 + n))
}

/// One TLV borrowed from its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlvRef<'a> {
    /// The identifier.
    pub id: Identifier,
    /// The contents octets (for a constructed TLV, its encoded children).
    pub value: &'a [u8],
}

impl<'a> TlvRef<'a> {
    /// Reads one TLV from the front of `input`; returns it and the octets after it.
    pub fn read(input: &'a [u8]) -> Result<(Self, &'a [u8]), BerError> {
        let (id, id_len) = Identifier::read(input)?;
        let rest = &input[id_len..];
        let (len, len_len) = read_length(rest)?;
        let rest = &rest[len_len..];
        if len > rest.len() {
            return Err(BerError::Truncated {
                what: "contents",
                needed: len,
                available: rest.len(),
            });
        }
        let (value, after) = rest.split_at(len);
        Ok((Self { id, value }, after))
    }

    /// An owned copy.
    pub fn to_owned(self) -> Tlv {
        Tlv {
            id: self.id,
            value: self.value.to_vec(),
        }
    }

    /// The children of a constructed TLV (or any TLV whose contents are TLVs).
    pub fn children(self) -> Reader<'a> {
        Reader::new(self.value)
    }
}

/// Reads consecutive TLVs from a slice until it is exhausted.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }

    /// Whether all input has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The identifier of the next TLV without consuming it (`None` at the end or on an
    /// unreadable identifier).
    pub fn peek_id(&self) -> Option<Identifier> {
        Identifier::read(self.rest).ok().map(|(id, _)| id)
    }

    /// The next TLV, or `None` at the end of the input.
    pub fn next_tlv(&mut self) -> Result<Option<TlvRef<'a>>, BerError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let (tlv, rest) = TlvRef::read(self.rest)?;
        self.rest = rest;
        Ok(Some(tlv))
    }

    /// Every remaining TLV, owned.
    pub fn collect_owned(mut self) -> Result<Vec<Tlv>, BerError> {
        let mut out = Vec::new();
        while let Some(t) = self.next_tlv()? {
            out.push(t.to_owned());
        }
        Ok(out)
    }
}

/// An owned TLV: identifier and raw contents.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tlv {
    /// The identifier.
    pub id: Identifier,
    /// The contents octets (for a constructed TLV, its encoded children).
    pub value: Vec<u8>,
}

impl Tlv {
    /// A TLV with these contents.
    pub fn new(id: Identifier, value: Vec<u8>) -> Self {
        Self { id, value }
    }

    /// Appends the encoded TLV.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), BerError> {
        write_tlv(self.id, &self.value, out)
    }

    /// The encoded TLV.
    pub fn encode(&self) -> Result<Vec<u8>, BerError> {
        let mut out = Vec::with_capacity(self.value.len() + 6);
        self.write(&mut out)?;
        Ok(out)
    }

    /// Reads exactly one TLV; octets after it are an error.
    pub fn decode(input: &[u8]) -> Result<Self, BerError> {
        let (t, rest) = TlvRef::read(input)?;
        if !rest.is_empty() {
            return Err(BerError::TrailingOctets(rest.len()));
        }
        Ok(t.to_owned())
    }

    /// A borrowed view.
    pub fn as_ref(&self) -> TlvRef<'_> {
        TlvRef {
            id: self.id,
            value: &self.value,
        }
    }
}

/// Appends a TLV whose contents `contents` writes straight into `out`, then fills in the
/// length in its shortest form (no intermediate buffer for nested structures).
pub fn write_nested<E: From<BerError>>(
    id: Identifier,
    out: &mut Vec<u8>,
    contents: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    id.write(out)?;
    let at = out.len();
    out.push(0);
    contents(out)?;
    let len = out.len() - at - 1;
    if len < 0x80 {
        out[at] = len as u8;
        return Ok(());
    }
    let mut long = Vec::with_capacity(5);
    write_length(len, &mut long)?;
    out[at] = long[0];
    out.splice(at + 1..at + 1, long[1..].iter().copied());
    Ok(())
}

/// The next TLV of a [`crate::codec::Reader`], or `None` when it is exhausted. On error the
/// reader is left where it was.
pub fn next_tlv<'a>(r: &mut crate::codec::Reader<'a>) -> Result<Option<TlvRef<'a>>, BerError> {
    if !r.any_left() {
        return Ok(None);
    }
    let input = r.remaining();
    let (tlv, rest) = TlvRef::read(input)?;
    r.take(input.len() - rest.len());
    Ok(Some(tlv))
}

/// Appends identifier, shortest definite length and contents.
pub fn write_tlv(id: Identifier, value: &[u8], out: &mut Vec<u8>) -> Result<(), BerError> {
    id.write(out)?;
    write_length(value.len(), out)?;
    out.extend_from_slice(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn long_form_tags_match_ansi41_table() {
        let enc = |tag| {
            let mut v = Vec::new();
            Identifier::context(tag).write(&mut v).unwrap();
            v
        };
        assert_eq!(enc(8), [0x88]);
        assert_eq!(enc(93), [0x9F, 0x5D]);
        assert_eq!(enc(128), [0x9F, 0x81, 0x00]);
        assert_eq!(enc(193), [0x9F, 0x81, 0x41]);
        assert_eq!(enc(242), [0x9F, 0x81, 0x72]);
        assert_eq!(enc(390), [0x9F, 0x83, 0x06]);
        assert_eq!(
            Identifier::read(&[0x9F, 0x83, 0x06]).unwrap(),
            (Identifier::context(390), 3)
        );
        assert_eq!(Identifier::private(true, 9).short_octet(), Some(0xE9));
    }

    #[test]
    fn lengths() {
        let enc = |n| {
            let mut v = Vec::new();
            write_length(n, &mut v).unwrap();
            v
        };
        assert_eq!(enc(5), [5]);
        assert_eq!(enc(127), [0x7F]);
        assert_eq!(enc(128), [0x81, 0x80]);
        assert_eq!(enc(300), [0x82, 0x01, 0x2C]);
        assert_eq!(read_length(&[0x82, 0x01, 0x2C]).unwrap(), (300, 3));
        assert_eq!(read_length(&[0x80]), Err(BerError::IndefiniteLength));
        assert!(matches!(
            read_length(&[0x82, 0x01]),
            Err(BerError::Truncated { .. })
        ));
    }

    #[test]
    fn nested_writes_fill_in_short_and_long_lengths() {
        for n in [0usize, 5, 127, 128, 300, 70_000] {
            let mut out = vec![0xAA];
            write_nested::<BerError>(Identifier::private(true, 8), &mut out, |o| {
                o.extend(std::iter::repeat_n(7, n));
                Ok(())
            })
            .unwrap();
            let mut flat = vec![0xAA];
            write_tlv(Identifier::private(true, 8), &vec![7; n], &mut flat).unwrap();
            assert_eq!(out, flat, "{n} octets");
        }
        let mut r = crate::codec::Reader::new(&[0x88, 0x01, 0x05, 0x89, 0x00]);
        assert_eq!(next_tlv(&mut r).unwrap().unwrap().value, [5]);
        assert_eq!(
            next_tlv(&mut r).unwrap().unwrap().id,
            Identifier::context(9)
        );
        assert_eq!(next_tlv(&mut r).unwrap(), None);
        let mut r = crate::codec::Reader::new(&[0x88, 0x05, 0x05]);
        assert!(next_tlv(&mut r).is_err());
        assert_eq!(r.left(), 3, "nothing consumed on error");
    }

    #[test]
    fn contents_overrun_is_an_error() {
        assert!(matches!(
            TlvRef::read(&[0x88, 0x05, 0x12]),
            Err(BerError::Truncated {
                what: "contents",
                ..
            })
        ));
        assert_eq!(
            Identifier::read(&[0x9F, 0x80, 0x01]),
            Err(BerError::NonMinimalTag)
        );
        assert_eq!(
            Identifier::read(&[0x9F, 0x05]),
            Err(BerError::NonMinimalTag)
        );
    }

    fn arb_id() -> impl Strategy<Value = Identifier> {
        (0u8..4, any::<bool>(), 0u32..=Identifier::MAX_TAG).prop_map(|(c, k, t)| Identifier {
            class: Class::from_bits(c << 6),
            constructed: k,
            tag: t,
        })
    }

    proptest! {
        #[test]
        fn tlv_round_trip(id in arb_id(), value in proptest::collection::vec(any::<u8>(), 0..300)) {
            let t = Tlv::new(id, value);
            let bytes = t.encode().unwrap();
            prop_assert_eq!(Tlv::decode(&bytes).unwrap(), t);
        }

        #[test]
        fn reading_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Reader::new(&bytes).collect_owned();
            let _ = Tlv::decode(&bytes);
        }
    }
}

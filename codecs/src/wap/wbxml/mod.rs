//! WBXML 1.3 (WAP-192-WBXML) for three document types: Service Indication 1.0 (public ID 0x05),
//! Service Loading 1.0 (0x06) and OMA Client Provisioning PROV 1.0 (0x0B).
//!
//! A document is `version (1) | publicid (mb_u_int32) | charset (mb_u_int32) | strtbl length
//! (mb_u_int32) | strtbl | body`. We write version 0x03, the known public ID, charset 0x6A
//! (UTF-8) and an empty string table; every string is inline (STR_I).
//!
//! Global tokens: 00 SWITCH_PAGE, 01 END, 02 ENTITY, 03 STR_I, 04 LITERAL, 40-42 EXT_I, 43 PI,
//! 80-82 EXT_T, 83 STR_T, C0-C2 EXT, C3 OPAQUE. A tag token | 0x40 has content, | 0x80 has
//! attributes. An attribute start token may carry a value prefix (`0C` = `href="http://"`),
//! and attribute value tokens (0x80 and above) stand for strings (`85` = `.com/` in SI and SL).
//!
//! | document | tags | attribute starts | attribute values |
//! |---|---|---|---|
//! | SI | 05 si, 06 indication, 07 info, 08 item | 05-09 action=signal-none/-low/-medium/-high/delete, 0A created, 0B href, 0C-0F href=http://, http://www., https://, https://www., 10 si-expires, 11 si-id, 12 class | 85 .com/, 86 .edu/, 87 .net/, 88 .org/ |
//! | SL | 05 sl | 05-07 action=execute-low/execute-high/cache, 08 href, 09-0C href prefixes as SI | as SI |
//! | PROV | 05 wap-provisioningdoc, 06 characteristic, 07 parm | 05 name, 06 value, 07-3F name=NAME..., 45 version, 46 version=1.0, 50 type, 51-5B type=PXLOGICAL... | 85 IPV4 ... (whole values only) |
//!
//! The full PROV tables are [`PROV_ATTR_STARTS`] and [`PROV_ATTR_VALUES`] (code page 0; code
//! page 1 is understood when decoding).
//!
//! Dates (`created`, `si-expires`) are OPAQUE: BCD `YYYY MM DD hh mm ss` with trailing zero
//! octets dropped ([`DateTime`]); a date given as an ISO 8601 string is accepted when decoding.
//!
//! Decoding accepts WBXML 1.0-1.3, a literal public identifier from the string table, STR_T
//! references, ENTITY, LITERAL tag and attribute names, code page switches and the charsets
//! UTF-8, US-ASCII and ISO-8859-1. It refuses EXT and PI tokens, unknown tokens, nesting deeper
//! than 32 elements and documents of another type, each with a clear [`WbxmlError`]. Unknown
//! attributes of a known element are ignored, as is the `info` element of an SI.
//!
//! | file | job |
//! |---|---|
//! | `tokens.rs` | global tokens, tag and attribute code spaces, the SI, SL and PROV code pages, each document type's `Vocabulary` |
//! | `decoder.rs` | generic decoder: bytes to an element tree, for any `Vocabulary` |
//! | `encoder.rs` | generic encoder: element by element, code pages switched as needed |
//! | `xml.rs` | the XML form (`to_xml`) |
//! | `si.rs`, `sl.rs`, `prov.rs` | the three documents: tree to type, type to tokens, and their XML |
//!
//! Another WBXML application (OMA DM's SyncML code pages) is another `Vocabulary` in
//! `tokens.rs` and a document file beside these; the decoder and encoder need no change.

mod decoder;
mod encoder;
mod prov;
mod si;
mod sl;
mod tokens;
mod xml;

use thiserror::Error;

pub use prov::{Characteristic, Parm, ProvisioningDoc};
pub use si::{DateTime, ServiceIndication, SiAction};
pub use sl::{ServiceLoading, SlAction};
pub use tokens::{
    CHARSET_UTF8, PROV_ATTR_STARTS, PROV_ATTR_VALUES, PUBLIC_ID_PROV, PUBLIC_ID_SI, PUBLIC_ID_SL,
    VERSION,
};

use decoder::Element;
use tokens::Vocabulary;

/// A WBXML document that cannot be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WbxmlError {
    /// The input ended inside a field.
    #[error("WBXML: input ends inside {0}")]
    Truncated(&'static str),
    /// An mb_u_int32 longer than 5 octets or above 32 bits.
    #[error("WBXML: multi-byte integer in {0} exceeds 32 bits")]
    IntegerOverflow(&'static str),
    /// A version other than 1.0-1.3.
    #[error("WBXML: version 0x{0:02X} not supported (1.0 to 1.3 are)")]
    UnsupportedVersion(u8),
    /// A public identifier of a document type not handled here.
    #[error("WBXML: public identifier {0} is not SI 1.0, SL 1.0 or PROV 1.0")]
    UnknownPublicId(String),
    /// A charset other than UTF-8, US-ASCII or ISO-8859-1.
    #[error("WBXML: charset MIBenum {0} not supported")]
    UnsupportedCharset(u32),
    /// A string table reference outside the table or not NUL-terminated.
    #[error("WBXML: string table reference {0} is invalid")]
    BadStringReference(u32),
    /// A string that is not valid in its charset.
    #[error("WBXML: a string is not valid UTF-8")]
    BadString,
    /// A token with no meaning in its state and code page.
    #[error("WBXML: unknown {kind} token 0x{token:02X} on code page {page}")]
    UnknownToken {
        /// Tag, attribute start or attribute value.
        kind: &'static str,
        /// The code page in force.
        page: u8,
        /// The token.
        token: u8,
    },
    /// A token this decoder does not support (EXT_*, PI).
    #[error("WBXML: token 0x{0:02X} (extension or processing instruction) not supported")]
    UnsupportedToken(u8),
    /// An ENTITY that is not a Unicode scalar value.
    #[error("WBXML: entity {0} is not a character")]
    BadEntity(u32),
    /// An attribute value token before any attribute start.
    #[error("WBXML: attribute value without an attribute")]
    ValueWithoutAttribute,
    /// Elements nested deeper than this decoder allows.
    #[error("WBXML: elements nested deeper than 32")]
    TooDeep,
    /// Octets after the root element.
    #[error("WBXML: {0} octet(s) after the root element")]
    TrailingData(usize),
    /// The document is of another type than the one asked for.
    #[error("WBXML: expected a {expected} document, found {found}")]
    WrongDocument {
        /// The document type asked for.
        expected: &'static str,
        /// What the document is.
        found: &'static str,
    },
    /// An element where another was expected.
    #[error("WBXML: unexpected element <{found}> in <{parent}>")]
    UnexpectedElement {
        /// The element found.
        found: String,
        /// Its parent (or "document").
        parent: &'static str,
    },
    /// A required element or attribute is missing.
    #[error("WBXML: <{element}> lacks {what}")]
    Missing {
        /// The element.
        element: &'static str,
        /// The missing element or attribute.
        what: &'static str,
    },
    /// An attribute value that is not valid for its attribute.
    #[error("WBXML: {attribute}={value:?} is not valid")]
    BadAttributeValue {
        /// The attribute.
        attribute: &'static str,
        /// Its value (opaque data in hex).
        value: String,
    },
    /// A string to encode contains NUL, which WBXML strings cannot carry.
    #[error("WBXML: string to encode contains NUL")]
    NulInString,
    /// A date out of range for encoding.
    #[error("WBXML: date {0} is out of range")]
    BadDate(String),
}

/// The document types handled here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentType {
    /// Service Indication 1.0.
    Si,
    /// Service Loading 1.0.
    Sl,
    /// OMA Client Provisioning 1.0.
    Prov,
}

impl DocumentType {
    const ALL: [Self; 3] = [Self::Si, Self::Sl, Self::Prov];

    /// The public identifier code.
    pub fn public_id(self) -> u32 {
        self.vocabulary().public_id
    }

    /// The formal public identifier.
    pub fn fpi(self) -> &'static str {
        self.vocabulary().fpi
    }

    /// Its identity and code pages.
    fn vocabulary(self) -> &'static Vocabulary {
        match self {
            Self::Si => &tokens::SI,
            Self::Sl => &tokens::SL,
            Self::Prov => &tokens::PROV,
        }
    }

    /// The document types the decoder recognises, with their vocabularies.
    fn known() -> [(Self, &'static Vocabulary); 3] {
        Self::ALL.map(|t| (t, t.vocabulary()))
    }
}

/// Decodes a document that must be of type `want`.
fn parse_as(data: &[u8], want: DocumentType) -> Result<Element, WbxmlError> {
    let (doc, root) = decoder::parse(data, &DocumentType::known())?;
    if doc != want {
        return Err(WbxmlError::WrongDocument {
            expected: want.vocabulary().name,
            found: doc.vocabulary().name,
        });
    }
    Ok(root)
}

/// A decoded document of any of the three types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// Service Indication.
    Si(ServiceIndication),
    /// Service Loading.
    Sl(ServiceLoading),
    /// OMA Client Provisioning.
    Prov(ProvisioningDoc),
}

impl Document {
    /// Decodes a document, its type taken from the public identifier.
    pub fn decode(data: &[u8]) -> Result<Self, WbxmlError> {
        let (doc, root) = decoder::parse(data, &DocumentType::known())?;
        Ok(match doc {
            DocumentType::Si => Self::Si(ServiceIndication::from_tree(&root)?),
            DocumentType::Sl => Self::Sl(ServiceLoading::from_tree(&root)?),
            DocumentType::Prov => Self::Prov(ProvisioningDoc::from_tree(&root)?),
        })
    }

    /// Encodes the document.
    pub fn encode(&self) -> Result<Vec<u8>, WbxmlError> {
        match self {
            Self::Si(d) => d.encode(),
            Self::Sl(d) => d.encode(),
            Self::Prov(d) => d.encode(),
        }
    }

    /// The document as XML.
    pub fn to_xml(&self) -> String {
        match self {
            Self::Si(d) => d.to_xml(),
            Self::Sl(d) => d.to_xml(),
            Self::Prov(d) => d.to_xml(),
        }
    }
}

/// Values and strategies shared by the tests of the document files.
#[cfg(test)]
mod test_values {
    use super::DateTime;
    use proptest::prelude::*;

    pub(super) fn date() -> DateTime {
        DateTime {
            year: 2024,
            month: 1,
            day: 15,
            hour: 10,
            minute: 30,
            second: 0,
        }
    }

    pub(super) fn text() -> impl Strategy<Value = String> {
        "[ -~é€]{1,30}"
    }

    pub(super) fn datetime() -> impl Strategy<Value = DateTime> {
        (0u16..=9999, 1u8..=12, 1u8..=31, 0u8..24, 0u8..60, 0u8..60).prop_map(
            |(year, month, day, hour, minute, second)| DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
            },
        )
    }

    pub(super) fn url() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                Just(""),
                Just("http://"),
                Just("http://www."),
                Just("https://"),
                Just("https://www.")
            ],
            "[a-z.]{0,10}",
            prop_oneof![Just(""), Just(".com/"), Just(".org/"), Just(".net/x.edu/")],
            "[a-z/?=&]{0,10}",
        )
            .prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::test_values::date;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn errors() {
        let sl = ServiceLoading {
            href: "http://x/".into(),
            action: SlAction::Cache,
        }
        .encode()
        .unwrap();
        assert_eq!(
            ServiceIndication::decode(&sl),
            Err(WbxmlError::WrongDocument {
                expected: "SI",
                found: "SL"
            })
        );
        assert_eq!(
            ServiceLoading::decode(&[0x03, 0x09, 0x6A, 0x00, 0x05]),
            Err(WbxmlError::UnknownPublicId("0x09".into()))
        );
        assert_eq!(
            ServiceLoading::decode(&[0x03, 0x06, 0x6A, 0x00, 0x85, 0x08, 0x03, b'x']),
            Err(WbxmlError::Truncated("inline string"))
        );
        assert_eq!(
            ServiceLoading::decode(&[0x03, 0x06, 0x6A, 0x00, 0x05]),
            Err(WbxmlError::Missing {
                element: "sl",
                what: "the href attribute"
            })
        );
        assert_eq!(
            ServiceLoading::decode(&[0x03, 0x06, 0x6A, 0x00, 0x85, 0x30, 0x01]),
            Err(WbxmlError::UnknownToken {
                kind: "attribute start",
                page: 0,
                token: 0x30
            })
        );
        let mut deep = vec![0x03, 0x0B, 0x6A, 0x00];
        deep.extend_from_slice(&[0x45; 100]);
        assert_eq!(ProvisioningDoc::decode(&deep), Err(WbxmlError::TooDeep));
        let nul = ServiceLoading {
            href: "http://a\0".into(),
            action: SlAction::Cache,
        };
        assert_eq!(nul.encode(), Err(WbxmlError::NulInString));
    }

    #[test]
    fn document_types() {
        for (t, id, fpi) in [
            (
                DocumentType::Si,
                PUBLIC_ID_SI,
                "-//WAPFORUM//DTD SI 1.0//EN",
            ),
            (
                DocumentType::Sl,
                PUBLIC_ID_SL,
                "-//WAPFORUM//DTD SL 1.0//EN",
            ),
            (
                DocumentType::Prov,
                PUBLIC_ID_PROV,
                "-//WAPFORUM//DTD PROV 1.0//EN",
            ),
        ] {
            assert_eq!(t.public_id(), id);
            assert_eq!(t.fpi(), fpi);
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Document::decode(&bytes);
        }

        #[test]
        fn decode_of_damaged_documents_never_panics(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
            cut in any::<usize>()) {
            let si = ServiceIndication {
                href: Some("http://www.example.com/a".into()),
                created: Some(date()),
                text: Some("t".into()),
                ..Default::default()
            };
            let mut b = si.encode().unwrap();
            for (i, v) in flips {
                let n = b.len();
                b[i % n] ^= v;
            }
            b.truncate(cut % (b.len() + 1));
            let _ = Document::decode(&b);
        }
    }
}

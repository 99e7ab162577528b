//! MMC documents: otagw's profile of IOTA, IS-683 messages carried in XML over HTTP
//! (docs/iota.md).
//!
//! One document is one `mmc` element:
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <mmc version="1.0" session="k3J9..." seq="3">
//!   <next href="/iota/s/k3J9..."/>
//!   <is683 dir="fwd">CAEAAPsB...</is683>
//! </mmc>
//! ```
//!
//! | item | meaning |
//! |---|---|
//! | `mmc@version` | profile version; `1.0` is written, any `1.x` is read |
//! | `mmc@session` | session token (optional: absent on bootstrap errors) |
//! | `mmc@seq` | sequence number, a decimal `u32` from 1 (optional) |
//! | `next@href` | where the handset POSTs its answer (gateway documents) |
//! | `is683@dir` | `fwd` or `rev`; the text is one IS-683 message in standard base64 |
//! | `terminate@action` | `reboot` or `none`: end of session |
//! | `error@code` | the gateway refused a request; the text is the reason |
//!
//! A document carries exactly one body: one or more `is683` elements all in the same direction,
//! or one `terminate`, or one `error` (with no other child at all). The IS-683 octets stay opaque
//! here; [`crate::is683`] decodes them.
//!
//! Decoding is tolerant of layout: indentation, comments, processing instructions, unknown
//! attributes and unknown child elements (skipped with their content) are accepted, and
//! whitespace inside the base64 text is ignored. The `error` reason is trimmed of surrounding
//! whitespace. Anything else that is wrong is a typed [`MmcError`]; decoding never panics.
//!
//! Encoding writes the XML declaration, two-space indentation and escapes `&`, `<`, `>`, `"`,
//! `'` and (in attributes) tab, CR and LF, so `decode(encode(d)) == d` for every document whose
//! strings are XML characters, whose `error` reason has no surrounding whitespace and whose
//! message list is not empty.

use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use thiserror::Error;

/// The HTTP content type of every MMC document.
pub const CONTENT_TYPE: &str = "application/vnd.otagw.mmc+xml";

/// The profile version written in `mmc@version`.
pub const VERSION: &str = "1.0";

/// The largest document body the IOTA server accepts (64 KiB); larger bodies get `413`.
pub const MAX_DOCUMENT_SIZE: usize = 64 * 1024;

/// The `error@code` values of docs/iota.md.
pub mod error_code {
    /// 400: no or two identity headers, or a malformed identity.
    pub const BAD_REQUEST: &str = "bad-request";
    /// 400: not XML, not an `mmc` document, bad base64.
    pub const MALFORMED_DOCUMENT: &str = "malformed-document";
    /// 400: an `is683` element that does not decode as an IS-683 reverse message.
    pub const UNDECODABLE_IS683: &str = "undecodable-is683";
    /// 404: no profile for the ESN/MEID.
    pub const UNKNOWN_DEVICE: &str = "unknown-device";
    /// 404: no session with that token.
    pub const UNKNOWN_SESSION: &str = "unknown-session";
    /// 409: bootstrap from a handset whose profile is already activated.
    pub const ALREADY_ACTIVATED: &str = "already-activated";
    /// 409: the reverse message does not answer the outstanding request, or `seq` is ahead.
    pub const UNEXPECTED_RESPONSE: &str = "unexpected-response";
    /// 410: the session has already ended.
    pub const SESSION_ENDED: &str = "session-ended";
    /// 413: body over [`super::MAX_DOCUMENT_SIZE`].
    pub const TOO_LARGE: &str = "too-large";
}

/// Which way the IS-683 messages of a document go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `fwd`: gateway (OTAF) to handset, IS-683 forward messages (requests).
    Forward,
    /// `rev`: handset to gateway, IS-683 reverse messages (responses).
    Reverse,
}

impl Direction {
    /// The `dir` attribute value: `fwd` or `rev`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Forward => "fwd",
            Direction::Reverse => "rev",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "fwd" => Some(Direction::Forward),
            "rev" => Some(Direction::Reverse),
            _ => None,
        }
    }
}

/// What the handset does when the session ends (`terminate@action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TerminateAction {
    /// `reboot`: release the data call and restart with the committed settings.
    Reboot,
    /// `none`: just end the session.
    None,
}

impl TerminateAction {
    /// The `action` attribute value: `reboot` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            TerminateAction::Reboot => "reboot",
            TerminateAction::None => "none",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "reboot" => Some(TerminateAction::Reboot),
            "none" => Some(TerminateAction::None),
            _ => None,
        }
    }
}

/// The one body of a document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MmcBody {
    /// `is683` elements: IS-683 messages (raw octets), all in one direction, in order.
    Messages {
        /// `fwd` or `rev`.
        direction: Direction,
        /// The messages, OTASP_MSG_TYPE first (at least one in a valid document).
        messages: Vec<Vec<u8>>,
    },
    /// `terminate`: end of session.
    Terminate(TerminateAction),
    /// `error`: the gateway refused the request.
    Error {
        /// `error@code` (see [`error_code`]).
        code: String,
        /// The element's text: a human-readable reason.
        reason: String,
    },
}

/// One MMC document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MmcDocument {
    /// `mmc@session`: the session token.
    pub session: Option<String>,
    /// `mmc@seq`: the gateway's sequence number, or the one the handset answers.
    pub seq: Option<u32>,
    /// `next@href`: where the handset POSTs its answer.
    pub next: Option<String>,
    /// The body.
    pub body: MmcBody,
}

/// Why an MMC document could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MmcError {
    /// The input is not well-formed XML (or not UTF-8).
    #[error("MMC: not well-formed XML: {reason}")]
    NotXml {
        /// What the XML parser reported.
        reason: String,
    },
    /// The root element is not `mmc`.
    #[error("MMC: the root element is <{found}>, not <mmc>")]
    NotMmc {
        /// The root element's name (empty when there is no element at all).
        found: String,
    },
    /// `mmc@version` is not a 1.x version.
    #[error("MMC: unsupported profile version {version:?} (this is version 1.0)")]
    UnsupportedVersion {
        /// The version given.
        version: String,
    },
    /// A required attribute is absent.
    #[error("MMC: <{element}> has no {attribute} attribute")]
    MissingAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
    },
    /// An attribute has a value outside those it may take (`dir`, `action`).
    #[error("MMC: <{element}> {attribute}={value:?} is not one of {allowed}")]
    BadAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
        /// The value found.
        value: String,
        /// The values allowed.
        allowed: &'static str,
    },
    /// `mmc@seq` is not a decimal number from 1 to 4294967295.
    #[error("MMC: seq={value:?} is not a number from 1 to 4294967295")]
    BadSeq {
        /// The value found.
        value: String,
    },
    /// An `is683` element's text is not standard base64.
    #[error("MMC: <is683> number {index} (from 0) is not valid base64: {reason}")]
    BadBase64 {
        /// Position of the element among the `is683` elements, from 0.
        index: usize,
        /// What the base64 decoder reported.
        reason: String,
    },
    /// An `is683` element carries no octets.
    #[error("MMC: <is683> number {index} (from 0) is empty")]
    EmptyMessage {
        /// Position of the element among the `is683` elements, from 0.
        index: usize,
    },
    /// `is683` elements with both `fwd` and `rev`.
    #[error("MMC: <is683> elements in both directions in one document")]
    MixedDirections,
    /// Children that cannot go together (e.g. `terminate` with `is683`, two `next`).
    #[error("MMC: {reason}")]
    Conflicting {
        /// What conflicts.
        reason: &'static str,
    },
    /// No `is683`, `terminate` or `error` child.
    #[error("MMC: the document has no <is683>, <terminate> or <error> element")]
    Empty,
}

impl From<quick_xml::Error> for MmcError {
    fn from(e: quick_xml::Error) -> Self {
        MmcError::NotXml {
            reason: e.to_string(),
        }
    }
}

impl From<quick_xml::events::attributes::AttrError> for MmcError {
    fn from(e: quick_xml::events::attributes::AttrError) -> Self {
        MmcError::NotXml {
            reason: e.to_string(),
        }
    }
}

impl From<quick_xml::encoding::EncodingError> for MmcError {
    fn from(e: quick_xml::encoding::EncodingError) -> Self {
        MmcError::NotXml {
            reason: e.to_string(),
        }
    }
}

impl MmcDocument {
    /// A gateway document: forward messages, the session, its `seq` and where to answer.
    pub fn forward(session: &str, seq: u32, next: &str, messages: Vec<Vec<u8>>) -> Self {
        Self {
            session: Some(session.to_owned()),
            seq: Some(seq),
            next: Some(next.to_owned()),
            body: MmcBody::Messages {
                direction: Direction::Forward,
                messages,
            },
        }
    }

    /// A handset document: reverse messages answering document `seq` of `session`.
    pub fn reverse(session: &str, seq: u32, messages: Vec<Vec<u8>>) -> Self {
        Self {
            session: Some(session.to_owned()),
            seq: Some(seq),
            next: None,
            body: MmcBody::Messages {
                direction: Direction::Reverse,
                messages,
            },
        }
    }

    /// The end of session `session`, document `seq`.
    pub fn terminate(session: &str, seq: u32, action: TerminateAction) -> Self {
        Self {
            session: Some(session.to_owned()),
            seq: Some(seq),
            next: None,
            body: MmcBody::Terminate(action),
        }
    }

    /// An error document: no session, no `seq`, only the `error` element.
    pub fn error(code: &str, reason: &str) -> Self {
        Self {
            session: None,
            seq: None,
            next: None,
            body: MmcBody::Error {
                code: code.to_owned(),
                reason: reason.to_owned(),
            },
        }
    }

    /// The document as XML text, with the XML declaration.
    pub fn encode(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<mmc version=\"");
        out.push_str(VERSION);
        out.push('"');
        if let Some(session) = &self.session {
            out.push_str(" session=\"");
            escape_into(&mut out, session, true);
            out.push('"');
        }
        if let Some(seq) = self.seq {
            // Writing to a String cannot fail.
            let _ = write!(out, " seq=\"{seq}\"");
        }
        out.push_str(">\n");
        if let Some(next) = &self.next {
            out.push_str("  <next href=\"");
            escape_into(&mut out, next, true);
            out.push_str("\"/>\n");
        }
        match &self.body {
            MmcBody::Messages {
                direction,
                messages,
            } => {
                for m in messages {
                    out.push_str("  <is683 dir=\"");
                    out.push_str(direction.as_str());
                    out.push_str("\">");
                    STANDARD.encode_string(m, &mut out);
                    out.push_str("</is683>\n");
                }
            }
            MmcBody::Terminate(action) => {
                out.push_str("  <terminate action=\"");
                out.push_str(action.as_str());
                out.push_str("\"/>\n");
            }
            MmcBody::Error { code, reason } => {
                out.push_str("  <error code=\"");
                escape_into(&mut out, code, true);
                out.push_str("\">");
                escape_into(&mut out, reason, false);
                out.push_str("</error>\n");
            }
        }
        out.push_str("</mmc>\n");
        out
    }

    /// Decodes a document from octets (UTF-8). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, MmcError> {
        let text = std::str::from_utf8(bytes).map_err(|e| MmcError::NotXml {
            reason: format!("not UTF-8: {e}"),
        })?;
        Self::decode_str(text)
    }

    /// Decodes a document from text. Never panics.
    pub fn decode_str(text: &str) -> Result<Self, MmcError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = Reader::from_str(text);
        let root = loop {
            match reader.read_event()? {
                Event::Start(e) => break e,
                Event::Empty(e) => {
                    // `<mmc/>` or `<other/>`: no children either way.
                    check_root(&e)?;
                    return Err(MmcError::Empty);
                }
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
                Event::Text(t) => {
                    if !is_blank(&t.decode()?) {
                        return Err(MmcError::NotXml {
                            reason: "text before the root element".into(),
                        });
                    }
                }
                Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(MmcError::NotXml {
                        reason: "content before the root element".into(),
                    })
                }
                Event::End(_) => {
                    return Err(MmcError::NotXml {
                        reason: "end tag before the root element".into(),
                    })
                }
                Event::Eof => {
                    return Err(MmcError::NotMmc {
                        found: String::new(),
                    })
                }
            }
        };
        let (session, seq) = check_root(&root)?;

        let mut next: Option<String> = None;
        let mut messages: Vec<(Direction, Vec<u8>)> = Vec::new();
        let mut terminate: Option<TerminateAction> = None;
        let mut error: Option<(String, String)> = None;
        let mut children = 0usize;

        loop {
            let (element, is_empty) = match reader.read_event()? {
                Event::Start(e) => (e, false),
                Event::Empty(e) => (e, true),
                Event::End(_) => break,
                Event::Eof => {
                    return Err(MmcError::NotXml {
                        reason: "the document ends inside <mmc>".into(),
                    })
                }
                // Text, comments and the like between the children are layout.
                _ => continue,
            };
            let name = element.name().as_ref().to_vec();
            match name.as_slice() {
                b"next" => {
                    children += 1;
                    if next.is_some() {
                        return Err(MmcError::Conflicting {
                            reason: "more than one <next> element",
                        });
                    }
                    next = Some(required_attr(&element, "next", "href")?);
                    if !is_empty {
                        reader.read_to_end(element.name())?;
                    }
                }
                b"is683" => {
                    children += 1;
                    let dir = required_attr(&element, "is683", "dir")?;
                    let direction =
                        Direction::parse(&dir).ok_or_else(|| MmcError::BadAttribute {
                            element: "is683",
                            attribute: "dir",
                            value: dir.clone(),
                            allowed: "fwd, rev",
                        })?;
                    let text = if is_empty {
                        String::new()
                    } else {
                        read_text(&mut reader, "is683")?
                    };
                    let index = messages.len();
                    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                    let octets =
                        STANDARD
                            .decode(compact.as_bytes())
                            .map_err(|e| MmcError::BadBase64 {
                                index,
                                reason: e.to_string(),
                            })?;
                    if octets.is_empty() {
                        return Err(MmcError::EmptyMessage { index });
                    }
                    messages.push((direction, octets));
                }
                b"terminate" => {
                    children += 1;
                    if terminate.is_some() {
                        return Err(MmcError::Conflicting {
                            reason: "more than one <terminate> element",
                        });
                    }
                    let action = required_attr(&element, "terminate", "action")?;
                    terminate = Some(TerminateAction::parse(&action).ok_or_else(|| {
                        MmcError::BadAttribute {
                            element: "terminate",
                            attribute: "action",
                            value: action.clone(),
                            allowed: "reboot, none",
                        }
                    })?);
                    if !is_empty {
                        reader.read_to_end(element.name())?;
                    }
                }
                b"error" => {
                    children += 1;
                    if error.is_some() {
                        return Err(MmcError::Conflicting {
                            reason: "more than one <error> element",
                        });
                    }
                    let code = required_attr(&element, "error", "code")?;
                    let reason = if is_empty {
                        String::new()
                    } else {
                        read_text(&mut reader, "error")?
                    };
                    error = Some((code, trim_xml_space(&reason).to_owned()));
                }
                _ => {
                    // An element this profile does not define: skipped with its content.
                    if !is_empty {
                        reader.read_to_end(element.name())?;
                    }
                }
            }
        }
        expect_only_misc_after_root(&mut reader)?;

        let body = if let Some((code, reason)) = error {
            if children > 1 {
                return Err(MmcError::Conflicting {
                    reason: "<error> must be the only child of <mmc>",
                });
            }
            MmcBody::Error { code, reason }
        } else if let Some(action) = terminate {
            if !messages.is_empty() {
                return Err(MmcError::Conflicting {
                    reason: "<terminate> together with <is683> elements",
                });
            }
            MmcBody::Terminate(action)
        } else if let Some((direction, _)) = messages.first() {
            let direction = *direction;
            if messages.iter().any(|(d, _)| *d != direction) {
                return Err(MmcError::MixedDirections);
            }
            MmcBody::Messages {
                direction,
                messages: messages.into_iter().map(|(_, m)| m).collect(),
            }
        } else {
            return Err(MmcError::Empty);
        };
        Ok(Self {
            session,
            seq,
            next,
            body,
        })
    }
}

/// Checks the root element's name and version; returns `session` and `seq`.
fn check_root(root: &BytesStart<'_>) -> Result<(Option<String>, Option<u32>), MmcError> {
    if root.name().as_ref() != b"mmc" {
        return Err(MmcError::NotMmc {
            found: String::from_utf8_lossy(root.name().as_ref()).into_owned(),
        });
    }
    let version = required_attr(root, "mmc", "version")?;
    if !version_supported(&version) {
        return Err(MmcError::UnsupportedVersion { version });
    }
    let session = attr(root, "session")?;
    let seq = match attr(root, "seq")? {
        None => None,
        Some(s) => Some(parse_seq(&s).ok_or(MmcError::BadSeq { value: s })?),
    };
    Ok((session, seq))
}

/// `1`, `1.0`, `1.1` ...: same major version.
fn version_supported(v: &str) -> bool {
    match v.strip_prefix('1') {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('.')
            .is_some_and(|minor| !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

/// A decimal `u32` from 1, digits only (no sign, no spaces).
fn parse_seq(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().filter(|n| *n >= 1)
}

/// The normalized, unescaped value of attribute `name`, if present.
fn attr(element: &BytesStart<'_>, name: &str) -> Result<Option<String>, MmcError> {
    for a in element.attributes() {
        let a = a?;
        if a.key.as_ref() == name.as_bytes() {
            return Ok(Some(
                a.normalized_value(XmlVersion::Explicit1_0)?.into_owned(),
            ));
        }
    }
    Ok(None)
}

fn required_attr(
    element: &BytesStart<'_>,
    element_name: &'static str,
    attribute: &'static str,
) -> Result<String, MmcError> {
    attr(element, attribute)?.ok_or(MmcError::MissingAttribute {
        element: element_name,
        attribute,
    })
}

/// Reads the text content of the element just opened, up to its end tag. Character and
/// predefined entity references are resolved; comments are skipped; a child element is an error.
fn read_text(reader: &mut Reader<&[u8]>, element: &'static str) -> Result<String, MmcError> {
    let mut text = String::new();
    loop {
        match reader.read_event()? {
            Event::Text(t) => text.push_str(&t.xml10_content()?),
            Event::CData(c) => text.push_str(&c.xml10_content()?),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref()? {
                    text.push(c);
                } else {
                    let name = r.decode()?;
                    match quick_xml::escape::resolve_xml_entity(&name) {
                        Some(s) => text.push_str(s),
                        None => {
                            return Err(MmcError::NotXml {
                                reason: format!("unknown entity &{name}; in <{element}>"),
                            })
                        }
                    }
                }
            }
            Event::End(_) => return Ok(text),
            Event::Comment(_) | Event::PI(_) => {}
            Event::Start(_) | Event::Empty(_) => {
                return Err(MmcError::NotXml {
                    reason: format!("an element inside <{element}>, which holds text only"),
                })
            }
            Event::Eof => {
                return Err(MmcError::NotXml {
                    reason: format!("the document ends inside <{element}>"),
                })
            }
            Event::Decl(_) | Event::DocType(_) => {
                return Err(MmcError::NotXml {
                    reason: format!("a declaration inside <{element}>"),
                })
            }
        }
    }
}

/// After the root element only comments, processing instructions and whitespace may follow.
fn expect_only_misc_after_root(reader: &mut Reader<&[u8]>) -> Result<(), MmcError> {
    loop {
        match reader.read_event()? {
            Event::Eof => return Ok(()),
            Event::Comment(_) | Event::PI(_) => {}
            Event::Text(t) if is_blank(&t.decode()?) => {}
            _ => {
                return Err(MmcError::NotXml {
                    reason: "content after the root element".into(),
                })
            }
        }
    }
}

fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

fn trim_xml_space(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// Appends `s` escaped for XML text, or for a double-quoted attribute value when `attribute`
/// (where tab, CR and LF become character references so that attribute normalization keeps them).
fn escape_into(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    const HAND_WRITTEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<mmc version="1.0" session="k3J9abcdefghijklmnopqrstuvwxyz_-" seq="3">
  <next href="/iota/s/k3J9abcdefghijklmnopqrstuvwxyz_-"/>
  <is683 dir="fwd">BgI=</is683>
</mmc>
"#;

    #[test]
    fn hand_written_document_decodes() {
        let d = MmcDocument::decode(HAND_WRITTEN.as_bytes()).unwrap();
        assert_eq!(
            d.session.as_deref(),
            Some("k3J9abcdefghijklmnopqrstuvwxyz_-")
        );
        assert_eq!(d.seq, Some(3));
        assert_eq!(
            d.next.as_deref(),
            Some("/iota/s/k3J9abcdefghijklmnopqrstuvwxyz_-")
        );
        assert_eq!(
            d.body,
            MmcBody::Messages {
                direction: Direction::Forward,
                messages: vec![vec![0x06, 0x02]],
            }
        );
        // Our encoder writes exactly this layout.
        assert_eq!(d.encode(), HAND_WRITTEN);
    }

    #[test]
    fn encodes_known_vectors() {
        let d = MmcDocument::reverse("tok", 7, vec![vec![0x05, 0x00], vec![0x08]]);
        assert_eq!(
            d.encode(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<mmc version=\"1.0\" session=\"tok\" seq=\"7\">\n  <is683 dir=\"rev\">BQA=</is683>\n  <is683 dir=\"rev\">CA==</is683>\n</mmc>\n"
        );
        let t = MmcDocument::terminate("tok", 9, TerminateAction::Reboot);
        assert!(t
            .encode()
            .contains("<mmc version=\"1.0\" session=\"tok\" seq=\"9\">\n  <terminate action=\"reboot\"/>\n</mmc>"));
        let e = MmcDocument::error(
            error_code::UNKNOWN_DEVICE,
            "no profile for ESN <1A2B3C4D> & \"x\"",
        );
        assert_eq!(
            e.encode(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<mmc version=\"1.0\">\n  <error code=\"unknown-device\">no profile for ESN &lt;1A2B3C4D&gt; &amp; &quot;x&quot;</error>\n</mmc>\n"
        );
        assert_eq!(MmcDocument::decode(e.encode().as_bytes()).unwrap(), e);
    }

    #[test]
    fn tolerates_layout_unknown_attributes_and_elements() {
        let doc = "\u{feff}<!-- hello --><?pi x?>\r\n<mmc   seq = '12' xmlns:x=\"urn:x\" version='1.1' extra=\"y\">\
            <!-- c --><x:ext a=\"1\"><deep><deeper/></deep></x:ext>\n\t<is683 dir='rev' foo='bar'>\n  Bg\n  I=\n</is683>\
            <is683 dir=\"rev\"><![CDATA[BQA=]]></is683></mmc>\n<!-- trailing -->\n";
        let d = MmcDocument::decode_str(doc).unwrap();
        assert_eq!(d.session, None);
        assert_eq!(d.seq, Some(12));
        assert_eq!(
            d.body,
            MmcBody::Messages {
                direction: Direction::Reverse,
                messages: vec![vec![6, 2], vec![5, 0]],
            }
        );
    }

    #[test]
    fn error_reason_is_unescaped_and_trimmed() {
        let doc = "<mmc version=\"1.0\">\n  <error code=\"unknown-session\">\n    no session &#x41;&amp;B\n  </error>\n</mmc>";
        let d = MmcDocument::decode_str(doc).unwrap();
        assert_eq!(
            d.body,
            MmcBody::Error {
                code: "unknown-session".into(),
                reason: "no session A&B".into()
            }
        );
    }

    fn err(doc: &str) -> MmcError {
        MmcDocument::decode_str(doc).unwrap_err()
    }

    #[test]
    fn rejects_each_malformed_case() {
        assert!(matches!(err(""), MmcError::NotMmc { found } if found.is_empty()));
        assert!(matches!(err("not xml at all"), MmcError::NotXml { .. }));
        assert!(matches!(
            err("<mmc version=\"1.0\"><is683 dir=\"fwd\">BgI=</is683>"),
            MmcError::NotXml { .. }
        ));
        assert!(matches!(
            err("<mmc version=\"1.0\"><a></b></mmc>"),
            MmcError::NotXml { .. }
        ));
        assert!(matches!(
            MmcDocument::decode(b"<mmc version=\"1.0\">\xff</mmc>").unwrap_err(),
            MmcError::NotXml { .. }
        ));
        assert_eq!(
            err("<html version=\"1.0\"/>"),
            MmcError::NotMmc {
                found: "html".into()
            }
        );
        assert_eq!(
            err("<mmc><terminate action=\"none\"/></mmc>"),
            MmcError::MissingAttribute {
                element: "mmc",
                attribute: "version"
            }
        );
        assert_eq!(
            err("<mmc version=\"2.0\"><terminate action=\"none\"/></mmc>"),
            MmcError::UnsupportedVersion {
                version: "2.0".into()
            }
        );
        assert!(matches!(
            err("<mmc version=\"10\"/>"),
            MmcError::UnsupportedVersion { .. }
        ));
        for seq in ["0", "-1", "x", "", " 3", "4294967296", "+3"] {
            assert_eq!(
                err(&format!(
                    "<mmc version=\"1.0\" seq=\"{seq}\"><terminate action=\"none\"/></mmc>"
                )),
                MmcError::BadSeq { value: seq.into() },
                "seq {seq:?}"
            );
        }
        assert_eq!(
            err("<mmc version=\"1.0\"><is683 dir=\"fwd\">BgI=</is683><is683 dir=\"fwd\">B*I=</is683></mmc>"),
            MmcError::BadBase64 { index: 1, reason: err_reason("B*I=") }
        );
        assert!(matches!(
            err("<mmc version=\"1.0\"><is683 dir=\"fwd\">BgI</is683></mmc>"),
            MmcError::BadBase64 { index: 0, .. }
        ));
        assert_eq!(
            err("<mmc version=\"1.0\"><is683 dir=\"fwd\"/></mmc>"),
            MmcError::EmptyMessage { index: 0 }
        );
        assert_eq!(
            err("<mmc version=\"1.0\"><is683>BgI=</is683></mmc>"),
            MmcError::MissingAttribute {
                element: "is683",
                attribute: "dir"
            }
        );
        assert!(matches!(
            err("<mmc version=\"1.0\"><is683 dir=\"up\">BgI=</is683></mmc>"),
            MmcError::BadAttribute {
                element: "is683",
                attribute: "dir",
                ..
            }
        ));
        assert_eq!(
            err("<mmc version=\"1.0\"><is683 dir=\"fwd\">BgI=</is683><is683 dir=\"rev\">BgI=</is683></mmc>"),
            MmcError::MixedDirections
        );
        assert_eq!(
            err("<mmc version=\"1.0\"><next/><terminate action=\"none\"/></mmc>"),
            MmcError::MissingAttribute {
                element: "next",
                attribute: "href"
            }
        );
        assert_eq!(
            err("<mmc version=\"1.0\"><terminate/></mmc>"),
            MmcError::MissingAttribute {
                element: "terminate",
                attribute: "action"
            }
        );
        assert!(matches!(
            err("<mmc version=\"1.0\"><terminate action=\"halt\"/></mmc>"),
            MmcError::BadAttribute {
                element: "terminate",
                ..
            }
        ));
        assert_eq!(
            err("<mmc version=\"1.0\"><error>x</error></mmc>"),
            MmcError::MissingAttribute {
                element: "error",
                attribute: "code"
            }
        );
        assert!(matches!(
            err("<mmc version=\"1.0\"><terminate action=\"none\"/><is683 dir=\"fwd\">BgI=</is683></mmc>"),
            MmcError::Conflicting { .. }
        ));
        assert!(matches!(
            err("<mmc version=\"1.0\"><error code=\"x\">y</error><next href=\"/a\"/></mmc>"),
            MmcError::Conflicting { .. }
        ));
        assert!(matches!(
            err("<mmc version=\"1.0\"><next href=\"/a\"/><next href=\"/b\"/><terminate action=\"none\"/></mmc>"),
            MmcError::Conflicting { .. }
        ));
        assert_eq!(
            err("<mmc version=\"1.0\"><next href=\"/a\"/></mmc>"),
            MmcError::Empty
        );
        assert_eq!(err("<mmc version=\"1.0\"/>"), MmcError::Empty);
        assert!(matches!(
            err("<mmc version=\"1.0\"><terminate action=\"none\"/></mmc><mmc version=\"1.0\"/>"),
            MmcError::NotXml { .. }
        ));
        assert!(matches!(
            err("<mmc version=\"1.0\"><is683 dir=\"fwd\">Bg<b/>I=</is683></mmc>"),
            MmcError::NotXml { .. }
        ));
        assert!(matches!(
            err("<mmc version=\"1.0\"><error code=\"x\">&bogus;</error></mmc>"),
            MmcError::NotXml { .. }
        ));
        assert!(matches!(
            err("<mmc version=\"1.0\" version=\"1.0\"><terminate action=\"none\"/></mmc>"),
            MmcError::NotXml { .. }
        ));
    }

    fn err_reason(b64: &str) -> String {
        STANDARD.decode(b64).unwrap_err().to_string()
    }

    #[test]
    fn decode_never_panics_on_truncations_of_a_valid_document() {
        let full = MmcDocument::forward("s", 1, "/iota/s/s", vec![vec![1, 2, 3]]).encode();
        for i in 0..full.len() {
            let _ = MmcDocument::decode(&full.as_bytes()[..i]);
        }
    }

    /// Strings made of XML characters, including the ones that need escaping.
    fn xml_string() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just('&'),
                Just('<'),
                Just('>'),
                Just('"'),
                Just('\''),
                Just('\t'),
                Just('\n'),
                Just('\r'),
                Just(' '),
                Just('é'),
                Just('\u{10000}'),
                proptest::char::range('!', '~')
            ],
            0..24,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    fn document() -> impl Strategy<Value = MmcDocument> {
        let messages = (
            prop_oneof![Just(Direction::Forward), Just(Direction::Reverse)],
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..64), 1..4),
        )
            .prop_map(|(direction, messages)| MmcBody::Messages {
                direction,
                messages,
            });
        let body = prop_oneof![
            messages,
            prop_oneof![Just(TerminateAction::Reboot), Just(TerminateAction::None)]
                .prop_map(MmcBody::Terminate),
            (xml_string(), xml_string()).prop_map(|(code, reason)| MmcBody::Error {
                code,
                reason: trim_xml_space(&reason).to_owned()
            }),
        ];
        (
            proptest::option::of(xml_string()),
            proptest::option::of(1..=u32::MAX),
            proptest::option::of(xml_string()),
            body,
        )
            .prop_map(|(session, seq, next, body)| {
                let next = if matches!(body, MmcBody::Error { .. }) {
                    None
                } else {
                    next
                };
                MmcDocument {
                    session,
                    seq,
                    next,
                    body,
                }
            })
    }

    proptest! {
        #[test]
        fn round_trips(d in document()) {
            let text = d.encode();
            prop_assert_eq!(MmcDocument::decode(text.as_bytes()).unwrap(), d);
        }

        #[test]
        fn decode_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = MmcDocument::decode(&bytes);
        }

        #[test]
        fn decode_is_total_on_mutated_documents(
            d in document(),
            edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut bytes = d.encode().into_bytes();
            for (at, b) in edits {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            let _ = MmcDocument::decode(&bytes);
        }
    }
}

//! The generic WBXML decoder: header, string table and body into an [`Element`] tree, for any
//! document type given as a [`Vocabulary`].
//!
//! It accepts WBXML 1.0-1.3, a literal public identifier from the string table, STR_T
//! references, ENTITY, LITERAL tag and attribute names, code page switches (tag and attribute
//! pages kept apart, as WAP-192-WBXML §5.8.4.1 says) and the charsets UTF-8, US-ASCII and
//! ISO-8859-1. It refuses EXT and PI tokens, unknown tokens, nesting deeper than [`MAX_DEPTH`]
//! elements and trailing octets.

use super::tokens::{
    GlobalToken, Vocabulary, ATTR_VALUE_FIRST, CHARSET_ISO_8859_1, CHARSET_UNKNOWN,
    CHARSET_US_ASCII, CHARSET_UTF8, PUBLIC_ID_LITERAL, TAG_HAS_ATTRIBUTES, TAG_HAS_CONTENT, TAG_ID,
    VERSION,
};
use super::WbxmlError;
use crate::wap::wsp::{decode_uintvar, WspError};

/// The deepest element nesting decoded (and encoded).
pub(crate) const MAX_DEPTH: usize = 32;

/// A piece of an attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Text (inline, from the string table, an entity or a value token).
    Text(String),
    /// OPAQUE data.
    Opaque(Vec<u8>),
}

/// A piece of element content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Content {
    /// A child element.
    Element(Element),
    /// Text.
    Text(String),
    /// OPAQUE data (skipped).
    Opaque,
}

/// An element of the decoded tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    /// Its name.
    pub(crate) name: String,
    /// Its attributes in order: name and value pieces.
    pub(crate) attributes: Vec<(String, Vec<Part>)>,
    /// Its content in order.
    pub(crate) content: Vec<Content>,
}

/// Octets as lower-case hex, for errors about opaque data.
pub(crate) fn hex(octets: &[u8]) -> String {
    octets.iter().map(|b| format!("{b:02x}")).collect()
}

impl Element {
    /// The value pieces of attribute `name`.
    pub(crate) fn attribute(&self, name: &str) -> Option<&[Part]> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// An attribute as a string (OPAQUE data is not a string).
    pub(crate) fn text_attribute(&self, name: &'static str) -> Result<Option<String>, WbxmlError> {
        let Some(parts) = self.attribute(name) else {
            return Ok(None);
        };
        let mut s = String::new();
        for p in parts {
            match p {
                Part::Text(t) => s.push_str(t),
                Part::Opaque(o) => {
                    return Err(WbxmlError::BadAttributeValue {
                        attribute: name,
                        value: hex(o),
                    })
                }
            }
        }
        Ok(Some(s))
    }

    /// An attribute whose text is one of a set of values (`parse` says which), or `None` when
    /// absent.
    pub(crate) fn parsed_attribute<T>(
        &self,
        name: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, WbxmlError> {
        match self.text_attribute(name)? {
            None => Ok(None),
            Some(s) => parse(&s).map(Some).ok_or(WbxmlError::BadAttributeValue {
                attribute: name,
                value: s,
            }),
        }
    }

    /// The child elements.
    pub(crate) fn children(&self) -> impl Iterator<Item = &Element> {
        self.content.iter().filter_map(|c| match c {
            Content::Element(e) => Some(e),
            _ => None,
        })
    }

    /// Fails unless this (root) element is named `name`.
    pub(crate) fn expect_root(&self, name: &'static str) -> Result<(), WbxmlError> {
        if self.name == name {
            Ok(())
        } else {
            Err(WbxmlError::UnexpectedElement {
                found: self.name.clone(),
                parent: "document",
            })
        }
    }
}

/// Reads an mb_u_int32 (the same encoding as WSP's uintvar) at `*pos`.
fn read_mb(data: &[u8], pos: &mut usize, what: &'static str) -> Result<u32, WbxmlError> {
    let rest = data.get(*pos..).unwrap_or(&[]);
    let (value, len) = decode_uintvar(rest).map_err(|e| match e {
        WspError::UintvarOverflow(_) => WbxmlError::IntegerOverflow(what),
        _ => WbxmlError::Truncated(what),
    })?;
    *pos += len;
    Ok(value)
}

fn decode_string(bytes: &[u8], latin1: bool) -> Result<String, WbxmlError> {
    if latin1 {
        Ok(bytes.iter().map(|&b| char::from(b)).collect())
    } else {
        String::from_utf8(bytes.to_vec()).map_err(|_| WbxmlError::BadString)
    }
}

fn table_string(strtbl: &[u8], index: u32, latin1: bool) -> Result<String, WbxmlError> {
    let start = index as usize;
    let tail = strtbl
        .get(start..)
        .ok_or(WbxmlError::BadStringReference(index))?;
    let end = tail
        .iter()
        .position(|&b| b == 0)
        .ok_or(WbxmlError::BadStringReference(index))?;
    decode_string(&tail[..end], latin1)
}

/// How a document names its type: a public identifier code, or a formal public identifier
/// from the string table.
enum PublicId {
    Code(u32),
    Literal(String),
}

/// Reads a document whose type is one of `known`: which one it is, and its root element.
pub(crate) fn parse<K: Copy>(
    data: &[u8],
    known: &[(K, &'static Vocabulary)],
) -> Result<(K, Element), WbxmlError> {
    let mut pos = 0;
    let version = *data.first().ok_or(WbxmlError::Truncated("version"))?;
    pos += 1;
    if version > VERSION {
        return Err(WbxmlError::UnsupportedVersion(version));
    }
    let public_id = read_mb(data, &mut pos, "public identifier")?;
    let literal = if public_id == PUBLIC_ID_LITERAL {
        Some(read_mb(data, &mut pos, "public identifier index")?)
    } else {
        None
    };
    // WBXML 1.0 has no charset field.
    let charset = if version == 0x00 {
        CHARSET_UTF8
    } else {
        read_mb(data, &mut pos, "charset")?
    };
    let latin1 = match charset {
        CHARSET_UNKNOWN | CHARSET_US_ASCII | CHARSET_UTF8 => false,
        CHARSET_ISO_8859_1 => true,
        other => return Err(WbxmlError::UnsupportedCharset(other)),
    };
    let len = read_mb(data, &mut pos, "string table length")? as usize;
    let strtbl = data
        .get(pos..)
        .and_then(|t| t.get(..len))
        .ok_or(WbxmlError::Truncated("string table"))?;
    pos += len;
    let id = match literal {
        Some(index) => PublicId::Literal(table_string(strtbl, index, latin1)?),
        None => PublicId::Code(public_id),
    };
    let (key, vocabulary) = known
        .iter()
        .find(|(_, v)| match &id {
            PublicId::Code(code) => v.public_id == *code,
            PublicId::Literal(fpi) => v.fpi == fpi,
        })
        .copied()
        .ok_or_else(|| {
            WbxmlError::UnknownPublicId(match id {
                PublicId::Code(code) => format!("0x{code:02X}"),
                PublicId::Literal(fpi) => fpi,
            })
        })?;
    let mut d = Decoder {
        data,
        pos,
        strtbl,
        latin1,
        vocabulary,
        tag_page: 0,
        attr_page: 0,
    };
    let root = d.element(0)?;
    if d.pos < data.len() {
        return Err(WbxmlError::TrailingData(data.len() - d.pos));
    }
    Ok((key, root))
}

/// The body reader: a cursor and the code pages in force.
struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    strtbl: &'a [u8],
    latin1: bool,
    vocabulary: &'static Vocabulary,
    tag_page: u8,
    attr_page: u8,
}

impl Decoder<'_> {
    fn u8(&mut self, what: &'static str) -> Result<u8, WbxmlError> {
        let b = *self.data.get(self.pos).ok_or(WbxmlError::Truncated(what))?;
        self.pos += 1;
        Ok(b)
    }

    fn peek(&self, what: &'static str) -> Result<u8, WbxmlError> {
        self.data
            .get(self.pos)
            .copied()
            .ok_or(WbxmlError::Truncated(what))
    }

    fn mb(&mut self, what: &'static str) -> Result<u32, WbxmlError> {
        read_mb(self.data, &mut self.pos, what)
    }

    fn inline_string(&mut self) -> Result<String, WbxmlError> {
        let tail = self.data.get(self.pos..).unwrap_or(&[]);
        let end = tail
            .iter()
            .position(|&b| b == 0)
            .ok_or(WbxmlError::Truncated("inline string"))?;
        self.pos += end + 1;
        decode_string(&tail[..end], self.latin1)
    }

    fn table_ref(&mut self) -> Result<String, WbxmlError> {
        let index = self.mb("string table reference")?;
        table_string(self.strtbl, index, self.latin1)
    }

    fn entity(&mut self) -> Result<String, WbxmlError> {
        let code = self.mb("entity")?;
        char::from_u32(code)
            .map(String::from)
            .ok_or(WbxmlError::BadEntity(code))
    }

    fn opaque(&mut self) -> Result<Vec<u8>, WbxmlError> {
        let len = self.mb("opaque length")? as usize;
        let tail = self.data.get(self.pos..).unwrap_or(&[]);
        if tail.len() < len {
            return Err(WbxmlError::Truncated("opaque data"));
        }
        self.pos += len;
        Ok(tail[..len].to_vec())
    }

    /// The text or opaque data after a STR_I, STR_T, ENTITY or OPAQUE token (already read).
    fn data_token(&mut self, token: GlobalToken) -> Result<Part, WbxmlError> {
        Ok(match token {
            GlobalToken::StrI => Part::Text(self.inline_string()?),
            GlobalToken::StrT => Part::Text(self.table_ref()?),
            GlobalToken::Entity => Part::Text(self.entity()?),
            _ => Part::Opaque(self.opaque()?),
        })
    }

    fn element(&mut self, depth: usize) -> Result<Element, WbxmlError> {
        if depth > MAX_DEPTH {
            return Err(WbxmlError::TooDeep);
        }
        let mut token = self.u8("tag")?;
        while GlobalToken::from_wire(token) == Some(GlobalToken::SwitchPage) {
            self.tag_page = self.u8("code page")?;
            token = self.u8("tag")?;
        }
        let id = token & TAG_ID;
        let name = match GlobalToken::from_wire(id) {
            Some(GlobalToken::Literal) => self.table_ref()?,
            // The other global tokens of the low range (SWITCH_PAGE, END, ENTITY, STR_I, and
            // with the flag bits EXT_*, PI, STR_T, OPAQUE) cannot start an element.
            Some(_) => {
                return Err(WbxmlError::UnknownToken {
                    kind: "tag",
                    page: self.tag_page,
                    token,
                })
            }
            None => self
                .vocabulary
                .tag_name(self.tag_page, id)
                .map(str::to_owned)
                .ok_or(WbxmlError::UnknownToken {
                    kind: "tag",
                    page: self.tag_page,
                    token: id,
                })?,
        };
        let mut el = Element {
            name,
            attributes: Vec::new(),
            content: Vec::new(),
        };
        if token & TAG_HAS_ATTRIBUTES != 0 {
            self.attributes(&mut el)?;
        }
        if token & TAG_HAS_CONTENT != 0 {
            self.content(&mut el, depth)?;
        }
        Ok(el)
    }

    fn content(&mut self, el: &mut Element, depth: usize) -> Result<(), WbxmlError> {
        loop {
            let token = self.peek("element content")?;
            match GlobalToken::from_wire(token) {
                Some(GlobalToken::End) => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(GlobalToken::SwitchPage) => {
                    self.pos += 1;
                    self.tag_page = self.u8("code page")?;
                }
                Some(
                    g @ (GlobalToken::StrI
                    | GlobalToken::StrT
                    | GlobalToken::Entity
                    | GlobalToken::Opaque),
                ) => {
                    self.pos += 1;
                    el.content.push(match self.data_token(g)? {
                        Part::Text(s) => Content::Text(s),
                        Part::Opaque(_) => Content::Opaque,
                    });
                }
                Some(g) if g.is_extension_or_pi() => {
                    return Err(WbxmlError::UnsupportedToken(token))
                }
                // A tag token, or a LITERAL_* tag.
                _ => {
                    let child = self.element(depth + 1)?;
                    el.content.push(Content::Element(child));
                }
            }
        }
    }

    fn attributes(&mut self, el: &mut Element) -> Result<(), WbxmlError> {
        loop {
            let token = self.u8("attribute")?;
            let value = match GlobalToken::from_wire(token) {
                Some(GlobalToken::End) => return Ok(()),
                Some(GlobalToken::SwitchPage) => {
                    self.attr_page = self.u8("code page")?;
                    continue;
                }
                Some(GlobalToken::Literal) => {
                    let name = self.table_ref()?;
                    el.attributes.push((name, Vec::new()));
                    continue;
                }
                Some(
                    g @ (GlobalToken::StrI
                    | GlobalToken::StrT
                    | GlobalToken::Entity
                    | GlobalToken::Opaque),
                ) => self.data_token(g)?,
                Some(g) if g.is_extension_or_pi() => {
                    return Err(WbxmlError::UnsupportedToken(token))
                }
                // An attribute start token (LITERAL_C is not one on any page we know).
                _ if token < ATTR_VALUE_FIRST => {
                    let (name, prefix) = self.vocabulary.attr_start(self.attr_page, token).ok_or(
                        WbxmlError::UnknownToken {
                            kind: "attribute start",
                            page: self.attr_page,
                            token,
                        },
                    )?;
                    let mut parts = Vec::new();
                    if !prefix.is_empty() {
                        parts.push(Part::Text(prefix.to_owned()));
                    }
                    el.attributes.push((name.to_owned(), parts));
                    continue;
                }
                // An attribute value token (nor are LITERAL_A and LITERAL_AC).
                _ => Part::Text(
                    self.vocabulary
                        .attr_value(self.attr_page, token)
                        .ok_or(WbxmlError::UnknownToken {
                            kind: "attribute value",
                            page: self.attr_page,
                            token,
                        })?
                        .to_owned(),
                ),
            };
            el.attributes
                .last_mut()
                .ok_or(WbxmlError::ValueWithoutAttribute)?
                .1
                .push(value);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::super::{ServiceLoading, SlAction};
    use super::*;

    #[test]
    fn tolerant_decoding() {
        // Literal public ID, string table, STR_T, LITERAL attribute name, ENTITY, page switch.
        let fpi = b"-//WAPFORUM//DTD SL 1.0//EN\0";
        let mut b = vec![0x02, 0x00, 0x00, 0x6A];
        let mut table = fpi.to_vec();
        let url_at = table.len() as u8;
        table.extend_from_slice(b"http://a.b/\0");
        b.push(table.len() as u8);
        b.extend_from_slice(&table);
        b.extend_from_slice(&[0x00, 0x00, 0x85, 0x08, 0x83, url_at, 0x02, 0x7A, 0x06, 0x01]);
        let sl = ServiceLoading::decode(&b).unwrap();
        assert_eq!(sl.href, "http://a.b/z");
        assert_eq!(sl.action, SlAction::ExecuteHigh);
    }

    #[test]
    fn mb_u_int32() {
        let mut pos = 1;
        assert_eq!(read_mb(&[9, 0x81, 0x20, 7], &mut pos, "x"), Ok(0xA0));
        assert_eq!(pos, 3);
        let mut pos = 0;
        assert_eq!(
            read_mb(&[0x81, 0x81], &mut pos, "x"),
            Err(WbxmlError::Truncated("x"))
        );
        assert_eq!(
            read_mb(&[0x90, 0x80, 0x80, 0x80, 0x00], &mut pos, "x"),
            Err(WbxmlError::IntegerOverflow("x"))
        );
        assert_eq!(
            read_mb(&[0x81, 0x81, 0x81, 0x81, 0x81, 0x01], &mut pos, "x"),
            Err(WbxmlError::IntegerOverflow("x"))
        );
        assert_eq!(pos, 0);
        let mut pos = 5;
        assert_eq!(
            read_mb(&[0], &mut pos, "x"),
            Err(WbxmlError::Truncated("x"))
        );
    }

    /// The tree, generically: LITERAL tag names, text and opaque content, page switches in both
    /// states, ISO-8859-1 strings.
    #[test]
    fn generic_tree() {
        let b = [
            0x03, 0x0B, 0x04, 0x03, b'x', b'y', 0x00, // PROV, ISO-8859-1, table "xy"
            0x45, // <wap-provisioningdoc>
            0x44, 0x00, // LITERAL_C <xy>
            0x03, 0xE9, 0x00, 0xC3, 0x01, 0xFF, 0x01, // "é", OPAQUE, </xy>
            0x00, 0x01, 0x86, // page 1, <characteristic attributes>
            0x00, 0x01, 0x55, 0x00, 0x00, 0x85, 0x01, // type="APPLICATION", page 0, IPV4
            0x01, // </wap-provisioningdoc>
        ];
        let prov = &super::super::tokens::PROV;
        let ((), root) = parse(&b, &[((), prov)]).unwrap();
        assert_eq!(root.name, "wap-provisioningdoc");
        let xy = &root.content[0];
        assert_eq!(
            xy,
            &Content::Element(Element {
                name: "xy".into(),
                attributes: vec![],
                content: vec![Content::Text("é".into()), Content::Opaque],
            })
        );
        let c = root.children().nth(1).unwrap();
        assert_eq!(c.name, "characteristic");
        assert_eq!(
            c.text_attribute("type").unwrap().as_deref(),
            Some("APPLICATIONIPV4")
        );
    }

    #[test]
    fn token_errors() {
        let prov = &super::super::tokens::PROV;
        let doc = |body: &[u8]| {
            let mut b = vec![0x03, 0x0B, 0x6A, 0x00];
            b.extend_from_slice(body);
            parse(&b, &[((), prov)]).map(|(_, e)| e)
        };
        assert_eq!(
            doc(&[0x45, 0x43, 0x01]),
            Err(WbxmlError::UnsupportedToken(0x43))
        );
        assert_eq!(
            doc(&[0x85, 0xC0, 0x01]),
            Err(WbxmlError::UnsupportedToken(0xC0))
        );
        assert_eq!(
            doc(&[0x83, 0x01]),
            Err(WbxmlError::UnknownToken {
                kind: "tag",
                page: 0,
                token: 0x83
            })
        );
        assert_eq!(
            doc(&[0x85, 0x44, 0x01]),
            Err(WbxmlError::UnknownToken {
                kind: "attribute start",
                page: 0,
                token: 0x44
            })
        );
        assert_eq!(
            doc(&[0x85, 0xC4, 0x01]),
            Err(WbxmlError::UnknownToken {
                kind: "attribute value",
                page: 0,
                token: 0xC4
            })
        );
        assert_eq!(
            doc(&[0x85, 0x85, 0x01]),
            Err(WbxmlError::ValueWithoutAttribute)
        );
        assert_eq!(doc(&[0x05, 0x01]), Err(WbxmlError::TrailingData(1)));
        assert_eq!(
            doc(&[0x45, 0x02, 0x90, 0x80, 0x80, 0x00, 0x01]),
            Err(WbxmlError::BadEntity(0x0200_0000))
        );
    }
}

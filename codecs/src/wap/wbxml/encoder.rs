//! The generic WBXML encoder, for any document type given as a [`Vocabulary`].
//!
//! It writes version 1.3, the public identifier code, charset UTF-8 and an empty string table;
//! every string is inline (STR_I). Tags and attribute starts are looked up on the code page in
//! force, and a SWITCH_PAGE is written only when that page cannot express them. An attribute
//! value is written with the start token carrying the longest prefix of it, then, for
//! vocabularies whose value tokens stand for substrings, value tokens wherever they match.

use super::tokens::{
    GlobalToken, ValueTokens, Vocabulary, CHARSET_UTF8, TAG_HAS_ATTRIBUTES, TAG_HAS_CONTENT,
    VERSION,
};
use super::WbxmlError;
use crate::wap::wsp::write_uintvar;

/// Writes one document, token by token.
pub(crate) struct Encoder {
    out: Vec<u8>,
    vocabulary: &'static Vocabulary,
    tag_page: u8,
    attr_page: u8,
}

impl Encoder {
    /// Starts a document: the header and an empty string table.
    pub(crate) fn new(vocabulary: &'static Vocabulary) -> Self {
        let mut out = vec![VERSION];
        write_uintvar(&mut out, vocabulary.public_id);
        write_uintvar(&mut out, CHARSET_UTF8);
        write_uintvar(&mut out, 0); // string table length
        Self {
            out,
            vocabulary,
            tag_page: 0,
            attr_page: 0,
        }
    }

    /// The finished document.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.out
    }

    fn global(&mut self, token: GlobalToken) {
        self.out.push(token.to_wire());
    }

    /// The tag of element `name`; attributes and then END must follow if `attrs`, content and
    /// then END if `content`.
    pub(crate) fn tag(&mut self, name: &str, attrs: bool, content: bool) -> Result<(), WbxmlError> {
        let (page, token) = self.vocabulary.tag_token(self.tag_page, name).ok_or(
            WbxmlError::UnexpectedElement {
                found: name.to_owned(),
                parent: "document",
            },
        )?;
        if page != self.tag_page {
            self.global(GlobalToken::SwitchPage);
            self.out.push(page);
            self.tag_page = page;
        }
        let mut token = token;
        if attrs {
            token |= TAG_HAS_ATTRIBUTES;
        }
        if content {
            token |= TAG_HAS_CONTENT;
        }
        self.out.push(token);
        Ok(())
    }

    /// An inline string (element content or part of an attribute value).
    pub(crate) fn text(&mut self, s: &str) -> Result<(), WbxmlError> {
        if s.as_bytes().contains(&0) {
            return Err(WbxmlError::NulInString);
        }
        self.global(GlobalToken::StrI);
        self.out.extend_from_slice(s.as_bytes());
        self.out.push(0);
        Ok(())
    }

    /// The start token of attribute `name` carrying the longest prefix of `value` it can;
    /// returns the rest of `value`.
    fn attr_start<'v>(
        &mut self,
        name: &'static str,
        value: &'v str,
    ) -> Result<&'v str, WbxmlError> {
        let (page, token, prefix) = self
            .vocabulary
            .attr_start_for(self.attr_page, name, value)
            .ok_or(WbxmlError::BadAttributeValue {
                attribute: name,
                value: value.to_owned(),
            })?;
        if page != self.attr_page {
            self.global(GlobalToken::SwitchPage);
            self.out.push(page);
            self.attr_page = page;
        }
        self.out.push(token);
        Ok(&value[prefix.len()..])
    }

    /// An attribute with a string value.
    pub(crate) fn attr(&mut self, name: &'static str, value: &str) -> Result<(), WbxmlError> {
        let mut rest = self.attr_start(name, value)?;
        match self.vocabulary.value_tokens {
            ValueTokens::Substrings => {
                while !rest.is_empty() {
                    let next = self
                        .vocabulary
                        .attr_values_on(self.attr_page)
                        .filter_map(|(t, v)| rest.find(v).map(|at| (at, t, v.len())))
                        .min_by_key(|(at, _, _)| *at);
                    match next {
                        Some((at, t, len)) => {
                            if at > 0 {
                                self.text(&rest[..at])?;
                            }
                            self.out.push(t);
                            rest = &rest[at + len..];
                        }
                        None => {
                            self.text(rest)?;
                            rest = "";
                        }
                    }
                }
            }
            ValueTokens::WholeValues if !rest.is_empty() => {
                let whole = self
                    .vocabulary
                    .attr_values_on(self.attr_page)
                    .find(|(_, v)| *v == rest)
                    .map(|(t, _)| t);
                match whole {
                    Some(t) => self.out.push(t),
                    None => self.text(rest)?,
                }
            }
            ValueTokens::WholeValues => {}
        }
        Ok(())
    }

    /// An attribute whose value is OPAQUE data.
    pub(crate) fn opaque_attr(
        &mut self,
        name: &'static str,
        data: &[u8],
    ) -> Result<(), WbxmlError> {
        self.attr_start(name, "")?;
        self.global(GlobalToken::Opaque);
        let len = u32::try_from(data.len()).map_err(|_| WbxmlError::BadAttributeValue {
            attribute: name,
            value: format!("{} octets of opaque data", data.len()),
        })?;
        write_uintvar(&mut self.out, len);
        self.out.extend_from_slice(data);
        Ok(())
    }

    /// END: of an attribute list or of an element's content.
    pub(crate) fn end(&mut self) {
        self.global(GlobalToken::End);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::super::decoder::{parse, Content, Part};
    use super::*;

    /// A made-up two-page vocabulary: page 1 holds `meta` and a second `doc`, and the only
    /// start token of `unit`.
    static TWO_PAGES: Vocabulary = Vocabulary {
        name: "TEST",
        public_id: 0x1201,
        fpi: "-//TEST//DTD Two Pages//EN",
        root: "doc",
        dtd: "test.dtd",
        tags: &[
            (0, 0x05, "doc"),
            (0, 0x06, "item"),
            (1, 0x05, "meta"),
            (1, 0x06, "doc"),
        ],
        attr_starts: &[(0, 0x05, "kind", ""), (1, 0x05, "unit", "b")],
        attr_values: &[(0, 0x85, "x"), (1, 0x85, "bytes")],
        value_tokens: ValueTokens::WholeValues,
    };

    #[test]
    fn switches_page_only_when_needed() {
        let mut e = Encoder::new(&TWO_PAGES);
        e.tag("doc", false, true).unwrap(); // page 0
        e.tag("meta", true, true).unwrap(); // needs page 1
        e.attr("unit", "bytes").unwrap(); // needs attribute page 1; "ytes" is no token
        e.end();
        e.tag("doc", true, false).unwrap(); // page 1 has a doc too: no switch
        e.attr("kind", "x").unwrap(); // back to attribute page 0
        e.end();
        e.end();
        e.tag("item", false, false).unwrap(); // page 0 again
        e.end();
        let b = e.finish();
        assert_eq!(
            b,
            [
                0x03, 0xA4, 0x01, 0x6A, 0x00, // header, public ID 0x1201
                0x45, // <doc>
                0x00, 0x01, 0xC5, // page 1, <meta
                0x00, 0x01, 0x05, 0x03, b'y', b't', b'e', b's', 0x00, 0x01, // unit="bytes">
                0x86, // <doc
                0x00, 0x00, 0x05, 0x85, 0x01, // kind="x"/>
                0x01, // </meta>
                0x00, 0x00, 0x06, // page 0, <item/>
                0x01, // </doc>
            ]
        );
        let ((), root) = parse(&b, &[((), &TWO_PAGES)]).unwrap();
        let names: Vec<_> = root.children().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["meta", "item"]);
        let meta = root.children().next().unwrap();
        assert_eq!(
            meta.attribute("unit"),
            Some(&[Part::Text("b".into()), Part::Text("ytes".into())][..])
        );
        let Content::Element(inner) = &meta.content[0] else {
            panic!("{meta:?}")
        };
        assert_eq!(inner.name, "doc");
        assert_eq!(inner.text_attribute("kind").unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn refusals() {
        let mut e = Encoder::new(&TWO_PAGES);
        assert_eq!(
            e.tag("nope", false, false),
            Err(WbxmlError::UnexpectedElement {
                found: "nope".into(),
                parent: "document"
            })
        );
        assert_eq!(
            e.attr("unit", "kb"),
            Err(WbxmlError::BadAttributeValue {
                attribute: "unit",
                value: "kb".into()
            })
        );
        assert_eq!(e.text("a\0b"), Err(WbxmlError::NulInString));
        e.opaque_attr("kind", &[1, 2]).unwrap();
        assert_eq!(&e.finish()[5..], [0x05, 0xC3, 0x02, 1, 2]);
    }
}

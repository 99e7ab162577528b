//! Service Loading 1.0 (WAP-168-SL): `<sl href="..." action="..."/>`.

use super::decoder::Element;
use super::encoder::Encoder;
use super::tokens::SL;
use super::{parse_as, xml, DocumentType, WbxmlError};
use crate::macros::wire_enum;

wire_enum! {
    /// The `action` of a Service Loading.
    #[derive(Default)]
    pub enum SlAction {
        /// execute-low (the default when the attribute is absent).
        #[default]
        ExecuteLow => "execute-low",
        /// execute-high.
        ExecuteHigh => "execute-high",
        /// cache: load into the cache only.
        Cache => "cache",
    }
}

/// A Service Loading (WAP-168): `<sl href="..." action="..."/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceLoading {
    /// The URI to load.
    pub href: String,
    /// What to do with it (always written; absent reads as execute-low).
    pub action: SlAction,
}

impl ServiceLoading {
    /// Encodes the document as WBXML.
    pub fn encode(&self) -> Result<Vec<u8>, WbxmlError> {
        let mut e = Encoder::new(&SL);
        e.tag("sl", true, false)?;
        e.attr("href", &self.href)?;
        e.attr("action", self.action.as_str())?;
        e.end();
        Ok(e.finish())
    }

    /// Decodes a WBXML SL document.
    pub fn decode(data: &[u8]) -> Result<Self, WbxmlError> {
        Self::from_tree(&parse_as(data, DocumentType::Sl)?)
    }

    pub(super) fn from_tree(root: &Element) -> Result<Self, WbxmlError> {
        root.expect_root(SL.root)?;
        if let Some(child) = root.children().next() {
            return Err(WbxmlError::UnexpectedElement {
                found: child.name.clone(),
                parent: "sl",
            });
        }
        let href = root.text_attribute("href")?.ok_or(WbxmlError::Missing {
            element: "sl",
            what: "the href attribute",
        })?;
        let action = root
            .parsed_attribute("action", SlAction::parse)?
            .unwrap_or_default();
        Ok(Self { href, action })
    }

    /// The document as XML, with declaration and DOCTYPE.
    pub fn to_xml(&self) -> String {
        format!(
            "{}<sl href=\"{}\" action=\"{}\"/>\n",
            xml::header(&SL),
            xml::escape(&self.href),
            self.action.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::super::test_values::url;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sl_vector() {
        let sl = ServiceLoading {
            href: "https://example.org/".into(),
            action: SlAction::ExecuteHigh,
        };
        let b = sl.encode().unwrap();
        assert_eq!(
            b,
            [
                0x03, 0x06, 0x6A, 0x00, 0x85, 0x0B, 0x03, b'e', b'x', b'a', b'm', b'p', b'l', b'e',
                0x00, 0x88, 0x06, 0x01
            ]
        );
        assert_eq!(ServiceLoading::decode(&b).unwrap(), sl);
    }

    /// The action's text form comes from one place and matches SL's attribute start tokens.
    #[test]
    fn actions() {
        assert_eq!(SlAction::default(), SlAction::ExecuteLow);
        for &a in SlAction::ALL {
            assert_eq!(SlAction::parse(a.as_str()), Some(a));
            assert!(SL
                .attr_starts
                .iter()
                .any(|(_, _, n, v)| *n == "action" && *v == a.as_str()));
        }
        // Absent, the action is execute-low.
        let b = [0x03, 0x06, 0x6A, 0x00, 0x85, 0x08, 0x03, b'x', 0x00, 0x01];
        assert_eq!(
            ServiceLoading::decode(&b).unwrap().action,
            SlAction::ExecuteLow
        );
        assert_eq!(SlAction::Cache.to_string(), "cache");
    }

    proptest! {
        #[test]
        fn sl_round_trip(href in url(), action in prop_oneof![
            Just(SlAction::ExecuteLow), Just(SlAction::ExecuteHigh), Just(SlAction::Cache)]) {
            let sl = ServiceLoading { href, action };
            let b = sl.encode().unwrap();
            prop_assert_eq!(ServiceLoading::decode(&b).unwrap(), sl);
        }
    }
}

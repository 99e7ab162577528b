//! Service Indication 1.0 (WAP-167-SI): `<si><indication ...>text</indication></si>`, and the
//! OPAQUE date its `created` and `si-expires` attributes carry.
//!
//! A date is BCD `YYYY MM DD hh mm ss` with trailing zero octets dropped, so
//! `C3 06 20 24 01 15 10 30` is 2024-01-15T10:30:00Z. A date given as a string
//! (`2024-01-15T10:30:00Z`) is accepted when decoding. The `info` element is ignored.

use std::fmt::Write as _;

use super::decoder::{hex, Content, Element, Part};
use super::encoder::Encoder;
use super::tokens::SI;
use super::{parse_as, xml, DocumentType, WbxmlError};
use crate::macros::wire_enum;

/// A date and time in UTC, as SI carries it (`created`, `si-expires`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    /// Year, 0-9999.
    pub year: u16,
    /// Month, 1-12.
    pub month: u8,
    /// Day, 1-31.
    pub day: u8,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Second, 0-59.
    pub second: u8,
}

impl DateTime {
    fn valid(&self) -> bool {
        self.year <= 9999
            && (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }

    /// The BCD octets of SI's OPAQUE date, trailing zero octets dropped (4 to 7 octets).
    pub fn to_bcd(&self) -> Result<Vec<u8>, WbxmlError> {
        if !self.valid() {
            return Err(WbxmlError::BadDate(self.to_iso()));
        }
        let bcd = |v: u8| ((v / 10) << 4) | (v % 10);
        let mut out = vec![
            bcd((self.year / 100) as u8),
            bcd((self.year % 100) as u8),
            bcd(self.month),
            bcd(self.day),
            bcd(self.hour),
            bcd(self.minute),
            bcd(self.second),
        ];
        while out.len() > 4 && out.last() == Some(&0) {
            out.pop();
        }
        Ok(out)
    }

    /// Reads SI's OPAQUE date (1 to 7 BCD octets; missing trailing octets are zero).
    pub fn from_bcd(octets: &[u8]) -> Result<Self, WbxmlError> {
        let bad = || WbxmlError::BadAttributeValue {
            attribute: "date",
            value: hex(octets),
        };
        if octets.is_empty() || octets.len() > 7 {
            return Err(bad());
        }
        let mut d = [0u8; 7];
        for (i, &b) in octets.iter().enumerate() {
            let (hi, lo) = (b >> 4, b & 0x0F);
            if hi > 9 || lo > 9 {
                return Err(bad());
            }
            d[i] = hi * 10 + lo;
        }
        let t = Self {
            year: u16::from(d[0]) * 100 + u16::from(d[1]),
            month: d[2],
            day: d[3],
            hour: d[4],
            minute: d[5],
            second: d[6],
        };
        if t.valid() {
            Ok(t)
        } else {
            Err(bad())
        }
    }

    /// `YYYY-MM-DDThh:mm:ssZ`.
    pub fn to_iso(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// Parses `YYYY-MM-DDThh:mm:ssZ`.
    pub fn from_iso(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let part = s.get(r)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let t = Self {
            year: num(0..4)?,
            month: num(5..7)? as u8,
            day: num(8..10)? as u8,
            hour: num(11..13)? as u8,
            minute: num(14..16)? as u8,
            second: num(17..19)? as u8,
        };
        t.valid().then_some(t)
    }
}

/// A date attribute: OPAQUE BCD or an ISO 8601 string.
fn date_attribute(el: &Element, name: &'static str) -> Result<Option<DateTime>, WbxmlError> {
    match el.attribute(name) {
        None => Ok(None),
        Some([Part::Opaque(o)]) => DateTime::from_bcd(o).map(Some),
        Some(_) => {
            let s = el.text_attribute(name)?.unwrap_or_default();
            DateTime::from_iso(&s)
                .map(Some)
                .ok_or(WbxmlError::BadAttributeValue {
                    attribute: name,
                    value: s,
                })
        }
    }
}

wire_enum! {
    /// The `action` of a Service Indication.
    #[derive(Default)]
    pub enum SiAction {
        /// signal-none: do not present.
        SignalNone => "signal-none",
        /// signal-low.
        SignalLow => "signal-low",
        /// signal-medium (the default when the attribute is absent).
        #[default]
        SignalMedium => "signal-medium",
        /// signal-high.
        SignalHigh => "signal-high",
        /// delete: remove the SI with the same si-id.
        Delete => "delete",
    }
}

/// A Service Indication (WAP-167): `<si><indication ...>text</indication></si>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceIndication {
    /// The URI the indication points to.
    pub href: Option<String>,
    /// The indication's identity (for replacement and deletion).
    pub si_id: Option<String>,
    /// When the content was created.
    pub created: Option<DateTime>,
    /// When the indication expires.
    pub si_expires: Option<DateTime>,
    /// How to present it (always written; absent reads as signal-medium).
    pub action: SiAction,
    /// The text shown to the user; `Some("")` is written as no text and reads back as `None`.
    pub text: Option<String>,
}

impl ServiceIndication {
    /// Encodes the document as WBXML.
    pub fn encode(&self) -> Result<Vec<u8>, WbxmlError> {
        let mut e = Encoder::new(&SI);
        e.tag("si", false, true)?;
        let text = self.text.as_deref().filter(|t| !t.is_empty());
        e.tag("indication", true, text.is_some())?;
        if let Some(href) = &self.href {
            e.attr("href", href)?;
        }
        if let Some(id) = &self.si_id {
            e.attr("si-id", id)?;
        }
        if let Some(d) = &self.created {
            e.opaque_attr("created", &d.to_bcd()?)?;
        }
        if let Some(d) = &self.si_expires {
            e.opaque_attr("si-expires", &d.to_bcd()?)?;
        }
        e.attr("action", self.action.as_str())?;
        e.end();
        if let Some(t) = text {
            e.text(t)?;
            e.end();
        }
        e.end();
        Ok(e.finish())
    }

    /// Decodes a WBXML SI document.
    pub fn decode(data: &[u8]) -> Result<Self, WbxmlError> {
        Self::from_tree(&parse_as(data, DocumentType::Si)?)
    }

    pub(super) fn from_tree(root: &Element) -> Result<Self, WbxmlError> {
        root.expect_root(SI.root)?;
        let mut indication = None;
        for child in root.children() {
            match child.name.as_str() {
                "indication" if indication.is_none() => indication = Some(child),
                "info" => {}
                _ => {
                    return Err(WbxmlError::UnexpectedElement {
                        found: child.name.clone(),
                        parent: "si",
                    })
                }
            }
        }
        let ind = indication.ok_or(WbxmlError::Missing {
            element: "si",
            what: "an indication element",
        })?;
        let action = ind
            .parsed_attribute("action", SiAction::parse)?
            .unwrap_or_default();
        let mut text = String::new();
        for c in &ind.content {
            match c {
                Content::Text(t) => text.push_str(t),
                Content::Opaque => {}
                Content::Element(e) => {
                    return Err(WbxmlError::UnexpectedElement {
                        found: e.name.clone(),
                        parent: "indication",
                    })
                }
            }
        }
        Ok(Self {
            href: ind.text_attribute("href")?,
            si_id: ind.text_attribute("si-id")?,
            created: date_attribute(ind, "created")?,
            si_expires: date_attribute(ind, "si-expires")?,
            action,
            text: (!text.is_empty()).then_some(text),
        })
    }

    /// The document as XML, with declaration and DOCTYPE (as `wbxml2xml` would show it).
    pub fn to_xml(&self) -> String {
        let mut x = xml::header(&SI);
        x.push_str("<si>\n  <indication");
        if let Some(h) = &self.href {
            let _ = write!(x, " href=\"{}\"", xml::escape(h));
        }
        if let Some(i) = &self.si_id {
            let _ = write!(x, " si-id=\"{}\"", xml::escape(i));
        }
        if let Some(d) = &self.created {
            let _ = write!(x, " created=\"{}\"", d.to_iso());
        }
        if let Some(d) = &self.si_expires {
            let _ = write!(x, " si-expires=\"{}\"", d.to_iso());
        }
        let _ = write!(x, " action=\"{}\"", self.action.as_str());
        match self.text.as_deref().filter(|t| !t.is_empty()) {
            Some(t) => {
                let _ = writeln!(x, ">{}</indication>", xml::escape(t));
            }
            None => x.push_str("/>\n"),
        }
        x.push_str("</si>\n");
        x
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::super::test_values::{date, datetime, text, url};
    use super::super::Document;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn date_vector() {
        assert_eq!(
            date().to_bcd().unwrap(),
            [0x20, 0x24, 0x01, 0x15, 0x10, 0x30]
        );
        assert_eq!(
            DateTime::from_bcd(&[0x20, 0x24, 0x01, 0x15, 0x10, 0x30]).unwrap(),
            date()
        );
        let midnight = DateTime {
            hour: 0,
            minute: 0,
            ..date()
        };
        assert_eq!(midnight.to_bcd().unwrap(), [0x20, 0x24, 0x01, 0x15]);
        assert_eq!(date().to_iso(), "2024-01-15T10:30:00Z");
        assert_eq!(DateTime::from_iso("2024-01-15T10:30:00Z"), Some(date()));
        assert_eq!(DateTime::from_iso("2024-13-15T10:30:00Z"), None);
        assert!(DateTime::from_bcd(&[0x20, 0x2A, 0x01, 0x15]).is_err());
    }

    #[test]
    fn si_vector() {
        let si = ServiceIndication {
            href: Some("http://www.example.com/x".into()),
            si_id: None,
            created: Some(date()),
            si_expires: None,
            action: SiAction::SignalHigh,
            text: Some("Hi".into()),
        };
        let b = si.encode().unwrap();
        assert_eq!(
            b,
            [
                0x03, 0x05, 0x6A, 0x00, // header
                0x45, // <si> with content
                0xC6, // <indication> with attributes and content
                0x0D, 0x03, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x00, 0x85, 0x03, b'x',
                0x00, // href="http://www." "example" ".com/" "x"
                0x0A, 0xC3, 0x06, 0x20, 0x24, 0x01, 0x15, 0x10, 0x30, // created
                0x08, // action="signal-high"
                0x01, // end of attributes
                0x03, b'H', b'i', 0x00, 0x01, // text, </indication>
                0x01, // </si>
            ]
        );
        assert_eq!(ServiceIndication::decode(&b).unwrap(), si);
    }

    /// The action's text form comes from one place and matches SI's attribute start tokens.
    #[test]
    fn actions() {
        assert_eq!(SiAction::default(), SiAction::SignalMedium);
        for &a in SiAction::ALL {
            assert_eq!(SiAction::parse(a.as_str()), Some(a));
            assert!(SI
                .attr_starts
                .iter()
                .any(|(_, _, n, v)| *n == "action" && *v == a.as_str()));
        }
        assert_eq!(SiAction::parse("signal-loud"), None);
        // Absent, the action is signal-medium.
        let b = [
            0x03, 0x05, 0x6A, 0x00, 0x45, 0x86, 0x0B, 0x03, b'x', 0x00, 0x01, 0x01,
        ];
        assert_eq!(
            ServiceIndication::decode(&b).unwrap().action,
            SiAction::SignalMedium
        );
        // action="signal-none" followed by "x" is no action.
        let b = [
            0x03, 0x05, 0x6A, 0x00, 0x45, 0x86, 0x05, 0x03, b'x', 0x00, 0x01, 0x01,
        ];
        assert_eq!(
            ServiceIndication::decode(&b),
            Err(WbxmlError::BadAttributeValue {
                attribute: "action",
                value: "signal-nonex".into()
            })
        );
    }

    fn si_action() -> impl Strategy<Value = SiAction> {
        prop_oneof![
            Just(SiAction::SignalNone),
            Just(SiAction::SignalLow),
            Just(SiAction::SignalMedium),
            Just(SiAction::SignalHigh),
            Just(SiAction::Delete)
        ]
    }

    proptest! {
        #[test]
        fn si_round_trip(href in proptest::option::of(url()),
                         si_id in proptest::option::of(text()),
                         created in proptest::option::of(datetime()),
                         si_expires in proptest::option::of(datetime()),
                         action in si_action(),
                         text in proptest::option::of(text())) {
            let si = ServiceIndication { href, si_id, created, si_expires, action, text };
            let b = si.encode().unwrap();
            prop_assert_eq!(ServiceIndication::decode(&b).unwrap(), si.clone());
            prop_assert_eq!(Document::decode(&b).unwrap(), Document::Si(si));
        }

        #[test]
        fn date_round_trip(d in datetime()) {
            prop_assert_eq!(DateTime::from_bcd(&d.to_bcd().unwrap()).unwrap(), d);
            prop_assert_eq!(DateTime::from_iso(&d.to_iso()), Some(d));
        }
    }
}

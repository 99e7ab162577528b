//! OMA Client Provisioning, PROV 1.0 (OMA-WAP-ProvCont): a `wap-provisioningdoc` of nested
//! `characteristic` elements holding `parm` name/value pairs.

use std::fmt::Write as _;

use super::decoder::{Element, MAX_DEPTH};
use super::encoder::Encoder;
use super::tokens::PROV;
use super::{parse_as, xml, DocumentType, WbxmlError};

/// A `parm` of a provisioning characteristic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parm {
    /// The parameter name, e.g. `NAP-ADDRESS`.
    pub name: String,
    /// Its value, if it has one (`<parm name="INTERNET"/>` has none).
    pub value: Option<String>,
}

impl Parm {
    /// A parm with a value.
    pub fn new(name: &str, value: &str) -> Self {
        Self {
            name: name.to_owned(),
            value: Some(value.to_owned()),
        }
    }
}

/// A `characteristic` of a provisioning document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Characteristic {
    /// Its type, e.g. `NAPDEF`, `PXLOGICAL`, `APPLICATION`.
    pub type_: String,
    /// Its parameters, in order (written before the nested characteristics).
    pub parms: Vec<Parm>,
    /// Nested characteristics.
    pub children: Vec<Characteristic>,
}

/// An OMA Client Provisioning document (`wap-provisioningdoc`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProvisioningDoc {
    /// The `version` attribute, e.g. `1.0`.
    pub version: Option<String>,
    /// The top-level characteristics.
    pub characteristics: Vec<Characteristic>,
}

impl Characteristic {
    fn encode(&self, e: &mut Encoder, depth: usize) -> Result<(), WbxmlError> {
        if depth > MAX_DEPTH {
            return Err(WbxmlError::TooDeep);
        }
        let content = !self.parms.is_empty() || !self.children.is_empty();
        e.tag("characteristic", true, content)?;
        e.attr("type", &self.type_)?;
        e.end();
        for p in &self.parms {
            e.tag("parm", true, false)?;
            e.attr("name", &p.name)?;
            if let Some(v) = &p.value {
                e.attr("value", v)?;
            }
            e.end();
        }
        for c in &self.children {
            c.encode(e, depth + 1)?;
        }
        if content {
            e.end();
        }
        Ok(())
    }

    fn from_tree(el: &Element) -> Result<Self, WbxmlError> {
        let type_ = el.text_attribute("type")?.ok_or(WbxmlError::Missing {
            element: "characteristic",
            what: "the type attribute",
        })?;
        let mut c = Self {
            type_,
            ..Self::default()
        };
        for child in el.children() {
            match child.name.as_str() {
                "parm" => c.parms.push(Parm {
                    name: child.text_attribute("name")?.ok_or(WbxmlError::Missing {
                        element: "parm",
                        what: "the name attribute",
                    })?,
                    value: child.text_attribute("value")?,
                }),
                "characteristic" => c.children.push(Self::from_tree(child)?),
                _ => {
                    return Err(WbxmlError::UnexpectedElement {
                        found: child.name.clone(),
                        parent: "characteristic",
                    })
                }
            }
        }
        Ok(c)
    }

    fn to_xml(&self, x: &mut String, indent: usize) {
        let pad = " ".repeat(indent);
        let _ = write!(
            x,
            "{pad}<characteristic type=\"{}\"",
            xml::escape(&self.type_)
        );
        if self.parms.is_empty() && self.children.is_empty() {
            x.push_str("/>\n");
            return;
        }
        x.push_str(">\n");
        for p in &self.parms {
            let _ = write!(x, "{pad}  <parm name=\"{}\"", xml::escape(&p.name));
            if let Some(v) = &p.value {
                let _ = write!(x, " value=\"{}\"", xml::escape(v));
            }
            x.push_str("/>\n");
        }
        for c in &self.children {
            c.to_xml(x, indent + 2);
        }
        let _ = writeln!(x, "{pad}</characteristic>");
    }
}

impl ProvisioningDoc {
    /// Encodes the document as WBXML.
    pub fn encode(&self) -> Result<Vec<u8>, WbxmlError> {
        let mut e = Encoder::new(&PROV);
        let content = !self.characteristics.is_empty();
        e.tag("wap-provisioningdoc", self.version.is_some(), content)?;
        if let Some(v) = &self.version {
            e.attr("version", v)?;
            e.end();
        }
        for c in &self.characteristics {
            c.encode(&mut e, 1)?;
        }
        if content {
            e.end();
        }
        Ok(e.finish())
    }

    /// Decodes a WBXML PROV document.
    pub fn decode(data: &[u8]) -> Result<Self, WbxmlError> {
        Self::from_tree(&parse_as(data, DocumentType::Prov)?)
    }

    pub(super) fn from_tree(root: &Element) -> Result<Self, WbxmlError> {
        root.expect_root(PROV.root)?;
        let mut doc = Self {
            version: root.text_attribute("version")?,
            characteristics: Vec::new(),
        };
        for child in root.children() {
            if child.name != "characteristic" {
                return Err(WbxmlError::UnexpectedElement {
                    found: child.name.clone(),
                    parent: "wap-provisioningdoc",
                });
            }
            doc.characteristics.push(Characteristic::from_tree(child)?);
        }
        Ok(doc)
    }

    /// The document as XML, with declaration and DOCTYPE.
    pub fn to_xml(&self) -> String {
        let mut x = xml::header(&PROV);
        x.push_str("<wap-provisioningdoc");
        if let Some(v) = &self.version {
            let _ = write!(x, " version=\"{}\"", xml::escape(v));
        }
        if self.characteristics.is_empty() {
            x.push_str("/>\n");
            return x;
        }
        x.push_str(">\n");
        for c in &self.characteristics {
            c.to_xml(&mut x, 2);
        }
        x.push_str("</wap-provisioningdoc>\n");
        x
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::super::test_values::text;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prov_tokens() {
        let doc = ProvisioningDoc {
            version: Some("1.0".into()),
            characteristics: vec![Characteristic {
                type_: "NAPDEF".into(),
                parms: vec![
                    Parm::new("NAP-ADDRTYPE", "IPV4"),
                    Parm {
                        name: "INTERNET".into(),
                        value: None,
                    },
                ],
                children: vec![],
            }],
        };
        let b = doc.encode().unwrap();
        assert_eq!(
            b,
            [
                0x03, 0x0B, 0x6A, 0x00, 0xC5, 0x46,
                0x01, // <wap-provisioningdoc version="1.0">
                0xC6, 0x55, 0x01, // <characteristic type="NAPDEF">
                0x87, 0x09, 0x06, 0x85, 0x01, // <parm name="NAP-ADDRTYPE" value="IPV4"/>
                0x87, 0x14, 0x01, // <parm name="INTERNET"/>
                0x01, 0x01,
            ]
        );
        assert_eq!(ProvisioningDoc::decode(&b).unwrap(), doc);
    }

    fn characteristic() -> impl Strategy<Value = Characteristic> {
        let name = prop_oneof![
            Just("NAME".to_owned()),
            Just("NAP-ADDRESS".to_owned()),
            Just("PXADDR".to_owned()),
            Just("NAMEX".to_owned()),
            "[A-Z-]{1,12}"
        ];
        let value = proptest::option::of(prop_oneof![
            Just("IPV4".to_owned()),
            Just("CDMA2000".to_owned()),
            text()
        ]);
        let parm = (name, value).prop_map(|(name, value)| Parm { name, value });
        let ty = prop_oneof![
            Just("NAPDEF".to_owned()),
            Just("PXLOGICAL".to_owned()),
            Just("APPLICATION".to_owned()),
            "[A-Z]{1,10}"
        ];
        let leaf = (ty.clone(), proptest::collection::vec(parm.clone(), 0..4)).prop_map(
            |(type_, parms)| Characteristic {
                type_,
                parms,
                children: vec![],
            },
        );
        leaf.prop_recursive(3, 12, 3, move |inner| {
            (
                ty.clone(),
                proptest::collection::vec(parm.clone(), 0..3),
                proptest::collection::vec(inner, 0..3),
            )
                .prop_map(|(type_, parms, children)| Characteristic {
                    type_,
                    parms,
                    children,
                })
        })
    }

    proptest! {
        #[test]
        fn prov_round_trip(version in proptest::option::of(prop_oneof![
                               Just("1.0".to_owned()), Just("1.1".to_owned())]),
                           characteristics in proptest::collection::vec(characteristic(), 0..4)) {
            let doc = ProvisioningDoc { version, characteristics };
            let b = doc.encode().unwrap();
            prop_assert_eq!(ProvisioningDoc::decode(&b).unwrap(), doc);
        }

    }
}

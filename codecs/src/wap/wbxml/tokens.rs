//! The WBXML token spaces: the global tokens (WAP-192-WBXML §7.1), the tag code space
//! (§5.8.2, §7.2) and the attribute code space (§5.8.3, §7.3), and the code pages of the three
//! document types handled here, each table named and laid out as its specification gives it:
//! "tag tokens", "attribute start tokens" and "attribute value tokens" of SI 1.0 (WAP-167-SI
//! §9.3), SL 1.0 (WAP-168-SL §9.3) and PROV 1.0 (OMA-WAP-ProvCont §7).
//!
//! Every table row starts with its code page and token. A [`Vocabulary`] puts one document
//! type's identity (public identifier, FPI, root element, DTD) and tables together; the generic
//! decoder and encoder take nothing else, so another WBXML application (OMA DM, with its own
//! code pages) is one more `Vocabulary`.

use crate::macros::wire_enum;

/// The WBXML version written (1.3).
pub const VERSION: u8 = 0x03;

/// Public identifier of SI 1.0 (`-//WAPFORUM//DTD SI 1.0//EN`).
pub const PUBLIC_ID_SI: u32 = 0x05;
/// Public identifier of SL 1.0 (`-//WAPFORUM//DTD SL 1.0//EN`).
pub const PUBLIC_ID_SL: u32 = 0x06;
/// Public identifier of PROV 1.0 (`-//WAPFORUM//DTD PROV 1.0//EN`).
pub const PUBLIC_ID_PROV: u32 = 0x0B;
/// The public identifier code meaning "the identifier is a string in the string table".
pub(crate) const PUBLIC_ID_LITERAL: u32 = 0x00;

/// IANA MIBenum of UTF-8, the charset written.
pub const CHARSET_UTF8: u32 = 0x6A;
/// IANA MIBenum 0: charset unknown (read as UTF-8).
pub(crate) const CHARSET_UNKNOWN: u32 = 0;
/// IANA MIBenum of US-ASCII.
pub(crate) const CHARSET_US_ASCII: u32 = 3;
/// IANA MIBenum of ISO-8859-1.
pub(crate) const CHARSET_ISO_8859_1: u32 = 4;

wire_enum! {
    /// The global tokens (WAP-192-WBXML §7.1), the same on every code page in both the tag and
    /// the attribute state.
    pub(crate) enum GlobalToken: u8 {
        /// Change the code page of the current token state; the page number follows.
        SwitchPage = 0x00 => "SWITCH_PAGE",
        /// End of an attribute list or of an element.
        End = 0x01 => "END",
        /// A character entity; its code point follows as mb_u_int32.
        Entity = 0x02 => "ENTITY",
        /// An inline string, NUL-terminated.
        StrI = 0x03 => "STR_I",
        /// A tag or attribute whose name is in the string table.
        Literal = 0x04 => "LITERAL",
        /// Inline string extension 0.
        ExtI0 = 0x40 => "EXT_I_0",
        /// Inline string extension 1.
        ExtI1 = 0x41 => "EXT_I_1",
        /// Inline string extension 2.
        ExtI2 = 0x42 => "EXT_I_2",
        /// A processing instruction.
        Pi = 0x43 => "PI",
        /// An unknown tag with content, named in the string table.
        LiteralC = 0x44 => "LITERAL_C",
        /// String table extension 0.
        ExtT0 = 0x80 => "EXT_T_0",
        /// String table extension 1.
        ExtT1 = 0x81 => "EXT_T_1",
        /// String table extension 2.
        ExtT2 = 0x82 => "EXT_T_2",
        /// A reference into the string table.
        StrT = 0x83 => "STR_T",
        /// An unknown tag with attributes, named in the string table.
        LiteralA = 0x84 => "LITERAL_A",
        /// Single-byte extension 0.
        Ext0 = 0xC0 => "EXT_0",
        /// Single-byte extension 1.
        Ext1 = 0xC1 => "EXT_1",
        /// Single-byte extension 2.
        Ext2 = 0xC2 => "EXT_2",
        /// Opaque data; its length follows as mb_u_int32.
        Opaque = 0xC3 => "OPAQUE",
        /// An unknown tag with attributes and content, named in the string table.
        LiteralAc = 0xC4 => "LITERAL_AC",
    }
}

impl GlobalToken {
    /// An extension token or a processing instruction, which this codec does not support.
    pub(crate) fn is_extension_or_pi(self) -> bool {
        matches!(
            self,
            Self::ExtI0
                | Self::ExtI1
                | Self::ExtI2
                | Self::Pi
                | Self::ExtT0
                | Self::ExtT1
                | Self::ExtT2
                | Self::Ext0
                | Self::Ext1
                | Self::Ext2
        )
    }
}

/// Tag token bit 7: attributes follow the tag.
pub(crate) const TAG_HAS_ATTRIBUTES: u8 = 0x80;
/// Tag token bit 6: the element has content, ended by END.
pub(crate) const TAG_HAS_CONTENT: u8 = 0x40;
/// The tag identity in a tag token (bits 0-5).
pub(crate) const TAG_ID: u8 = 0x3F;
/// Attribute tokens from here up are attribute values; below are attribute starts.
pub(crate) const ATTR_VALUE_FIRST: u8 = 0x80;

/// A tag token: (code page, token, element name).
pub(crate) type TagToken = (u8, u8, &'static str);
/// An attribute start token: (code page, token, attribute name, value prefix it stands for).
pub(crate) type AttrStartToken = (u8, u8, &'static str, &'static str);
/// An attribute value token: (code page, token, the string it stands for).
pub(crate) type AttrValueToken = (u8, u8, &'static str);

/// What an attribute value token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueTokens {
    /// A string that may occur anywhere in a value (SI and SL: `.com/` in a URL).
    Substrings,
    /// Only a whole value (PROV: `IPV4`).
    WholeValues,
}

/// One document type as the generic decoder and encoder see it: its identity and code pages.
#[derive(Debug)]
pub(crate) struct Vocabulary {
    /// Short name, for errors (`SI`).
    pub(crate) name: &'static str,
    /// The public identifier code.
    pub(crate) public_id: u32,
    /// The formal public identifier.
    pub(crate) fpi: &'static str,
    /// The root element.
    pub(crate) root: &'static str,
    /// The system identifier (DTD URL) for the XML DOCTYPE.
    pub(crate) dtd: &'static str,
    /// Tag tokens, all code pages.
    pub(crate) tags: &'static [TagToken],
    /// Attribute start tokens, all code pages.
    pub(crate) attr_starts: &'static [AttrStartToken],
    /// Attribute value tokens, all code pages.
    pub(crate) attr_values: &'static [AttrValueToken],
    /// What the attribute value tokens stand for.
    pub(crate) value_tokens: ValueTokens,
}

impl Vocabulary {
    /// The element name of tag identity `token` on `page`.
    pub(crate) fn tag_name(&self, page: u8, token: u8) -> Option<&'static str> {
        self.tags
            .iter()
            .find(|(p, t, _)| *p == page && *t == token)
            .map(|(_, _, n)| *n)
    }

    /// (code page, tag identity) of element `name`: on `page` if that page has it, otherwise on
    /// the first page that does.
    pub(crate) fn tag_token(&self, page: u8, name: &str) -> Option<(u8, u8)> {
        let on = |want: Option<u8>| {
            self.tags
                .iter()
                .find(|(p, _, n)| want.is_none_or(|w| w == *p) && *n == name)
                .map(|(p, t, _)| (*p, *t))
        };
        on(Some(page)).or_else(|| on(None))
    }

    /// (attribute name, value prefix) of attribute start `token` on `page`.
    pub(crate) fn attr_start(&self, page: u8, token: u8) -> Option<(&'static str, &'static str)> {
        self.attr_starts
            .iter()
            .find(|(p, t, _, _)| *p == page && *t == token)
            .map(|(_, _, n, v)| (*n, *v))
    }

    /// (code page, token, prefix) of the attribute start token that writes attribute `name`
    /// with the longest prefix of `value`: on `page` if that page has one, otherwise on the
    /// first other page that does.
    pub(crate) fn attr_start_for(
        &self,
        page: u8,
        name: &str,
        value: &str,
    ) -> Option<(u8, u8, &'static str)> {
        let best = |on_page: bool| {
            self.attr_starts
                .iter()
                .filter(|(p, _, n, v)| {
                    (*p == page) == on_page && *n == name && value.starts_with(v)
                })
                .max_by_key(|(_, _, _, v)| v.len())
                .map(|(p, t, _, v)| (*p, *t, *v))
        };
        best(true).or_else(|| best(false))
    }

    /// The string attribute value `token` stands for on `page`.
    pub(crate) fn attr_value(&self, page: u8, token: u8) -> Option<&'static str> {
        self.attr_values
            .iter()
            .find(|(p, t, _)| *p == page && *t == token)
            .map(|(_, _, v)| *v)
    }

    /// The attribute value tokens of `page`: (token, string).
    pub(crate) fn attr_values_on(&self, page: u8) -> impl Iterator<Item = (u8, &'static str)> + '_ {
        self.attr_values
            .iter()
            .filter(move |(p, _, _)| *p == page)
            .map(|(_, t, v)| (*t, *v))
    }
}

// ---------------------------------------------------------------------------------------------
// Service Indication 1.0 (WAP-167-SI §9.3).

/// SI tag tokens (code page 0).
pub(crate) const SI_TAGS: &[TagToken] = &[
    (0, 0x05, "si"),
    (0, 0x06, "indication"),
    (0, 0x07, "info"),
    (0, 0x08, "item"),
];

/// SI attribute start tokens (code page 0).
pub(crate) const SI_ATTR_STARTS: &[AttrStartToken] = &[
    (0, 0x05, "action", "signal-none"),
    (0, 0x06, "action", "signal-low"),
    (0, 0x07, "action", "signal-medium"),
    (0, 0x08, "action", "signal-high"),
    (0, 0x09, "action", "delete"),
    (0, 0x0A, "created", ""),
    (0, 0x0B, "href", ""),
    (0, 0x0C, "href", "http://"),
    (0, 0x0D, "href", "http://www."),
    (0, 0x0E, "href", "https://"),
    (0, 0x0F, "href", "https://www."),
    (0, 0x10, "si-expires", ""),
    (0, 0x11, "si-id", ""),
    (0, 0x12, "class", ""),
];

/// SI attribute value tokens (code page 0), substrings of any value.
pub(crate) const SI_ATTR_VALUES: &[AttrValueToken] = &[
    (0, 0x85, ".com/"),
    (0, 0x86, ".edu/"),
    (0, 0x87, ".net/"),
    (0, 0x88, ".org/"),
];

/// Service Indication 1.0.
pub(crate) static SI: Vocabulary = Vocabulary {
    name: "SI",
    public_id: PUBLIC_ID_SI,
    fpi: "-//WAPFORUM//DTD SI 1.0//EN",
    root: "si",
    dtd: "http://www.wapforum.org/DTD/si.dtd",
    tags: SI_TAGS,
    attr_starts: SI_ATTR_STARTS,
    attr_values: SI_ATTR_VALUES,
    value_tokens: ValueTokens::Substrings,
};

// ---------------------------------------------------------------------------------------------
// Service Loading 1.0 (WAP-168-SL §9.3).

/// SL tag tokens (code page 0).
pub(crate) const SL_TAGS: &[TagToken] = &[(0, 0x05, "sl")];

/// SL attribute start tokens (code page 0).
pub(crate) const SL_ATTR_STARTS: &[AttrStartToken] = &[
    (0, 0x05, "action", "execute-low"),
    (0, 0x06, "action", "execute-high"),
    (0, 0x07, "action", "cache"),
    (0, 0x08, "href", ""),
    (0, 0x09, "href", "http://"),
    (0, 0x0A, "href", "http://www."),
    (0, 0x0B, "href", "https://"),
    (0, 0x0C, "href", "https://www."),
];

/// SL attribute value tokens: the same four as SI's.
pub(crate) const SL_ATTR_VALUES: &[AttrValueToken] = SI_ATTR_VALUES;

/// Service Loading 1.0.
pub(crate) static SL: Vocabulary = Vocabulary {
    name: "SL",
    public_id: PUBLIC_ID_SL,
    fpi: "-//WAPFORUM//DTD SL 1.0//EN",
    root: "sl",
    dtd: "http://www.wapforum.org/DTD/sl.dtd",
    tags: SL_TAGS,
    attr_starts: SL_ATTR_STARTS,
    attr_values: SL_ATTR_VALUES,
    value_tokens: ValueTokens::Substrings,
};

// ---------------------------------------------------------------------------------------------
// OMA Client Provisioning, PROV 1.0 (OMA-WAP-ProvCont §7): code page 0, and code page 1
// (application characteristics), which is understood when decoding; the encoder finds all it
// needs on page 0.

/// PROV tag tokens (code pages 0 and 1).
pub(crate) const PROV_TAGS: &[TagToken] = &[
    (0, 0x05, "wap-provisioningdoc"),
    (0, 0x06, "characteristic"),
    (0, 0x07, "parm"),
    (1, 0x06, "characteristic"),
    (1, 0x07, "parm"),
];

/// PROV 1.0 attribute start tokens: (code page, token, attribute, value prefix), code pages 0
/// and 1.
pub const PROV_ATTR_STARTS: &[(u8, u8, &str, &str)] = &[
    (0, 0x05, "name", ""),
    (0, 0x06, "value", ""),
    (0, 0x07, "name", "NAME"),
    (0, 0x08, "name", "NAP-ADDRESS"),
    (0, 0x09, "name", "NAP-ADDRTYPE"),
    (0, 0x0A, "name", "CALLTYPE"),
    (0, 0x0B, "name", "VALIDUNTIL"),
    (0, 0x0C, "name", "AUTHTYPE"),
    (0, 0x0D, "name", "AUTHNAME"),
    (0, 0x0E, "name", "AUTHSECRET"),
    (0, 0x0F, "name", "LINGER"),
    (0, 0x10, "name", "BEARER"),
    (0, 0x11, "name", "NAPID"),
    (0, 0x12, "name", "COUNTRY"),
    (0, 0x13, "name", "NETWORK"),
    (0, 0x14, "name", "INTERNET"),
    (0, 0x15, "name", "PROXY-ID"),
    (0, 0x16, "name", "PROXY-PROVIDER-ID"),
    (0, 0x17, "name", "DOMAIN"),
    (0, 0x18, "name", "PROVURL"),
    (0, 0x19, "name", "PXAUTH-TYPE"),
    (0, 0x1A, "name", "PXAUTH-ID"),
    (0, 0x1B, "name", "PXAUTH-PW"),
    (0, 0x1C, "name", "STARTPAGE"),
    (0, 0x1D, "name", "BASAUTH-ID"),
    (0, 0x1E, "name", "BASAUTH-PW"),
    (0, 0x1F, "name", "PUSHENABLED"),
    (0, 0x20, "name", "PXADDR"),
    (0, 0x21, "name", "PXADDRTYPE"),
    (0, 0x22, "name", "TO-NAPID"),
    (0, 0x23, "name", "PORTNBR"),
    (0, 0x24, "name", "SERVICE"),
    (0, 0x25, "name", "LINKSPEED"),
    (0, 0x26, "name", "DNLINKSPEED"),
    (0, 0x27, "name", "LOCAL-ADDR"),
    (0, 0x28, "name", "LOCAL-ADDRTYPE"),
    (0, 0x29, "name", "CONTEXT-ALLOW"),
    (0, 0x2A, "name", "TRUST"),
    (0, 0x2B, "name", "MASTER"),
    (0, 0x2C, "name", "SID"),
    (0, 0x2D, "name", "SOC"),
    (0, 0x2E, "name", "WSP-VERSION"),
    (0, 0x2F, "name", "PHYSICAL-PROXY-ID"),
    (0, 0x30, "name", "CLIENT-ID"),
    (0, 0x31, "name", "DELIVERY-ERR-SDU"),
    (0, 0x32, "name", "DELIVERY-ORDER"),
    (0, 0x33, "name", "TRAFFIC-CLASS"),
    (0, 0x34, "name", "MAX-SDU-SIZE"),
    (0, 0x35, "name", "MAX-BITRATE-UPLINK"),
    (0, 0x36, "name", "MAX-BITRATE-DNLINK"),
    (0, 0x37, "name", "RESIDUAL-BER"),
    (0, 0x38, "name", "SDU-ERROR-RATIO"),
    (0, 0x39, "name", "TRAFFIC-HANDL-PRIO"),
    (0, 0x3A, "name", "TRANSFER-DELAY"),
    (0, 0x3B, "name", "GUARANTEED-BITRATE-UPLINK"),
    (0, 0x3C, "name", "GUARANTEED-BITRATE-DNLINK"),
    (0, 0x3D, "name", "PXADDR-FQDN"),
    (0, 0x3E, "name", "PROXY-PW"),
    (0, 0x3F, "name", "PPGAUTH-TYPE"),
    (0, 0x47, "name", "PULLENABLED"),
    (0, 0x48, "name", "DNS-ADDR"),
    (0, 0x49, "name", "MAX-NUM-RETRY"),
    (0, 0x4A, "name", "FIRST-RETRY-TIMEOUT"),
    (0, 0x4B, "name", "REREG-THRESHOLD"),
    (0, 0x4C, "name", "T-BIT"),
    (0, 0x4E, "name", "AUTH-ENTITY"),
    (0, 0x4F, "name", "SPI"),
    (0, 0x45, "version", ""),
    (0, 0x46, "version", "1.0"),
    (0, 0x50, "type", ""),
    (0, 0x51, "type", "PXLOGICAL"),
    (0, 0x52, "type", "PXPHYSICAL"),
    (0, 0x53, "type", "PORT"),
    (0, 0x54, "type", "VALIDITY"),
    (0, 0x55, "type", "NAPDEF"),
    (0, 0x56, "type", "BOOTSTRAP"),
    (0, 0x57, "type", "VENDORCONFIG"),
    (0, 0x58, "type", "CLIENTIDENTITY"),
    (0, 0x59, "type", "PXAUTHINFO"),
    (0, 0x5A, "type", "NAPAUTHINFO"),
    (0, 0x5B, "type", "ACCESS"),
    // Code page 1 (application characteristics), understood when decoding.
    (1, 0x05, "name", ""),
    (1, 0x06, "value", ""),
    (1, 0x07, "name", "NAME"),
    (1, 0x14, "name", "INTERNET"),
    (1, 0x1C, "name", "STARTPAGE"),
    (1, 0x22, "name", "TO-NAPID"),
    (1, 0x23, "name", "PORTNBR"),
    (1, 0x24, "name", "SERVICE"),
    (1, 0x2E, "name", "AACCEPT"),
    (1, 0x2F, "name", "AAUTHDATA"),
    (1, 0x30, "name", "AAUTHLEVEL"),
    (1, 0x31, "name", "AAUTHNAME"),
    (1, 0x32, "name", "AAUTHSECRET"),
    (1, 0x33, "name", "AAUTHTYPE"),
    (1, 0x34, "name", "ADDR"),
    (1, 0x35, "name", "ADDRTYPE"),
    (1, 0x36, "name", "APPID"),
    (1, 0x37, "name", "APROTOCOL"),
    (1, 0x38, "name", "PROVIDER-ID"),
    (1, 0x39, "name", "TO-PROXY"),
    (1, 0x3A, "name", "URI"),
    (1, 0x3B, "name", "RULE"),
    (1, 0x50, "type", ""),
    (1, 0x53, "type", "PORT"),
    (1, 0x55, "type", "APPLICATION"),
    (1, 0x56, "type", "APPADDR"),
    (1, 0x57, "type", "APPAUTH"),
    (1, 0x58, "type", "CLIENTIDENTITY"),
    (1, 0x59, "type", "RESOURCE"),
];

/// PROV 1.0 attribute value tokens (code page 0): (code page, token, whole value).
pub const PROV_ATTR_VALUES: &[(u8, u8, &str)] = &[
    (0, 0x85, "IPV4"),
    (0, 0x86, "IPV6"),
    (0, 0x87, "E164"),
    (0, 0x88, "ALPHA"),
    (0, 0x89, "APN"),
    (0, 0x8A, "SCODE"),
    (0, 0x8B, "TETRA-ITSI"),
    (0, 0x8C, "MAN"),
    (0, 0x90, "ANALOG-MODEM"),
    (0, 0x91, "V.120"),
    (0, 0x92, "V.110"),
    (0, 0x93, "X.31"),
    (0, 0x94, "BIT-TRANSPARENT"),
    (0, 0x95, "DIRECT-ASYNCHRONOUS-DATA-SERVICE"),
    (0, 0x9A, "PAP"),
    (0, 0x9B, "CHAP"),
    (0, 0x9C, "HTTP-BASIC"),
    (0, 0x9D, "HTTP-DIGEST"),
    (0, 0x9E, "WTLS-SS"),
    (0, 0xA2, "GSM-USSD"),
    (0, 0xA3, "GSM-SMS"),
    (0, 0xA4, "ANSI-136-GUTS"),
    (0, 0xA5, "IS-95-CDMA-SMS"),
    (0, 0xA6, "IS-95-CDMA-CSD"),
    (0, 0xA7, "IS-95-CDMA-PACKET"),
    (0, 0xA8, "ANSI-136-CSD"),
    (0, 0xA9, "ANSI-136-GPRS"),
    (0, 0xAA, "GSM-CSD"),
    (0, 0xAB, "GSM-GPRS"),
    (0, 0xAC, "AMPS-CDPD"),
    (0, 0xAD, "PDC-CSD"),
    (0, 0xAE, "PDC-PACKET"),
    (0, 0xAF, "IDEN-SMS"),
    (0, 0xB0, "IDEN-CSD"),
    (0, 0xB1, "IDEN-PACKET"),
    (0, 0xB2, "FLEX/REFLEX"),
    (0, 0xB3, "PHS-SMS"),
    (0, 0xB4, "PHS-CSD"),
    (0, 0xB5, "TETRA-SDS"),
    (0, 0xB6, "TETRA-PACKET"),
    (0, 0xB7, "ANSI-136-GHOST"),
    (0, 0xB8, "MOBITEX-MPAK"),
    (0, 0xB9, "CDMA2000-1X-SIMPLE-IP"),
    (0, 0xBA, "CDMA2000-1X-MOBILE-IP"),
    (0, 0xC5, "AUTOBAUDING"),
    (0, 0xCA, "CL-WSP"),
    (0, 0xCB, "CO-WSP"),
    (0, 0xCC, "CL-SEC-WSP"),
    (0, 0xCD, "CO-SEC-WSP"),
    (0, 0xCE, "CL-SEC-WTA"),
    (0, 0xCF, "CO-SEC-WTA"),
    (0, 0xD0, "OTA-HTTP-TO"),
    (0, 0xD1, "OTA-HTTP-TLS-TO"),
    (0, 0xD2, "OTA-HTTP-PO"),
    (0, 0xD3, "OTA-HTTP-TLS-PO"),
    (0, 0xE0, "AAA"),
    (0, 0xE1, "HA"),
];

/// OMA Client Provisioning 1.0.
pub(crate) static PROV: Vocabulary = Vocabulary {
    name: "PROV",
    public_id: PUBLIC_ID_PROV,
    fpi: "-//WAPFORUM//DTD PROV 1.0//EN",
    root: "wap-provisioningdoc",
    dtd: "http://www.wapforum.org/DTD/prov.dtd",
    tags: PROV_TAGS,
    attr_starts: PROV_ATTR_STARTS,
    attr_values: PROV_ATTR_VALUES,
    value_tokens: ValueTokens::WholeValues,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_tokens() {
        assert_eq!(GlobalToken::ALL.len(), 20);
        for &g in GlobalToken::ALL {
            assert_eq!(GlobalToken::from_wire(g.to_wire()), Some(g));
            assert_eq!(GlobalToken::parse(g.as_str()), Some(g));
        }
        assert_eq!(GlobalToken::from_wire(0xC3), Some(GlobalToken::Opaque));
        assert_eq!(GlobalToken::StrT.as_str(), "STR_T");
        assert_eq!(GlobalToken::from_wire(0x05), None);
        let unsupported: Vec<u8> = GlobalToken::ALL
            .iter()
            .filter(|g| g.is_extension_or_pi())
            .map(|g| g.to_wire())
            .collect();
        assert_eq!(
            unsupported,
            [0x40, 0x41, 0x42, 0x43, 0x80, 0x81, 0x82, 0xC0, 0xC1, 0xC2]
        );
    }

    /// Every table token is outside the global tokens and in its own code space, and no
    /// (page, token) or (page, name, prefix) is given twice.
    #[test]
    fn tables_are_well_formed() {
        for v in [&SI, &SL, &PROV] {
            let mut seen = std::collections::HashSet::new();
            for &(p, t, n) in v.tags {
                assert!((0x05..=0x3F).contains(&t), "{} tag {t:#x}", v.name);
                assert!(seen.insert((p, t)), "{} tag {p}/{t:#x} twice", v.name);
                assert_eq!(v.tag_name(p, t), Some(n));
            }
            let mut seen = std::collections::HashSet::new();
            let mut names = std::collections::HashSet::new();
            for &(p, t, n, prefix) in v.attr_starts {
                assert!(
                    (0x05..ATTR_VALUE_FIRST).contains(&t),
                    "{} start {t:#x}",
                    v.name
                );
                assert!(
                    GlobalToken::from_wire(t).is_none(),
                    "{} start {t:#x}",
                    v.name
                );
                assert!(seen.insert((p, t)), "{} start {p}/{t:#x} twice", v.name);
                assert!(
                    names.insert((p, n, prefix)),
                    "{} {n}={prefix} twice",
                    v.name
                );
                assert_eq!(v.attr_start(p, t), Some((n, prefix)));
            }
            let mut seen = std::collections::HashSet::new();
            for &(p, t, s) in v.attr_values {
                assert!(t >= 0x85, "{} value {t:#x}", v.name);
                assert!(
                    GlobalToken::from_wire(t).is_none(),
                    "{} value {t:#x}",
                    v.name
                );
                assert!(seen.insert((p, t)), "{} value {p}/{t:#x} twice", v.name);
                assert_eq!(v.attr_value(p, t), Some(s));
            }
        }
    }

    #[test]
    fn lookups_prefer_the_page_in_force() {
        // PROV has characteristic on pages 0 and 1.
        assert_eq!(PROV.tag_token(0, "characteristic"), Some((0, 0x06)));
        assert_eq!(PROV.tag_token(1, "characteristic"), Some((1, 0x06)));
        assert_eq!(PROV.tag_token(1, "wap-provisioningdoc"), Some((0, 0x05)));
        assert_eq!(PROV.tag_token(0, "nothing"), None);
        // The longest prefix wins; page 0 writes any name, so page 1 is never needed.
        assert_eq!(
            PROV.attr_start_for(0, "name", "NAP-ADDRESS"),
            Some((0, 0x08, "NAP-ADDRESS"))
        );
        assert_eq!(
            PROV.attr_start_for(0, "name", "NAMEX"),
            Some((0, 0x07, "NAME"))
        );
        assert_eq!(
            PROV.attr_start_for(0, "name", "AACCEPT"),
            Some((0, 0x05, ""))
        );
        assert_eq!(
            PROV.attr_start_for(1, "name", "AACCEPT"),
            Some((1, 0x2E, "AACCEPT"))
        );
        assert_eq!(
            SI.attr_start_for(0, "href", "https://www.a"),
            Some((0, 0x0F, "https://www."))
        );
        assert_eq!(SI.attr_start_for(0, "action", "loud"), None);
        assert_eq!(SL.attr_values_on(0).count(), 4);
        assert_eq!(SL.attr_values_on(1).count(), 0);
    }
}

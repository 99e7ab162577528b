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
//! octets dropped, so `C3 06 20 24 01 15 10 30` is 2024-01-15T10:30:00Z. A date given as a
//! string (`2024-01-15T10:30:00Z`) is accepted when decoding.
//!
//! Decoding accepts WBXML 1.0-1.3, a literal public identifier from the string table, STR_T
//! references, ENTITY, LITERAL tag and attribute names, code page switches and the charsets
//! UTF-8, US-ASCII and ISO-8859-1. It refuses EXT and PI tokens, unknown tokens, nesting deeper
//! than 32 elements and documents of another type, each with a clear [`WbxmlError`]. Unknown
//! attributes of a known element are ignored, as is the `info` element of an SI.

use std::fmt::Write as _;

use thiserror::Error;

/// Public identifier of SI 1.0 (`-//WAPFORUM//DTD SI 1.0//EN`).
pub const PUBLIC_ID_SI: u32 = 0x05;
/// Public identifier of SL 1.0 (`-//WAPFORUM//DTD SL 1.0//EN`).
pub const PUBLIC_ID_SL: u32 = 0x06;
/// Public identifier of PROV 1.0 (`-//WAPFORUM//DTD PROV 1.0//EN`).
pub const PUBLIC_ID_PROV: u32 = 0x0B;
/// IANA MIBenum of UTF-8, the charset written.
pub const CHARSET_UTF8: u32 = 0x6A;
/// The WBXML version written (1.3).
pub const VERSION: u8 = 0x03;

const SWITCH_PAGE: u8 = 0x00;
const END: u8 = 0x01;
const ENTITY: u8 = 0x02;
const STR_I: u8 = 0x03;
const LITERAL: u8 = 0x04;
const STR_T: u8 = 0x83;
const OPAQUE: u8 = 0xC3;
const MAX_DEPTH: usize = 32;

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

// ---------------------------------------------------------------------------------------------
// Token tables: (code page, token, name) and (code page, token, attribute, value prefix).

const SI_TAGS: &[(u8, u8, &str)] = &[
    (0, 0x05, "si"),
    (0, 0x06, "indication"),
    (0, 0x07, "info"),
    (0, 0x08, "item"),
];

const SI_ATTR_STARTS: &[(u8, u8, &str, &str)] = &[
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

const SL_TAGS: &[(u8, u8, &str)] = &[(0, 0x05, "sl")];

const SL_ATTR_STARTS: &[(u8, u8, &str, &str)] = &[
    (0, 0x05, "action", "execute-low"),
    (0, 0x06, "action", "execute-high"),
    (0, 0x07, "action", "cache"),
    (0, 0x08, "href", ""),
    (0, 0x09, "href", "http://"),
    (0, 0x0A, "href", "http://www."),
    (0, 0x0B, "href", "https://"),
    (0, 0x0C, "href", "https://www."),
];

/// The attribute value tokens shared by SI and SL (substrings of any value).
const URL_VALUES: &[(u8, u8, &str)] = &[
    (0, 0x85, ".com/"),
    (0, 0x86, ".edu/"),
    (0, 0x87, ".net/"),
    (0, 0x88, ".org/"),
];

const PROV_TAGS: &[(u8, u8, &str)] = &[
    (0, 0x05, "wap-provisioningdoc"),
    (0, 0x06, "characteristic"),
    (0, 0x07, "parm"),
    (1, 0x06, "characteristic"),
    (1, 0x07, "parm"),
];

/// PROV 1.0 attribute start tokens: (code page, token, attribute, value prefix).
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

struct Tables {
    tags: &'static [(u8, u8, &'static str)],
    attr_starts: &'static [(u8, u8, &'static str, &'static str)],
    attr_values: &'static [(u8, u8, &'static str)],
    /// Value tokens may stand for substrings (SI, SL) or only whole values (PROV).
    split_values: bool,
}

impl DocumentType {
    /// The public identifier code.
    pub fn public_id(self) -> u32 {
        match self {
            Self::Si => PUBLIC_ID_SI,
            Self::Sl => PUBLIC_ID_SL,
            Self::Prov => PUBLIC_ID_PROV,
        }
    }

    /// The formal public identifier.
    pub fn fpi(self) -> &'static str {
        match self {
            Self::Si => "-//WAPFORUM//DTD SI 1.0//EN",
            Self::Sl => "-//WAPFORUM//DTD SL 1.0//EN",
            Self::Prov => "-//WAPFORUM//DTD PROV 1.0//EN",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Si => "SI",
            Self::Sl => "SL",
            Self::Prov => "PROV",
        }
    }

    fn doctype(self) -> &'static str {
        match self {
            Self::Si => {
                "<!DOCTYPE si PUBLIC \"-//WAPFORUM//DTD SI 1.0//EN\" \"http://www.wapforum.org/DTD/si.dtd\">"
            }
            Self::Sl => {
                "<!DOCTYPE sl PUBLIC \"-//WAPFORUM//DTD SL 1.0//EN\" \"http://www.wapforum.org/DTD/sl.dtd\">"
            }
            Self::Prov => {
                "<!DOCTYPE wap-provisioningdoc PUBLIC \"-//WAPFORUM//DTD PROV 1.0//EN\" \"http://www.wapforum.org/DTD/prov.dtd\">"
            }
        }
    }

    fn tables(self) -> Tables {
        match self {
            Self::Si => Tables {
                tags: SI_TAGS,
                attr_starts: SI_ATTR_STARTS,
                attr_values: URL_VALUES,
                split_values: true,
            },
            Self::Sl => Tables {
                tags: SL_TAGS,
                attr_starts: SL_ATTR_STARTS,
                attr_values: URL_VALUES,
                split_values: true,
            },
            Self::Prov => Tables {
                tags: PROV_TAGS,
                attr_starts: PROV_ATTR_STARTS,
                attr_values: PROV_ATTR_VALUES,
                split_values: false,
            },
        }
    }

    fn from_public_id(id: u32) -> Option<Self> {
        match id {
            PUBLIC_ID_SI => Some(Self::Si),
            PUBLIC_ID_SL => Some(Self::Sl),
            PUBLIC_ID_PROV => Some(Self::Prov),
            _ => None,
        }
    }

    fn from_fpi(fpi: &str) -> Option<Self> {
        [Self::Si, Self::Sl, Self::Prov]
            .into_iter()
            .find(|t| t.fpi() == fpi)
    }
}

// ---------------------------------------------------------------------------------------------
// Dates.

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
            value: octets.iter().map(|b| format!("{b:02x}")).collect(),
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

// ---------------------------------------------------------------------------------------------
// The generic tree the decoder produces.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Opaque(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Content {
    Element(Element),
    Text(String),
    Opaque,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Element {
    name: String,
    attributes: Vec<(String, Vec<Part>)>,
    content: Vec<Content>,
}

impl Element {
    fn attribute(&self, name: &str) -> Option<&[Part]> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// An attribute as a string (OPAQUE data is not a string).
    fn text_attribute(&self, name: &'static str) -> Result<Option<String>, WbxmlError> {
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
                        value: o.iter().map(|b| format!("{b:02x}")).collect(),
                    })
                }
            }
        }
        Ok(Some(s))
    }

    /// A date attribute: OPAQUE BCD or an ISO 8601 string.
    fn date_attribute(&self, name: &'static str) -> Result<Option<DateTime>, WbxmlError> {
        match self.attribute(name) {
            None => Ok(None),
            Some([Part::Opaque(o)]) => DateTime::from_bcd(o).map(Some),
            Some(_) => {
                let s = self.text_attribute(name)?.unwrap_or_default();
                DateTime::from_iso(&s)
                    .map(Some)
                    .ok_or(WbxmlError::BadAttributeValue {
                        attribute: name,
                        value: s,
                    })
            }
        }
    }

    fn children(&self) -> impl Iterator<Item = &Element> {
        self.content.iter().filter_map(|c| match c {
            Content::Element(e) => Some(e),
            _ => None,
        })
    }
}

struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    strtbl: &'a [u8],
    latin1: bool,
    tables: Tables,
    tag_page: u8,
    attr_page: u8,
}

fn read_mb(data: &[u8], pos: &mut usize, what: &'static str) -> Result<u32, WbxmlError> {
    let mut value: u64 = 0;
    for i in 0..5 {
        let b = *data.get(*pos + i).ok_or(WbxmlError::Truncated(what))?;
        value = (value << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            *pos += i + 1;
            return u32::try_from(value).map_err(|_| WbxmlError::IntegerOverflow(what));
        }
    }
    Err(WbxmlError::IntegerOverflow(what))
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

    fn element(&mut self, depth: usize) -> Result<Element, WbxmlError> {
        if depth > MAX_DEPTH {
            return Err(WbxmlError::TooDeep);
        }
        let mut token = self.u8("tag")?;
        while token == SWITCH_PAGE {
            self.tag_page = self.u8("code page")?;
            token = self.u8("tag")?;
        }
        let id = token & 0x3F;
        let name = match id {
            LITERAL => self.table_ref()?,
            // Global tokens (END, ENTITY, STR_I, STR_T, OPAQUE, EXT_*, PI) cannot start an
            // element.
            0x00..=0x03 => {
                return Err(WbxmlError::UnknownToken {
                    kind: "tag",
                    page: self.tag_page,
                    token,
                })
            }
            _ => self
                .tables
                .tags
                .iter()
                .find(|(p, t, _)| *p == self.tag_page && *t == id)
                .map(|(_, _, n)| (*n).to_owned())
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
        if token & 0x80 != 0 {
            self.attributes(&mut el)?;
        }
        if token & 0x40 != 0 {
            loop {
                match self.peek("element content")? {
                    END => {
                        self.pos += 1;
                        break;
                    }
                    SWITCH_PAGE => {
                        self.pos += 1;
                        self.tag_page = self.u8("code page")?;
                    }
                    STR_I => {
                        self.pos += 1;
                        let s = self.inline_string()?;
                        el.content.push(Content::Text(s));
                    }
                    STR_T => {
                        self.pos += 1;
                        let s = self.table_ref()?;
                        el.content.push(Content::Text(s));
                    }
                    ENTITY => {
                        self.pos += 1;
                        let s = self.entity()?;
                        el.content.push(Content::Text(s));
                    }
                    OPAQUE => {
                        self.pos += 1;
                        self.opaque()?;
                        el.content.push(Content::Opaque);
                    }
                    t @ (0x40..=0x43 | 0x80..=0x82 | 0xC0..=0xC2) => {
                        return Err(WbxmlError::UnsupportedToken(t))
                    }
                    _ => {
                        let child = self.element(depth + 1)?;
                        el.content.push(Content::Element(child));
                    }
                }
            }
        }
        Ok(el)
    }

    fn attributes(&mut self, el: &mut Element) -> Result<(), WbxmlError> {
        loop {
            let token = self.u8("attribute")?;
            match token {
                END => return Ok(()),
                SWITCH_PAGE => self.attr_page = self.u8("code page")?,
                LITERAL => {
                    let name = self.table_ref()?;
                    el.attributes.push((name, Vec::new()));
                }
                STR_I | STR_T | ENTITY | OPAQUE => {
                    let part = match token {
                        STR_I => Part::Text(self.inline_string()?),
                        STR_T => Part::Text(self.table_ref()?),
                        ENTITY => Part::Text(self.entity()?),
                        _ => Part::Opaque(self.opaque()?),
                    };
                    el.attributes
                        .last_mut()
                        .ok_or(WbxmlError::ValueWithoutAttribute)?
                        .1
                        .push(part);
                }
                0x40..=0x43 | 0x80..=0x82 | 0xC0..=0xC2 => {
                    return Err(WbxmlError::UnsupportedToken(token))
                }
                0x05..=0x7F => {
                    let (name, prefix) = self
                        .tables
                        .attr_starts
                        .iter()
                        .find(|(p, t, _, _)| *p == self.attr_page && *t == token)
                        .map(|(_, _, n, v)| (*n, *v))
                        .ok_or(WbxmlError::UnknownToken {
                            kind: "attribute start",
                            page: self.attr_page,
                            token,
                        })?;
                    let mut parts = Vec::new();
                    if !prefix.is_empty() {
                        parts.push(Part::Text(prefix.to_owned()));
                    }
                    el.attributes.push((name.to_owned(), parts));
                }
                _ => {
                    let value = self
                        .tables
                        .attr_values
                        .iter()
                        .find(|(p, t, _)| *p == self.attr_page && *t == token)
                        .map(|(_, _, v)| *v)
                        .ok_or(WbxmlError::UnknownToken {
                            kind: "attribute value",
                            page: self.attr_page,
                            token,
                        })?;
                    el.attributes
                        .last_mut()
                        .ok_or(WbxmlError::ValueWithoutAttribute)?
                        .1
                        .push(Part::Text(value.to_owned()));
                }
            }
        }
    }
}

/// Reads the header and body of a document.
fn parse(data: &[u8]) -> Result<(DocumentType, Element), WbxmlError> {
    let mut pos = 0;
    let version = *data.first().ok_or(WbxmlError::Truncated("version"))?;
    pos += 1;
    if version > 0x03 {
        return Err(WbxmlError::UnsupportedVersion(version));
    }
    let public_id = read_mb(data, &mut pos, "public identifier")?;
    let literal = if public_id == 0 {
        Some(read_mb(data, &mut pos, "public identifier index")?)
    } else {
        None
    };
    let charset = if version == 0x00 {
        CHARSET_UTF8
    } else {
        read_mb(data, &mut pos, "charset")?
    };
    let latin1 = match charset {
        0 | 3 | CHARSET_UTF8 => false,
        4 => true,
        other => return Err(WbxmlError::UnsupportedCharset(other)),
    };
    let len = read_mb(data, &mut pos, "string table length")? as usize;
    let strtbl = data
        .get(pos..)
        .and_then(|t| t.get(..len))
        .ok_or(WbxmlError::Truncated("string table"))?;
    pos += len;
    let doc = match literal {
        Some(index) => {
            let fpi = table_string(strtbl, index, latin1)?;
            DocumentType::from_fpi(&fpi).ok_or(WbxmlError::UnknownPublicId(fpi))?
        }
        None => DocumentType::from_public_id(public_id)
            .ok_or_else(|| WbxmlError::UnknownPublicId(format!("0x{public_id:02X}")))?,
    };
    let mut d = Decoder {
        data,
        pos,
        strtbl,
        latin1,
        tables: doc.tables(),
        tag_page: 0,
        attr_page: 0,
    };
    let root = d.element(0)?;
    if d.pos < data.len() {
        return Err(WbxmlError::TrailingData(data.len() - d.pos));
    }
    Ok((doc, root))
}

fn parse_as(data: &[u8], want: DocumentType) -> Result<Element, WbxmlError> {
    let (doc, root) = parse(data)?;
    if doc != want {
        return Err(WbxmlError::WrongDocument {
            expected: want.name(),
            found: doc.name(),
        });
    }
    Ok(root)
}

fn expect_root(root: &Element, name: &'static str) -> Result<(), WbxmlError> {
    if root.name == name {
        Ok(())
    } else {
        Err(WbxmlError::UnexpectedElement {
            found: root.name.clone(),
            parent: "document",
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The encoder.

struct Encoder {
    out: Vec<u8>,
    tables: Tables,
}

impl Encoder {
    fn new(doc: DocumentType) -> Self {
        let mut out = vec![VERSION];
        write_mb(&mut out, doc.public_id());
        write_mb(&mut out, CHARSET_UTF8);
        out.push(0); // empty string table
        Self {
            out,
            tables: doc.tables(),
        }
    }

    fn tag(&mut self, name: &str, attrs: bool, content: bool) -> Result<(), WbxmlError> {
        let token = self
            .tables
            .tags
            .iter()
            .find(|(p, _, n)| *p == 0 && *n == name)
            .map(|(_, t, _)| *t)
            .ok_or(WbxmlError::UnexpectedElement {
                found: name.to_owned(),
                parent: "document",
            })?;
        self.out
            .push(token | if attrs { 0x80 } else { 0 } | if content { 0x40 } else { 0 });
        Ok(())
    }

    fn str_i(&mut self, s: &str) -> Result<(), WbxmlError> {
        if s.as_bytes().contains(&0) {
            return Err(WbxmlError::NulInString);
        }
        self.out.push(STR_I);
        self.out.extend_from_slice(s.as_bytes());
        self.out.push(0);
        Ok(())
    }

    /// An attribute with a string value, using the longest matching start-token prefix and the
    /// value tokens.
    fn attr(&mut self, name: &'static str, value: &str) -> Result<(), WbxmlError> {
        let (token, prefix) = self
            .tables
            .attr_starts
            .iter()
            .filter(|(p, _, n, v)| *p == 0 && *n == name && value.starts_with(v))
            .max_by_key(|(_, _, _, v)| v.len())
            .map(|(_, t, _, v)| (*t, *v))
            .ok_or(WbxmlError::BadAttributeValue {
                attribute: name,
                value: value.to_owned(),
            })?;
        self.out.push(token);
        let mut rest = &value[prefix.len()..];
        if self.tables.split_values {
            while !rest.is_empty() {
                let next = self
                    .tables
                    .attr_values
                    .iter()
                    .filter(|(p, _, _)| *p == 0)
                    .filter_map(|(_, t, v)| rest.find(v).map(|at| (at, *t, v.len())))
                    .min_by_key(|(at, _, _)| *at);
                match next {
                    Some((at, t, len)) => {
                        if at > 0 {
                            self.str_i(&rest[..at])?;
                        }
                        self.out.push(t);
                        rest = &rest[at + len..];
                    }
                    None => {
                        self.str_i(rest)?;
                        rest = "";
                    }
                }
            }
        } else if !rest.is_empty() {
            let whole = self
                .tables
                .attr_values
                .iter()
                .find(|(p, _, v)| *p == 0 && *v == rest)
                .map(|(_, t, _)| *t);
            match whole {
                Some(t) => self.out.push(t),
                None => self.str_i(rest)?,
            }
        }
        Ok(())
    }

    fn date_attr(&mut self, name: &'static str, date: &DateTime) -> Result<(), WbxmlError> {
        self.attr(name, "")?;
        let bcd = date.to_bcd()?;
        self.out.push(OPAQUE);
        write_mb(&mut self.out, bcd.len() as u32);
        self.out.extend_from_slice(&bcd);
        Ok(())
    }

    fn end(&mut self) {
        self.out.push(END);
    }
}

fn write_mb(out: &mut Vec<u8>, value: u32) {
    out.extend(super::wsp::encode_uintvar(value));
}

// ---------------------------------------------------------------------------------------------
// XML output.

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

fn xml_header(doc: DocumentType) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
        doc.doctype()
    )
}

// ---------------------------------------------------------------------------------------------
// Service Indication.

/// The `action` of a Service Indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SiAction {
    /// signal-none: do not present.
    SignalNone,
    /// signal-low.
    SignalLow,
    /// signal-medium (the default when the attribute is absent).
    #[default]
    SignalMedium,
    /// signal-high.
    SignalHigh,
    /// delete: remove the SI with the same si-id.
    Delete,
}

impl SiAction {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignalNone => "signal-none",
            Self::SignalLow => "signal-low",
            Self::SignalMedium => "signal-medium",
            Self::SignalHigh => "signal-high",
            Self::Delete => "delete",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Self::SignalNone,
            Self::SignalLow,
            Self::SignalMedium,
            Self::SignalHigh,
            Self::Delete,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
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
        let mut e = Encoder::new(DocumentType::Si);
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
            e.date_attr("created", d)?;
        }
        if let Some(d) = &self.si_expires {
            e.date_attr("si-expires", d)?;
        }
        e.attr("action", self.action.as_str())?;
        e.end();
        if let Some(t) = text {
            e.str_i(t)?;
            e.end();
        }
        e.end();
        Ok(e.out)
    }

    /// Decodes a WBXML SI document.
    pub fn decode(data: &[u8]) -> Result<Self, WbxmlError> {
        Self::from_tree(&parse_as(data, DocumentType::Si)?)
    }

    fn from_tree(root: &Element) -> Result<Self, WbxmlError> {
        expect_root(root, "si")?;
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
        let action = match ind.text_attribute("action")? {
            None => SiAction::default(),
            Some(a) => SiAction::parse(&a).ok_or(WbxmlError::BadAttributeValue {
                attribute: "action",
                value: a,
            })?,
        };
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
            created: ind.date_attribute("created")?,
            si_expires: ind.date_attribute("si-expires")?,
            action,
            text: (!text.is_empty()).then_some(text),
        })
    }

    /// The document as XML, with declaration and DOCTYPE (as `wbxml2xml` would show it).
    pub fn to_xml(&self) -> String {
        let mut x = xml_header(DocumentType::Si);
        x.push_str("<si>\n  <indication");
        if let Some(h) = &self.href {
            let _ = write!(x, " href=\"{}\"", escape(h));
        }
        if let Some(i) = &self.si_id {
            let _ = write!(x, " si-id=\"{}\"", escape(i));
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
                let _ = writeln!(x, ">{}</indication>", escape(t));
            }
            None => x.push_str("/>\n"),
        }
        x.push_str("</si>\n");
        x
    }
}

// ---------------------------------------------------------------------------------------------
// Service Loading.

/// The `action` of a Service Loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlAction {
    /// execute-low (the default when the attribute is absent).
    #[default]
    ExecuteLow,
    /// execute-high.
    ExecuteHigh,
    /// cache: load into the cache only.
    Cache,
}

impl SlAction {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExecuteLow => "execute-low",
            Self::ExecuteHigh => "execute-high",
            Self::Cache => "cache",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::ExecuteLow, Self::ExecuteHigh, Self::Cache]
            .into_iter()
            .find(|a| a.as_str() == s)
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
        let mut e = Encoder::new(DocumentType::Sl);
        e.tag("sl", true, false)?;
        e.attr("href", &self.href)?;
        e.attr("action", self.action.as_str())?;
        e.end();
        Ok(e.out)
    }

    /// Decodes a WBXML SL document.
    pub fn decode(data: &[u8]) -> Result<Self, WbxmlError> {
        Self::from_tree(&parse_as(data, DocumentType::Sl)?)
    }

    fn from_tree(root: &Element) -> Result<Self, WbxmlError> {
        expect_root(root, "sl")?;
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
        let action = match root.text_attribute("action")? {
            None => SlAction::default(),
            Some(a) => SlAction::parse(&a).ok_or(WbxmlError::BadAttributeValue {
                attribute: "action",
                value: a,
            })?,
        };
        Ok(Self { href, action })
    }

    /// The document as XML, with declaration and DOCTYPE.
    pub fn to_xml(&self) -> String {
        format!(
            "{}<sl href=\"{}\" action=\"{}\"/>\n",
            xml_header(DocumentType::Sl),
            escape(&self.href),
            self.action.as_str()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// OMA Client Provisioning.

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
        let _ = write!(x, "{pad}<characteristic type=\"{}\"", escape(&self.type_));
        if self.parms.is_empty() && self.children.is_empty() {
            x.push_str("/>\n");
            return;
        }
        x.push_str(">\n");
        for p in &self.parms {
            let _ = write!(x, "{pad}  <parm name=\"{}\"", escape(&p.name));
            if let Some(v) = &p.value {
                let _ = write!(x, " value=\"{}\"", escape(v));
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
        let mut e = Encoder::new(DocumentType::Prov);
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
        Ok(e.out)
    }

    /// Decodes a WBXML PROV document.
    pub fn decode(data: &[u8]) -> Result<Self, WbxmlError> {
        Self::from_tree(&parse_as(data, DocumentType::Prov)?)
    }

    fn from_tree(root: &Element) -> Result<Self, WbxmlError> {
        expect_root(root, "wap-provisioningdoc")?;
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
        let mut x = xml_header(DocumentType::Prov);
        x.push_str("<wap-provisioningdoc");
        if let Some(v) = &self.version {
            let _ = write!(x, " version=\"{}\"", escape(v));
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

// ---------------------------------------------------------------------------------------------
// Any of the three.

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
        let (doc, root) = parse(data)?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    fn date() -> DateTime {
        DateTime {
            year: 2024,
            month: 1,
            day: 15,
            hour: 10,
            minute: 30,
            second: 0,
        }
    }

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

    fn text() -> impl Strategy<Value = String> {
        "[ -~é€]{1,30}"
    }

    fn datetime() -> impl Strategy<Value = DateTime> {
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

    fn url() -> impl Strategy<Value = String> {
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

    fn si_action() -> impl Strategy<Value = SiAction> {
        prop_oneof![
            Just(SiAction::SignalNone),
            Just(SiAction::SignalLow),
            Just(SiAction::SignalMedium),
            Just(SiAction::SignalHigh),
            Just(SiAction::Delete)
        ]
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
        fn sl_round_trip(href in url(), action in prop_oneof![
            Just(SlAction::ExecuteLow), Just(SlAction::ExecuteHigh), Just(SlAction::Cache)]) {
            let sl = ServiceLoading { href, action };
            let b = sl.encode().unwrap();
            prop_assert_eq!(ServiceLoading::decode(&b).unwrap(), sl);
        }

        #[test]
        fn prov_round_trip(version in proptest::option::of(prop_oneof![
                               Just("1.0".to_owned()), Just("1.1".to_owned())]),
                           characteristics in proptest::collection::vec(characteristic(), 0..4)) {
            let doc = ProvisioningDoc { version, characteristics };
            let b = doc.encode().unwrap();
            prop_assert_eq!(ProvisioningDoc::decode(&b).unwrap(), doc);
        }

        #[test]
        fn date_round_trip(d in datetime()) {
            prop_assert_eq!(DateTime::from_bcd(&d.to_bcd().unwrap()).unwrap(), d);
            prop_assert_eq!(DateTime::from_iso(&d.to_iso()), Some(d));
        }

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

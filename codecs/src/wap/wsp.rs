//! The WSP connectionless push PDU (WAP-230-WSP §8.2.4.1) and the encodings it needs.
//!
//! | field | octets | meaning |
//! |---|---|---|
//! | TID | 1 | transaction identifier (connectionless WSP only) |
//! | PDU type | 1 | 0x06 Push, 0x07 ConfirmedPush |
//! | HeadersLen | uintvar | octets of content type + headers |
//! | ContentType | | `Content-type-value` |
//! | Headers | | the remaining HeadersLen octets |
//! | Data | rest | the body |
//!
//! Content type (`Content-type-value`):
//! - short integer (`0x80 | code`): a well-known media type ([`content_type`] codes);
//! - text, NUL-terminated: an extension media type;
//! - general form: `Value-length` (a short length 0-30, or 0x1F + uintvar) then the media type
//!   (short or long integer, or text) and parameters. The parameters read here are SEC (0x11,
//!   encoded 0x91, a short integer) and MAC (0x12, encoded 0x92, text) of OMA Client
//!   Provisioning; the first other parameter and everything after it are kept raw.
//!
//! Headers: X-Wap-Application-Id (0x2F, encoded 0xAF) is typed (an integer code, e.g. 0x02
//! `x-wap-application:wml.ua`, or a URI); every other header is kept raw, delimited by the
//! generic WSP value rules (short integer, value-length + data, or text).
//!
//! A uintvar is big-endian base 128 with the continuation bit (0x80) set on every octet but the
//! last; at most 5 octets and 32 bits are accepted.

use thiserror::Error;

/// PDU type of a Push.
pub const PDU_PUSH: u8 = 0x06;
/// PDU type of a ConfirmedPush.
pub const PDU_CONFIRMED_PUSH: u8 = 0x07;
/// Well-known header field code of X-Wap-Application-Id.
pub const HEADER_X_WAP_APPLICATION_ID: u8 = 0x2F;
/// Well-known parameter code SEC (OMA Client Provisioning security method).
pub const PARAM_SEC: u8 = 0x11;
/// Well-known parameter code MAC (OMA Client Provisioning HMAC, hex text).
pub const PARAM_MAC: u8 = 0x12;

/// Well-known content type codes (the value before `| 0x80`).
pub mod content_type {
    /// application/vnd.wap.sic (Service Indication, WBXML).
    pub const SIC: u8 = 0x2E;
    /// application/vnd.wap.slc (Service Loading, WBXML).
    pub const SLC: u8 = 0x30;
    /// application/vnd.wap.connectivity-wbxml (OMA Client Provisioning).
    pub const CONNECTIVITY_WBXML: u8 = 0x36;
    /// application/vnd.syncml.dm+wbxml.
    pub const SYNCML_DM_WBXML: u8 = 0x42;
    /// application/vnd.syncml.notification (OMA DM package 0).
    pub const SYNCML_NOTIFICATION: u8 = 0x44;
}

/// X-Wap-Application-Id codes (the value before `| 0x80`).
pub mod application_id {
    /// x-wap-application:wml.ua (SI and SL).
    pub const WML_UA: u32 = 0x02;
    /// x-wap-application:mms.ua.
    pub const MMS_UA: u32 = 0x04;
    /// x-wap-application:push.syncml.
    pub const PUSH_SYNCML: u32 = 0x05;
    /// x-wap-application:syncml.dm (OMA DM notification).
    pub const SYNCML_DM: u32 = 0x07;
}

/// OMA Client Provisioning SEC values.
pub mod sec {
    /// Network PIN (shared secret from the IMSI).
    pub const NETWPIN: u8 = 0;
    /// User PIN.
    pub const USERPIN: u8 = 1;
    /// User PIN and network PIN.
    pub const USERNETWPIN: u8 = 2;
    /// User PIN with a MAC.
    pub const USERPINMAC: u8 = 3;
}

/// A WSP PDU that cannot be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WspError {
    /// The input ended inside a field.
    #[error("WSP: input ends inside {0}")]
    Truncated(&'static str),
    /// A uintvar longer than 5 octets or above 32 bits.
    #[error("WSP: uintvar in {0} is longer than 5 octets or exceeds 32 bits")]
    UintvarOverflow(&'static str),
    /// The PDU type is not Push or ConfirmedPush.
    #[error("WSP: PDU type 0x{0:02X} is not Push (0x06) or ConfirmedPush (0x07)")]
    NotPush(u8),
    /// A length field points past its container.
    #[error("WSP: {what} length {len} exceeds the {available} octet(s) available")]
    BadLength {
        /// The field.
        what: &'static str,
        /// Its declared length.
        len: usize,
        /// Octets available.
        available: usize,
    },
    /// A value is out of the range its encoding allows.
    #[error("WSP: {0}")]
    Invalid(&'static str),
    /// A text value holds a NUL or is not UTF-8.
    #[error("WSP: text in {0} contains NUL or is not UTF-8")]
    BadText(&'static str),
}

/// Appends `value` as a uintvar.
pub fn write_uintvar(out: &mut Vec<u8>, value: u32) {
    let mut groups = [0u8; 5];
    let mut n = 0;
    let mut v = value;
    loop {
        groups[n] = (v & 0x7F) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(if i == 0 { groups[i] } else { groups[i] | 0x80 });
    }
}

/// `value` as a uintvar.
pub fn encode_uintvar(value: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(5);
    write_uintvar(&mut out, value);
    out
}

/// Reads a uintvar at the start of `data`: its value and the octets it took.
pub fn decode_uintvar(data: &[u8]) -> Result<(u32, usize), WspError> {
    read_uintvar(data, "uintvar")
}

fn read_uintvar(data: &[u8], what: &'static str) -> Result<(u32, usize), WspError> {
    let mut value: u64 = 0;
    for (i, &b) in data.iter().enumerate() {
        if i == 5 {
            return Err(WspError::UintvarOverflow(what));
        }
        value = (value << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            let v = u32::try_from(value).map_err(|_| WspError::UintvarOverflow(what))?;
            return Ok((v, i + 1));
        }
    }
    if data.len() >= 5 {
        Err(WspError::UintvarOverflow(what))
    } else {
        Err(WspError::Truncated(what))
    }
}

/// A cursor over the PDU octets.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }
    fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }
    fn is_empty(&self) -> bool {
        self.rest().is_empty()
    }
    fn peek(&self, what: &'static str) -> Result<u8, WspError> {
        self.rest()
            .first()
            .copied()
            .ok_or(WspError::Truncated(what))
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, WspError> {
        let b = self.peek(what)?;
        self.pos += 1;
        Ok(b)
    }
    fn take(&mut self, what: &'static str, len: usize) -> Result<&'a [u8], WspError> {
        let rest = self.rest();
        if rest.len() < len {
            return Err(WspError::BadLength {
                what,
                len,
                available: rest.len(),
            });
        }
        self.pos += len;
        Ok(&rest[..len])
    }
    fn uintvar(&mut self, what: &'static str) -> Result<u32, WspError> {
        let (v, n) = read_uintvar(self.rest(), what)?;
        self.pos += n;
        Ok(v)
    }
    /// NUL-terminated octets (terminator consumed, not returned).
    fn cstr(&mut self, what: &'static str) -> Result<&'a [u8], WspError> {
        let rest = self.rest();
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(WspError::Truncated(what))?;
        self.pos += end + 1;
        Ok(&rest[..end])
    }
    /// Value-length: a short length (0-30) or 0x1F + uintvar.
    fn value_length(&mut self, what: &'static str) -> Result<usize, WspError> {
        match self.u8(what)? {
            n @ 0..=30 => Ok(usize::from(n)),
            31 => Ok(self.uintvar(what)? as usize),
            _ => Err(WspError::Invalid("value-length octet above 31")),
        }
    }
}

fn utf8(bytes: &[u8], what: &'static str) -> Result<String, WspError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| WspError::BadText(what))
}

/// Appends a Value-length.
fn write_value_length(out: &mut Vec<u8>, len: usize) -> Result<(), WspError> {
    if len <= 30 {
        out.push(len as u8);
    } else {
        let len = u32::try_from(len).map_err(|_| WspError::Invalid("value too long"))?;
        out.push(31);
        write_uintvar(out, len);
    }
    Ok(())
}

/// Whether `octets` are TEXT as WSP (RFC 2616) has it: no control octets (0-31, 127).
fn is_text(octets: &[u8]) -> bool {
    !octets.iter().any(|&b| b < 0x20 || b == 0x7F)
}

/// Appends a Text-string (with the 0x7F quote when the text starts with an octet >= 0x80).
fn write_text(out: &mut Vec<u8>, text: &str, what: &'static str) -> Result<(), WspError> {
    if !is_text(text.as_bytes()) {
        return Err(WspError::BadText(what));
    }
    if text.as_bytes().first().is_some_and(|&b| b >= 0x80) {
        out.push(0x7F);
    }
    out.extend_from_slice(text.as_bytes());
    out.push(0);
    Ok(())
}

/// Reads a Text-string (dropping a leading 0x7F quote).
fn read_text(c: &mut Cursor<'_>, what: &'static str) -> Result<String, WspError> {
    let raw = c.cstr(what)?;
    let raw = match raw.split_first() {
        Some((0x7F, rest)) => rest,
        _ => raw,
    };
    if !is_text(raw) {
        return Err(WspError::BadText(what));
    }
    utf8(raw, what)
}

/// Appends an Integer-value: a short integer below 128, else a long integer.
fn write_integer(out: &mut Vec<u8>, value: u32) {
    if value < 0x80 {
        out.push(0x80 | value as u8);
    } else {
        let bytes = value.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push((4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Reads an Integer-value whose first octet is a short integer or a short length (1-30).
fn read_integer(c: &mut Cursor<'_>, what: &'static str) -> Result<u32, WspError> {
    let first = c.u8(what)?;
    if first >= 0x80 {
        return Ok(u32::from(first & 0x7F));
    }
    let len = usize::from(first);
    if len == 0 || len > 4 {
        return Err(WspError::Invalid("long integer of 0 or more than 4 octets"));
    }
    let bytes = c.take(what, len)?;
    // A long integer need not be in its shortest form; it is written back in the shortest.
    Ok(bytes.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b)))
}

/// A media type: a well-known code or an extension media type as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    /// A well-known media code (WSP Table 40 and the OMNA registry), e.g. 0x2E.
    WellKnown(u32),
    /// An extension media type, e.g. `application/vnd.example`.
    Text(String),
}

/// A content-type parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parameter {
    /// SEC: the OMA Client Provisioning security method ([`sec`] values, 0-127).
    Sec(u8),
    /// MAC: the HMAC of an OMA Client Provisioning document, as hex text.
    Mac(String),
    /// The remaining parameter octets, kept as they were (always last).
    Raw(Vec<u8>),
}

/// A `Content-type-value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentType {
    /// Constrained form, a well-known code (0-127) as a short integer.
    WellKnown(u8),
    /// Constrained form, an extension media type as text.
    Text(String),
    /// General form: value length, media type, parameters.
    General {
        /// The media type.
        media: Media,
        /// Its parameters.
        params: Vec<Parameter>,
    },
}

impl ContentType {
    /// The OMA Client Provisioning content type with SEC and MAC, as `1F 2D B6 91 81 92 <mac> 00`.
    pub fn provisioning(sec: u8, mac: &str) -> Self {
        Self::General {
            media: Media::WellKnown(u32::from(content_type::CONNECTIVITY_WBXML)),
            params: vec![Parameter::Sec(sec), Parameter::Mac(mac.to_owned())],
        }
    }

    /// The media code, when well-known.
    pub fn well_known(&self) -> Option<u32> {
        match self {
            Self::WellKnown(c) => Some(u32::from(*c)),
            Self::General {
                media: Media::WellKnown(c),
                ..
            } => Some(*c),
            _ => None,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), WspError> {
        match self {
            Self::WellKnown(code) => {
                if *code >= 0x80 {
                    return Err(WspError::Invalid("well-known content type above 127"));
                }
                out.push(0x80 | code);
            }
            Self::Text(text) => {
                if text.is_empty() || text.as_bytes()[0] < 0x20 || text.as_bytes()[0] >= 0x80 {
                    return Err(WspError::Invalid(
                        "extension media type must start with a printable ASCII character",
                    ));
                }
                write_text(out, text, "content type")?;
            }
            Self::General { media, params } => {
                let mut body = Vec::new();
                match media {
                    Media::WellKnown(code) => write_integer(&mut body, *code),
                    Media::Text(text) => {
                        if text.is_empty()
                            || text.as_bytes()[0] < 0x20
                            || text.as_bytes()[0] >= 0x80
                        {
                            return Err(WspError::Invalid(
                                "extension media type must start with a printable ASCII character",
                            ));
                        }
                        write_text(&mut body, text, "content type")?;
                    }
                }
                for (i, p) in params.iter().enumerate() {
                    match p {
                        Parameter::Sec(v) => {
                            if *v >= 0x80 {
                                return Err(WspError::Invalid("SEC above 127"));
                            }
                            body.push(0x80 | PARAM_SEC);
                            body.push(0x80 | v);
                        }
                        Parameter::Mac(mac) => {
                            body.push(0x80 | PARAM_MAC);
                            if mac.as_bytes().first().is_some_and(|&b| b == b'"') {
                                return Err(WspError::Invalid("MAC text starts with a quote"));
                            }
                            write_text(&mut body, mac, "MAC")?;
                        }
                        Parameter::Raw(raw) => {
                            if i + 1 != params.len() {
                                return Err(WspError::Invalid("raw parameters must come last"));
                            }
                            if matches!(raw.first(), None | Some(0x91 | 0x92)) {
                                return Err(WspError::Invalid(
                                    "raw parameters empty or starting with SEC/MAC",
                                ));
                            }
                            body.extend_from_slice(raw);
                        }
                    }
                }
                write_value_length(out, body.len())?;
                out.extend_from_slice(&body);
            }
        }
        Ok(())
    }

    fn decode(c: &mut Cursor<'_>) -> Result<Self, WspError> {
        let first = c.peek("content type")?;
        if first >= 0x80 {
            c.u8("content type")?;
            return Ok(Self::WellKnown(first & 0x7F));
        }
        if first >= 0x20 {
            return Ok(Self::Text(read_text(c, "content type")?));
        }
        let len = c.value_length("content type")?;
        let mut inner = Cursor::new(c.take("content type", len)?);
        let head = inner.peek("media type")?;
        let media = if head >= 0x80 || head <= 30 {
            Media::WellKnown(read_integer(&mut inner, "media type")?)
        } else {
            Media::Text(read_text(&mut inner, "media type")?)
        };
        let mut params = Vec::new();
        while !inner.is_empty() {
            match inner.peek("parameter")? {
                0x91 => {
                    inner.u8("SEC")?;
                    let v = inner.u8("SEC")?;
                    if v < 0x80 {
                        return Err(WspError::Invalid("SEC value is not a short integer"));
                    }
                    params.push(Parameter::Sec(v & 0x7F));
                }
                0x92 => {
                    inner.u8("MAC")?;
                    if inner.peek("MAC")? == b'"' {
                        return Err(WspError::Invalid("quoted MAC not supported"));
                    }
                    params.push(Parameter::Mac(read_text(&mut inner, "MAC")?));
                }
                _ => {
                    params.push(Parameter::Raw(inner.rest().to_vec()));
                    break;
                }
            }
        }
        Ok(Self::General { media, params })
    }
}

/// An X-Wap-Application-Id value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplicationId {
    /// An assigned code ([`application_id`] values).
    Code(u32),
    /// An application URI, e.g. `x-wap-application:wml.ua`.
    Uri(String),
}

/// A WSP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// X-Wap-Application-Id.
    ApplicationId(ApplicationId),
    /// Any other header (or a code page shift), its octets kept as they were.
    Raw(Vec<u8>),
}

impl Header {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), WspError> {
        match self {
            Self::ApplicationId(id) => {
                out.push(0x80 | HEADER_X_WAP_APPLICATION_ID);
                match id {
                    ApplicationId::Code(code) => write_integer(out, *code),
                    ApplicationId::Uri(uri) => {
                        if uri.is_empty() || uri.as_bytes()[0] < 0x20 {
                            return Err(WspError::Invalid("application URI empty"));
                        }
                        write_text(out, uri, "X-Wap-Application-Id")?;
                    }
                }
            }
            Self::Raw(raw) => {
                let mut c = Cursor::new(raw);
                let parsed = read_header(&mut c)?;
                if !c.is_empty() || matches!(parsed, Self::ApplicationId(_)) {
                    return Err(WspError::Invalid(
                        "raw header is not exactly one header other than X-Wap-Application-Id",
                    ));
                }
                out.extend_from_slice(raw);
            }
        }
        Ok(())
    }
}

/// Reads one header (or shift sequence).
fn read_header(c: &mut Cursor<'_>) -> Result<Header, WspError> {
    let start = c.pos;
    let name = c.u8("header name")?;
    match name {
        0x7F => {
            c.u8("code page shift")?;
            return Ok(Header::Raw(c.data[start..c.pos].to_vec()));
        }
        0x01..=0x1F => return Ok(Header::Raw(c.data[start..c.pos].to_vec())),
        0x00 => return Err(WspError::Invalid("header name octet 0")),
        _ => {}
    }
    if name == 0x80 | HEADER_X_WAP_APPLICATION_ID {
        let first = c.peek("X-Wap-Application-Id")?;
        if first >= 0x80 || (1..=30).contains(&first) {
            let mut probe = Cursor {
                data: c.data,
                pos: c.pos,
            };
            if let Ok(code) = read_integer(&mut probe, "X-Wap-Application-Id") {
                c.pos = probe.pos;
                return Ok(Header::ApplicationId(ApplicationId::Code(code)));
            }
        } else if first >= 0x20 {
            let mut probe = Cursor {
                data: c.data,
                pos: c.pos,
            };
            if let Ok(uri) = read_text(&mut probe, "X-Wap-Application-Id") {
                if !uri.is_empty() {
                    c.pos = probe.pos;
                    return Ok(Header::ApplicationId(ApplicationId::Uri(uri)));
                }
            }
        }
    }
    if name < 0x80 {
        // Application header: Token-text name then a text value.
        c.cstr("header name")?;
        c.cstr("header value")?;
    } else {
        skip_value(c)?;
    }
    Ok(Header::Raw(c.data[start..c.pos].to_vec()))
}

/// Skips one generic field value: short integer, value-length + data, or text.
fn skip_value(c: &mut Cursor<'_>) -> Result<(), WspError> {
    let first = c.peek("header value")?;
    if first >= 0x80 {
        c.u8("header value")?;
    } else if first <= 31 {
        let len = c.value_length("header value")?;
        c.take("header value", len)?;
    } else {
        c.cstr("header value")?;
    }
    Ok(())
}

/// A connectionless WSP Push or ConfirmedPush PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPdu {
    /// Transaction identifier.
    pub tid: u8,
    /// ConfirmedPush (0x07) rather than Push (0x06).
    pub confirmed: bool,
    /// The content type.
    pub content_type: ContentType,
    /// The headers after the content type, in order.
    pub headers: Vec<Header>,
    /// The body (e.g. a WBXML document).
    pub body: Vec<u8>,
}

impl PushPdu {
    /// The X-Wap-Application-Id, if a header carries one.
    pub fn application_id(&self) -> Option<&ApplicationId> {
        self.headers.iter().find_map(|h| match h {
            Header::ApplicationId(id) => Some(id),
            Header::Raw(_) => None,
        })
    }

    /// Encodes the PDU.
    pub fn encode(&self) -> Result<Vec<u8>, WspError> {
        let mut headers = Vec::new();
        self.content_type.encode(&mut headers)?;
        for h in &self.headers {
            h.encode(&mut headers)?;
        }
        let len =
            u32::try_from(headers.len()).map_err(|_| WspError::Invalid("headers too long"))?;
        let mut out = Vec::with_capacity(headers.len() + self.body.len() + 7);
        out.push(self.tid);
        out.push(if self.confirmed {
            PDU_CONFIRMED_PUSH
        } else {
            PDU_PUSH
        });
        write_uintvar(&mut out, len);
        out.extend_from_slice(&headers);
        out.extend_from_slice(&self.body);
        Ok(out)
    }

    /// Decodes a PDU.
    pub fn decode(data: &[u8]) -> Result<Self, WspError> {
        let mut c = Cursor::new(data);
        let tid = c.u8("TID")?;
        let confirmed = match c.u8("PDU type")? {
            PDU_PUSH => false,
            PDU_CONFIRMED_PUSH => true,
            other => return Err(WspError::NotPush(other)),
        };
        let len = c.uintvar("HeadersLen")? as usize;
        let mut h = Cursor::new(c.take("headers", len)?);
        let content_type = ContentType::decode(&mut h)?;
        let mut headers = Vec::new();
        while !h.is_empty() {
            headers.push(read_header(&mut h)?);
        }
        Ok(Self {
            tid,
            confirmed,
            content_type,
            headers,
            body: c.rest().to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uintvar_vectors() {
        assert_eq!(encode_uintvar(0), [0x00]);
        assert_eq!(encode_uintvar(0x7F), [0x7F]);
        assert_eq!(encode_uintvar(0x80), [0x81, 0x00]);
        assert_eq!(encode_uintvar(0xA0), [0x81, 0x20]);
        assert_eq!(encode_uintvar(u32::MAX), [0x8F, 0xFF, 0xFF, 0xFF, 0x7F]);
        assert_eq!(decode_uintvar(&[0x81, 0x20, 9]), Ok((0xA0, 2)));
        assert_eq!(
            decode_uintvar(&[0x90, 0x80, 0x80, 0x80, 0x00]),
            Err(WspError::UintvarOverflow("uintvar"))
        );
        assert_eq!(
            decode_uintvar(&[0x81, 0x81, 0x81, 0x81, 0x81, 0x01]),
            Err(WspError::UintvarOverflow("uintvar"))
        );
        assert_eq!(decode_uintvar(&[0x81]), Err(WspError::Truncated("uintvar")));
    }

    #[test]
    fn si_push_vector() {
        let pdu = PushPdu {
            tid: 1,
            confirmed: false,
            content_type: ContentType::WellKnown(content_type::SIC),
            headers: vec![Header::ApplicationId(ApplicationId::Code(
                application_id::WML_UA,
            ))],
            body: vec![0x02, 0x05, 0x6A, 0x00],
        };
        let bytes = pdu.encode().unwrap();
        assert_eq!(
            bytes,
            [0x01, 0x06, 0x03, 0xAE, 0xAF, 0x82, 0x02, 0x05, 0x6A, 0x00]
        );
        assert_eq!(PushPdu::decode(&bytes).unwrap(), pdu);
    }

    #[test]
    fn provisioning_content_type_vector() {
        let mac = "0123456789ABCDEF0123456789ABCDEF01234567";
        let mut out = Vec::new();
        ContentType::provisioning(sec::USERPIN, mac)
            .encode(&mut out)
            .unwrap();
        let mut want = vec![0x1F, 0x2D, 0xB6, 0x91, 0x81, 0x92];
        want.extend_from_slice(mac.as_bytes());
        want.push(0);
        assert_eq!(out, want);
        let mut c = Cursor::new(&out);
        assert_eq!(
            ContentType::decode(&mut c).unwrap(),
            ContentType::provisioning(sec::USERPIN, mac)
        );
        assert!(c.is_empty());
    }

    #[test]
    fn raw_headers_are_delimited() {
        // Push-Flag (0x34) short integer, then an application header, then the app id.
        let mut bytes = vec![0x00, 0x06, 0];
        let headers = [0xB0, 0xB4, 0x81, b'X', b'-', b'A', 0, b'v', 0, 0xAF, 0x82];
        bytes[2] = headers.len() as u8;
        bytes.extend_from_slice(&headers);
        bytes.push(0x55);
        let pdu = PushPdu::decode(&bytes).unwrap();
        assert_eq!(pdu.content_type, ContentType::WellKnown(0x30));
        assert_eq!(
            pdu.headers,
            vec![
                Header::Raw(vec![0xB4, 0x81]),
                Header::Raw(b"X-A\0v\0".to_vec()),
                Header::ApplicationId(ApplicationId::Code(2)),
            ]
        );
        assert_eq!(pdu.body, [0x55]);
        assert_eq!(pdu.encode().unwrap(), bytes);
    }

    #[test]
    fn errors() {
        assert_eq!(PushPdu::decode(&[1, 0x40, 0]), Err(WspError::NotPush(0x40)));
        assert_eq!(PushPdu::decode(&[1]), Err(WspError::Truncated("PDU type")));
        assert!(matches!(
            PushPdu::decode(&[1, 6, 5, 0xAE]),
            Err(WspError::BadLength {
                what: "headers",
                ..
            })
        ));
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9./+-]{0,20}"
    }

    fn content_type() -> impl Strategy<Value = ContentType> {
        let media = prop_oneof![
            any::<u32>().prop_map(Media::WellKnown),
            text().prop_map(Media::Text)
        ];
        let param = prop_oneof![
            (0u8..0x80).prop_map(Parameter::Sec),
            "[0-9A-F]{0,40}".prop_map(Parameter::Mac),
        ];
        let raw = proptest::option::of(
            (0x93u8..=0xFF, proptest::collection::vec(any::<u8>(), 0..5)).prop_map(|(h, t)| {
                let mut v = vec![h];
                v.extend(t);
                Parameter::Raw(v)
            }),
        );
        prop_oneof![
            (0u8..0x80).prop_map(ContentType::WellKnown),
            text().prop_map(ContentType::Text),
            (media, proptest::collection::vec(param, 0..3), raw).prop_map(
                |(media, mut params, raw)| {
                    params.extend(raw);
                    ContentType::General { media, params }
                }
            ),
        ]
    }

    fn header() -> impl Strategy<Value = Header> {
        prop_oneof![
            any::<u32>().prop_map(|c| Header::ApplicationId(ApplicationId::Code(c))),
            text().prop_map(|u| Header::ApplicationId(ApplicationId::Uri(u))),
            (0x80u8..=0xFF, 0x80u8..=0xFF)
                .prop_filter("not app id", |(n, _)| *n != 0xAF)
                .prop_map(|(n, v)| Header::Raw(vec![n, v])),
            (0x80u8..=0xFF, proptest::collection::vec(any::<u8>(), 0..40))
                .prop_filter("not app id", |(n, _)| *n != 0xAF)
                .prop_map(|(n, v)| {
                    let mut out = vec![n];
                    write_value_length(&mut out, v.len()).unwrap();
                    out.extend(v);
                    Header::Raw(out)
                }),
        ]
    }

    proptest! {
        #[test]
        fn push_round_trip(tid in any::<u8>(), confirmed in any::<bool>(),
                           content_type in content_type(),
                           headers in proptest::collection::vec(header(), 0..4),
                           body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let pdu = PushPdu { tid, confirmed, content_type, headers, body };
            let bytes = pdu.encode().unwrap();
            prop_assert_eq!(PushPdu::decode(&bytes).unwrap(), pdu);
        }

        #[test]
        fn uintvar_round_trip(v in any::<u32>()) {
            let b = encode_uintvar(v);
            prop_assert_eq!(decode_uintvar(&b).unwrap(), (v, b.len()));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(pdu) = PushPdu::decode(&bytes) {
                // Whatever decodes encodes again without panicking.
                let _ = pdu.encode();
            }
        }
    }

    /// Found by the `wsp` fuzz target: a content type whose text held control octets decoded,
    /// and its encoding read back as another structure. TEXT has no control octets.
    #[test]
    fn a_text_with_control_octets_is_refused() {
        let mut input = vec![0x01, 0x06, 0x21, 0x7F, 0x7F, 0x16, 0x7F, 0x3F, 0x7F, 0x00];
        input.extend([0xFF; 40]);
        if let Ok(p) = PushPdu::decode(&input) {
            let again = PushPdu::decode(&p.encode().unwrap()).unwrap();
            assert_eq!(again, p);
        }
        assert!(PushPdu::decode(&input).is_err());
    }
}

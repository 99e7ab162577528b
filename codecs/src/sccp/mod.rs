//! SCCP connectionless messages (ANSI T1.112, ITU-T Q.713): UDT, UDTS, XUDT and XUDTS, with
//! called/calling party addresses in the ANSI or the ITU layout, chosen by the caller
//! ([`Variant`]): nothing in an address says which layout it uses.
//!
//! | type | message | fixed part | variable part (pointers) | optional part |
//! |---|---|---|---|---|
//! | 0x09 | UDT | protocol class | called, calling, data | none |
//! | 0x0A | UDTS | return cause | called, calling, data | none |
//! | 0x11 | XUDT | protocol class, hop counter | called, calling, data, optional-part pointer | parameters ending with 0x00 |
//! | 0x12 | XUDTS | return cause, hop counter | called, calling, data, optional-part pointer | parameters ending with 0x00 |
//!
//! Each pointer is one octet counted from its own position; the parameter it points to is a
//! length octet and the value. An optional-part pointer of 0 means no optional part; the
//! optional parameters (segmentation 0x10, importance 0x12, ...) are kept raw as
//! [`OptionalParameter`]s. Protocol class: low nibble the class (0 or 1), high nibble message
//! handling (0 discard, 8 return on error).
//!
//! Address indicator octet (bit 8 is the most significant):
//!
//! | bit | ANSI | ITU |
//! |---|---|---|
//! | 8 | national (must be 1) | reserved for national use (written 0, ignored) |
//! | 7 | routing indicator: 1 route on SSN, 0 on global title | same |
//! | 6-3 | global title indicator: 1 TT + NP/ES, 2 TT | 1 NAI, 2 TT, 3 TT + NP/ES, 4 TT + NP/ES + NAI |
//! | 2 | point code present | SSN present |
//! | 1 | SSN present | point code present |
//!
//! Then ANSI: SSN, point code (3 octets: member, cluster, network), global title; ITU: point
//! code (14 bits in 2 octets, least significant first), SSN, global title. Global title
//! indicators outside the table (3-15 for ANSI, 5-15 for ITU) keep everything after the
//! indicator's fields as `digits`.
//!
//! Decoding is strict about structure (pointers, lengths, octets left over inside an address, a
//! missing end-of-optional-parameters octet) and lenient about values (return causes, hop
//! counters and digits are kept as received). An ANSI address decoded as ITU, or the reverse,
//! is generally an error (the fields have different sizes) and otherwise different values: an
//! ANSI address whose national bit is 0 is refused with a hint to use ITU.
//! `decode(encode(m, v), v) == m` for every message `encode` accepts.

use thiserror::Error;

#[cfg(test)]
mod tests;

/// Message type codes.
pub mod message_type {
    /// Unitdata.
    pub const UDT: u8 = 0x09;
    /// Unitdata service.
    pub const UDTS: u8 = 0x0A;
    /// Extended unitdata.
    pub const XUDT: u8 = 0x11;
    /// Extended unitdata service.
    pub const XUDTS: u8 = 0x12;
}

/// Return cause values of UDTS/XUDTS.
pub mod return_cause {
    /// No translation for an address of such nature.
    pub const NO_TRANSLATION_FOR_NATURE: u8 = 0;
    /// No translation for this specific address.
    pub const NO_TRANSLATION_FOR_ADDRESS: u8 = 1;
    /// Subsystem congestion.
    pub const SUBSYSTEM_CONGESTION: u8 = 2;
    /// Subsystem failure.
    pub const SUBSYSTEM_FAILURE: u8 = 3;
    /// Unequipped user.
    pub const UNEQUIPPED_USER: u8 = 4;
    /// Network (MTP) failure.
    pub const NETWORK_FAILURE: u8 = 5;
    /// Network congestion.
    pub const NETWORK_CONGESTION: u8 = 6;
    /// Unqualified.
    pub const UNQUALIFIED: u8 = 7;
    /// Error in message transport.
    pub const ERROR_IN_MESSAGE_TRANSPORT: u8 = 8;
    /// Error in local processing.
    pub const ERROR_IN_LOCAL_PROCESSING: u8 = 9;
    /// Destination cannot perform reassembly.
    pub const DESTINATION_CANNOT_REASSEMBLE: u8 = 10;
    /// SCCP failure.
    pub const SCCP_FAILURE: u8 = 11;
    /// Hop counter violation.
    pub const HOP_COUNTER_VIOLATION: u8 = 12;
    /// Segmentation not supported.
    pub const SEGMENTATION_NOT_SUPPORTED: u8 = 13;
    /// Segmentation failure.
    pub const SEGMENTATION_FAILURE: u8 = 14;
}

/// Optional parameter codes of XUDT/XUDTS.
pub mod optional_code {
    /// End of optional parameters.
    pub const END: u8 = 0x00;
    /// Segmentation.
    pub const SEGMENTATION: u8 = 0x10;
    /// Importance (ITU).
    pub const IMPORTANCE: u8 = 0x12;
}

/// The largest data parameter a UDT or UDTS can carry (its length octet); more needs XUDT.
pub const MAX_UDT_DATA: usize = 255;

/// Which address layout and point code size to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// ANSI T1.112: 24-bit point codes, SSN before the point code.
    Ansi,
    /// ITU-T Q.713: 14-bit point codes, point code before the SSN.
    Itu,
}

impl Variant {
    /// The largest point code value of this variant.
    pub fn max_point_code(self) -> u32 {
        match self {
            Variant::Ansi => 0x00FF_FFFF,
            Variant::Itu => 0x3FFF,
        }
    }
}

/// A failure to decode or encode an SCCP message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SccpError {
    /// The input ended inside a field.
    #[error("SCCP: truncated {what}: need {needed} octets, have {available}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Octets needed.
        needed: usize,
        /// Octets available.
        available: usize,
    },
    /// The message type is not one of UDT, UDTS, XUDT, XUDTS.
    #[error("SCCP: message type 0x{0:02x} is not a connectionless message (UDT 0x09, UDTS 0x0a, XUDT 0x11, XUDTS 0x12)")]
    UnsupportedMessageType(u8),
    /// A mandatory pointer is 0.
    #[error("SCCP: pointer to the {0} is 0")]
    ZeroPointer(&'static str),
    /// The protocol class octet is not class 0/1 with handling 0 or 8.
    #[error("SCCP: protocol class octet 0x{0:02x} is not class 0 or 1 with message handling 0 (discard) or 8 (return on error)")]
    InvalidProtocolClass(u8),
    /// An address parameter of length 0 (it needs at least the indicator).
    #[error("SCCP: the {0} is empty")]
    EmptyAddress(&'static str),
    /// An ANSI address whose national indicator is 0 (coded to international standards).
    #[error("SCCP: address indicator 0x{0:02x} has the national bit clear: coded to ITU (international) standards; decode with Variant::Itu")]
    InternationalAddress(u8),
    /// Octets left over after an address's last field.
    #[error("SCCP: {count} octet(s) left over in the {what}")]
    TrailingOctets {
        /// The address.
        what: &'static str,
        /// How many.
        count: usize,
    },
    /// The optional part does not end with the end-of-optional-parameters octet.
    #[error("SCCP: the optional part ends without an end-of-optional-parameters octet")]
    MissingEndOfOptional,
    /// A point code exceeds the variant's size (encode).
    #[error("SCCP: point code {value:#x} does not fit the {variant:?} size (max {max:#x})")]
    PointCodeRange {
        /// The variant.
        variant: Variant,
        /// The point code.
        value: u32,
        /// The largest allowed.
        max: u32,
    },
    /// The global title's indicator is 0 or above 15 (encode).
    #[error("SCCP: global title indicator {0} is not 1-15 (0 means no global title: use None)")]
    InvalidGti(u8),
    /// The global title's fields do not match what its indicator carries (encode).
    #[error("SCCP: {variant:?} global title indicator {gti} carries {expected}")]
    GlobalTitleLayout {
        /// The variant.
        variant: Variant,
        /// The indicator.
        gti: u8,
        /// The fields it carries.
        expected: &'static str,
    },
    /// UDT/UDTS data longer than 255 octets (encode).
    #[error("SCCP: {len} octets of data do not fit a UDT/UDTS (max 255): use XUDT")]
    DataTooLongForUdt {
        /// The data length.
        len: usize,
    },
    /// A parameter or pointer exceeds its one-octet field (encode).
    #[error("SCCP: {what} of {len} exceeds the maximum of {max}")]
    TooLarge {
        /// What overflowed.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The largest allowed.
        max: usize,
    },
    /// An optional parameter with code 0, which would end the optional part (encode).
    #[error("SCCP: optional parameter code 0 is the end-of-optional-parameters marker")]
    OptionalCodeZero,
}

type Result<T> = std::result::Result<T, SccpError>;

/// A global title, its fields kept as coded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlobalTitle {
    /// Global title indicator (1-15).
    pub gti: u8,
    /// Translation type (ANSI GTI 1 and 2; ITU GTI 2, 3 and 4).
    pub translation_type: Option<u8>,
    /// The numbering plan (high nibble) / encoding scheme (low nibble) octet (ANSI GTI 1; ITU
    /// GTI 3 and 4).
    pub numbering_plan_encoding: Option<u8>,
    /// The nature of address octet (ITU GTI 1 and 4): bits 7-1 the nature of address
    /// indicator, bit 8 the odd/even indicator (GTI 1) or spare (GTI 4).
    pub nature_of_address: Option<u8>,
    /// The address digits as coded (BCD, two per octet, first digit in the low nibble, for
    /// the usual encoding schemes), kept raw.
    pub digits: Vec<u8>,
}

/// Which optional fields a global title indicator carries: (TT, NP/ES, NAI).
fn gt_layout(variant: Variant, gti: u8) -> (bool, bool, bool, &'static str) {
    match (variant, gti) {
        (Variant::Ansi, 1) => (
            true,
            true,
            false,
            "translation type and numbering plan/encoding",
        ),
        (Variant::Ansi, 2) => (true, false, false, "translation type only"),
        (Variant::Itu, 1) => (false, false, true, "nature of address only"),
        (Variant::Itu, 2) => (true, false, false, "translation type only"),
        (Variant::Itu, 3) => (
            true,
            true,
            false,
            "translation type and numbering plan/encoding",
        ),
        (Variant::Itu, 4) => (
            true,
            true,
            true,
            "translation type, numbering plan/encoding and nature of address",
        ),
        _ => (false, false, false, "no fields besides the digits"),
    }
}

/// A called or calling party address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SccpAddress {
    /// Routing indicator: true = route on point code + SSN, false = route on global title.
    pub route_on_ssn: bool,
    /// Subsystem number.
    pub ssn: Option<u8>,
    /// Signalling point code (24-bit ANSI network-cluster-member, or 14-bit ITU).
    pub point_code: Option<u32>,
    /// Global title.
    pub global_title: Option<GlobalTitle>,
}

/// Reads octets from the front of a slice.
struct Cursor<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(SccpError::Truncated {
                what: self.what,
                needed: n,
                available: self.buf.len(),
            });
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
}

impl SccpAddress {
    /// An address routed on SSN with the given SSN and point code.
    pub fn ssn_pc(ssn: u8, point_code: u32) -> Self {
        Self {
            route_on_ssn: true,
            ssn: Some(ssn),
            point_code: Some(point_code),
            global_title: None,
        }
    }

    /// Decodes an address parameter's value (without its length octet).
    pub fn decode(bytes: &[u8], variant: Variant) -> Result<Self> {
        Self::decode_named(bytes, variant, "address")
    }

    fn decode_named(bytes: &[u8], variant: Variant, what: &'static str) -> Result<Self> {
        let mut c = Cursor { buf: bytes, what };
        let Ok(ind) = c.u8() else {
            return Err(SccpError::EmptyAddress(what));
        };
        let route_on_ssn = ind & 0x40 != 0;
        let gti = (ind >> 2) & 0x0F;
        let (ssn, point_code) = match variant {
            Variant::Ansi => {
                if ind & 0x80 == 0 {
                    return Err(SccpError::InternationalAddress(ind));
                }
                let ssn = if ind & 0x01 != 0 { Some(c.u8()?) } else { None };
                let pc = if ind & 0x02 != 0 {
                    let b = c.take(3)?;
                    Some(u32::from(b[2]) << 16 | u32::from(b[1]) << 8 | u32::from(b[0]))
                } else {
                    None
                };
                (ssn, pc)
            }
            Variant::Itu => {
                let pc = if ind & 0x01 != 0 {
                    let b = c.take(2)?;
                    Some(u32::from(u16::from_le_bytes([b[0], b[1]]) & 0x3FFF))
                } else {
                    None
                };
                let ssn = if ind & 0x02 != 0 { Some(c.u8()?) } else { None };
                (ssn, pc)
            }
        };
        let global_title = if gti == 0 {
            if !c.buf.is_empty() {
                return Err(SccpError::TrailingOctets {
                    what,
                    count: c.buf.len(),
                });
            }
            None
        } else {
            let (tt, npes, nai, _) = gt_layout(variant, gti);
            let translation_type = if tt { Some(c.u8()?) } else { None };
            let numbering_plan_encoding = if npes { Some(c.u8()?) } else { None };
            let nature_of_address = if nai { Some(c.u8()?) } else { None };
            Some(GlobalTitle {
                gti,
                translation_type,
                numbering_plan_encoding,
                nature_of_address,
                digits: c.buf.to_vec(),
            })
        };
        Ok(Self {
            route_on_ssn,
            ssn,
            point_code,
            global_title,
        })
    }

    /// Encodes the address parameter's value (without its length octet). Fails if the point
    /// code exceeds the variant's size or the global title's fields do not match its indicator.
    pub fn encode(&self, variant: Variant) -> Result<Vec<u8>> {
        let mut ind = 0u8;
        if self.route_on_ssn {
            ind |= 0x40;
        }
        if let Some(gt) = &self.global_title {
            if !(1..=15).contains(&gt.gti) {
                return Err(SccpError::InvalidGti(gt.gti));
            }
            ind |= gt.gti << 2;
        }
        if let Some(pc) = self.point_code {
            let max = variant.max_point_code();
            if pc > max {
                return Err(SccpError::PointCodeRange {
                    variant,
                    value: pc,
                    max,
                });
            }
        }
        let mut out = vec![0];
        match variant {
            Variant::Ansi => {
                ind |= 0x80;
                if let Some(ssn) = self.ssn {
                    ind |= 0x01;
                    out.push(ssn);
                }
                if let Some(pc) = self.point_code {
                    ind |= 0x02;
                    out.extend_from_slice(&[pc as u8, (pc >> 8) as u8, (pc >> 16) as u8]);
                }
            }
            Variant::Itu => {
                if let Some(pc) = self.point_code {
                    ind |= 0x01;
                    out.extend_from_slice(&(pc as u16).to_le_bytes());
                }
                if let Some(ssn) = self.ssn {
                    ind |= 0x02;
                    out.push(ssn);
                }
            }
        }
        out[0] = ind;
        if let Some(gt) = &self.global_title {
            let (tt, npes, nai, expected) = gt_layout(variant, gt.gti);
            if tt != gt.translation_type.is_some()
                || npes != gt.numbering_plan_encoding.is_some()
                || nai != gt.nature_of_address.is_some()
            {
                return Err(SccpError::GlobalTitleLayout {
                    variant,
                    gti: gt.gti,
                    expected,
                });
            }
            out.extend(gt.translation_type);
            out.extend(gt.numbering_plan_encoding);
            out.extend(gt.nature_of_address);
            out.extend_from_slice(&gt.digits);
        }
        Ok(out)
    }
}

/// Protocol class of UDT/XUDT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProtocolClass {
    /// 0 (basic connectionless) or 1 (in-sequence connectionless).
    pub class: u8,
    /// Message handling: return the message (as UDTS/XUDTS) on error.
    pub return_on_error: bool,
}

impl ProtocolClass {
    fn decode(octet: u8) -> Result<Self> {
        let class = octet & 0x0F;
        let return_on_error = match octet >> 4 {
            0 => false,
            8 => true,
            _ => return Err(SccpError::InvalidProtocolClass(octet)),
        };
        if class > 1 {
            return Err(SccpError::InvalidProtocolClass(octet));
        }
        Ok(Self {
            class,
            return_on_error,
        })
    }

    fn encode(self) -> Result<u8> {
        let octet = self.class | if self.return_on_error { 0x80 } else { 0 };
        if self.class > 1 {
            return Err(SccpError::InvalidProtocolClass(octet));
        }
        Ok(octet)
    }
}

/// An XUDT/XUDTS optional parameter, kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionalParameter {
    /// Parameter name code (never 0; see [`optional_code`]).
    pub code: u8,
    /// The value (at most 255 octets).
    pub value: Vec<u8>,
}

/// UDT (0x09).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Unitdata {
    /// Protocol class.
    pub protocol_class: ProtocolClass,
    /// Called party address.
    pub called: SccpAddress,
    /// Calling party address.
    pub calling: SccpAddress,
    /// The user data (a TCAP message), at most [`MAX_UDT_DATA`] octets.
    pub data: Vec<u8>,
}

/// UDTS (0x0A).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitdataService {
    /// Return cause (see [`return_cause`]).
    pub return_cause: u8,
    /// Called party address (the returned message's calling party).
    pub called: SccpAddress,
    /// Calling party address.
    pub calling: SccpAddress,
    /// The returned user data.
    pub data: Vec<u8>,
}

/// XUDT (0x11).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtendedUnitdata {
    /// Protocol class.
    pub protocol_class: ProtocolClass,
    /// Hop counter (normally 1-15, decremented at each translation).
    pub hop_counter: u8,
    /// Called party address.
    pub called: SccpAddress,
    /// Calling party address.
    pub calling: SccpAddress,
    /// The user data.
    pub data: Vec<u8>,
    /// Optional parameters, raw; empty = no optional part.
    pub optional: Vec<OptionalParameter>,
}

/// XUDTS (0x12).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtendedUnitdataService {
    /// Return cause (see [`return_cause`]).
    pub return_cause: u8,
    /// Hop counter.
    pub hop_counter: u8,
    /// Called party address.
    pub called: SccpAddress,
    /// Calling party address.
    pub calling: SccpAddress,
    /// The returned user data.
    pub data: Vec<u8>,
    /// Optional parameters, raw; empty = no optional part.
    pub optional: Vec<OptionalParameter>,
}

/// A connectionless SCCP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SccpMessage {
    /// Unitdata.
    Udt(Unitdata),
    /// Unitdata service.
    Udts(UnitdataService),
    /// Extended unitdata.
    Xudt(ExtendedUnitdata),
    /// Extended unitdata service.
    Xudts(ExtendedUnitdataService),
}

/// Reads the variable parameter whose pointer is at `at`.
fn variable<'a>(buf: &'a [u8], at: usize, what: &'static str) -> Result<&'a [u8]> {
    let p = usize::from(*buf.get(at).ok_or(SccpError::Truncated {
        what: "pointers",
        needed: at + 1,
        available: buf.len(),
    })?);
    if p == 0 {
        return Err(SccpError::ZeroPointer(what));
    }
    let start = at + p;
    let len = usize::from(*buf.get(start).ok_or(SccpError::Truncated {
        what,
        needed: start + 1,
        available: buf.len(),
    })?);
    buf.get(start + 1..start + 1 + len)
        .ok_or(SccpError::Truncated {
            what,
            needed: start + 1 + len,
            available: buf.len(),
        })
}

/// Reads the optional part whose pointer is at `at`.
fn optional_part(buf: &[u8], at: usize) -> Result<Vec<OptionalParameter>> {
    let p = usize::from(*buf.get(at).ok_or(SccpError::Truncated {
        what: "pointers",
        needed: at + 1,
        available: buf.len(),
    })?);
    if p == 0 {
        return Ok(Vec::new());
    }
    let mut c = Cursor {
        buf: buf.get(at + p..).unwrap_or(&[]),
        what: "optional part",
    };
    let mut out = Vec::new();
    loop {
        let Ok(code) = c.u8() else {
            return Err(SccpError::MissingEndOfOptional);
        };
        if code == optional_code::END {
            return Ok(out);
        }
        let len = usize::from(c.u8()?);
        out.push(OptionalParameter {
            code,
            value: c.take(len)?.to_vec(),
        });
    }
}

/// Writes a message: fixed part, pointers, the three mandatory variable parameters and, when
/// `optional` is Some, an optional-part pointer and the optional part.
fn write_message(
    fixed: &[u8],
    called: &[u8],
    calling: &[u8],
    data: &[u8],
    optional: Option<&[OptionalParameter]>,
) -> Result<Vec<u8>> {
    let n_pointers = if optional.is_some() { 4 } else { 3 };
    let base = fixed.len();
    let mut params: Vec<&[u8]> = vec![called, calling, data];
    for (p, what) in params
        .iter()
        .zip(["called party address", "calling party address", "data"])
    {
        if p.len() > 255 {
            return Err(SccpError::TooLarge {
                what,
                len: p.len(),
                max: 255,
            });
        }
    }
    let mut opt = Vec::new();
    if let Some(list) = optional {
        for o in list {
            if o.code == optional_code::END {
                return Err(SccpError::OptionalCodeZero);
            }
            let len = u8::try_from(o.value.len()).map_err(|_| SccpError::TooLarge {
                what: "optional parameter",
                len: o.value.len(),
                max: 255,
            })?;
            opt.push(o.code);
            opt.push(len);
            opt.extend_from_slice(&o.value);
        }
        if !list.is_empty() {
            opt.push(optional_code::END);
        }
    }
    let mut out = fixed.to_vec();
    let mut target = base + n_pointers;
    let mut body = Vec::new();
    for (k, p) in params.drain(..).enumerate() {
        let pointer = target - (base + k);
        out.push(u8::try_from(pointer).map_err(|_| SccpError::TooLarge {
            what: "pointer",
            len: pointer,
            max: 255,
        })?);
        body.push(p.len() as u8);
        body.extend_from_slice(p);
        target += 1 + p.len();
    }
    if optional.is_some() {
        if opt.is_empty() {
            out.push(0);
        } else {
            let pointer = target - (base + 3);
            out.push(u8::try_from(pointer).map_err(|_| SccpError::TooLarge {
                what: "optional-part pointer",
                len: pointer,
                max: 255,
            })?);
            body.extend_from_slice(&opt);
        }
    }
    out.extend_from_slice(&body);
    Ok(out)
}

impl SccpMessage {
    /// The message type code.
    pub fn message_type(&self) -> u8 {
        match self {
            Self::Udt(_) => message_type::UDT,
            Self::Udts(_) => message_type::UDTS,
            Self::Xudt(_) => message_type::XUDT,
            Self::Xudts(_) => message_type::XUDTS,
        }
    }

    /// Decodes one message, reading addresses in the `variant` layout.
    pub fn decode(bytes: &[u8], variant: Variant) -> Result<Self> {
        let fixed = |n: usize| {
            bytes.get(..n).ok_or(SccpError::Truncated {
                what: "fixed part",
                needed: n,
                available: bytes.len(),
            })
        };
        let t = *fixed(1)?.first().unwrap_or(&0);
        let (f, first_pointer) = match t {
            message_type::UDT | message_type::UDTS => (fixed(2)?, 2),
            message_type::XUDT | message_type::XUDTS => (fixed(3)?, 3),
            other => return Err(SccpError::UnsupportedMessageType(other)),
        };
        let called = SccpAddress::decode_named(
            variable(bytes, first_pointer, "called party address")?,
            variant,
            "called party address",
        )?;
        let calling = SccpAddress::decode_named(
            variable(bytes, first_pointer + 1, "calling party address")?,
            variant,
            "calling party address",
        )?;
        let data = variable(bytes, first_pointer + 2, "data")?.to_vec();
        Ok(match t {
            message_type::UDT => Self::Udt(Unitdata {
                protocol_class: ProtocolClass::decode(f[1])?,
                called,
                calling,
                data,
            }),
            message_type::UDTS => Self::Udts(UnitdataService {
                return_cause: f[1],
                called,
                calling,
                data,
            }),
            message_type::XUDT => Self::Xudt(ExtendedUnitdata {
                protocol_class: ProtocolClass::decode(f[1])?,
                hop_counter: f[2],
                called,
                calling,
                data,
                optional: optional_part(bytes, first_pointer + 3)?,
            }),
            _ => Self::Xudts(ExtendedUnitdataService {
                return_cause: f[1],
                hop_counter: f[2],
                called,
                calling,
                data,
                optional: optional_part(bytes, first_pointer + 3)?,
            }),
        })
    }

    /// Encodes the message with addresses in the `variant` layout. Fails on UDT/UDTS data over
    /// 255 octets (use XUDT), parameters or pointers overflowing their octet, point codes too
    /// large for the variant, an invalid protocol class or global title.
    pub fn encode(&self, variant: Variant) -> Result<Vec<u8>> {
        let t = self.message_type();
        match self {
            Self::Udt(m) => {
                udt_data(&m.data)?;
                write_message(
                    &[t, m.protocol_class.encode()?],
                    &m.called.encode(variant)?,
                    &m.calling.encode(variant)?,
                    &m.data,
                    None,
                )
            }
            Self::Udts(m) => {
                udt_data(&m.data)?;
                write_message(
                    &[t, m.return_cause],
                    &m.called.encode(variant)?,
                    &m.calling.encode(variant)?,
                    &m.data,
                    None,
                )
            }
            Self::Xudt(m) => write_message(
                &[t, m.protocol_class.encode()?, m.hop_counter],
                &m.called.encode(variant)?,
                &m.calling.encode(variant)?,
                &m.data,
                Some(&m.optional),
            ),
            Self::Xudts(m) => write_message(
                &[t, m.return_cause, m.hop_counter],
                &m.called.encode(variant)?,
                &m.calling.encode(variant)?,
                &m.data,
                Some(&m.optional),
            ),
        }
    }
}

fn udt_data(data: &[u8]) -> Result<()> {
    if data.len() > MAX_UDT_DATA {
        return Err(SccpError::DataTooLongForUdt { len: data.len() });
    }
    Ok(())
}

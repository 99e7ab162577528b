//! IS-683 (TIA/EIA-683, 3GPP2 C.S0016) OTASP / OTAPA messages.
//!
//! A message is `OTASP_MSG_TYPE` (8 bits) followed by its fields packed MSB first with no
//! alignment, padded with zero bits to a whole octet. One code names a forward request
//! (base station / OTAF -> mobile, [`ForwardMessage`]) and its reverse response (mobile -> OTAF,
//! [`ReverseMessage`]):
//!
//! | code | message | code | message |
//! |---|---|---|---|
//! | 0 | Configuration | 12 | PUZL Download |
//! | 1 | Download | 13 | 3GPD Configuration |
//! | 2 | MS Key | 14 | 3GPD Download |
//! | 3 | Key Generation | 15 | Secure Mode |
//! | 4 | Re-Authenticate | 16 | (reverse only) Extended Protocol Capability Response |
//! | 5 | Commit | 17 | MMD Configuration |
//! | 6 | Protocol Capability | 18 | MMD Download |
//! | 7 | SSPR Configuration | 19 | System Tag Configuration |
//! | 8 | SSPR Download | 20 | System Tag Download |
//! | 9 | Validation | 21 | Service Key Generation |
//! | 10 | OTAPA | 22 | MMS Configuration |
//! | 11 | PUZL Configuration | 23 | MMS Download |
//!
//! Submodules: [`forward`] (requests), [`reverse`] (responses), [`nam`] (NAM parameter blocks
//! and the IS-95 MIN/IMSI digit encodings), [`result`] (RESULT_CODE), [`blocks`] (framing shared
//! by several messages: parameter blocks, block results, FRESH).
//!
//! Decoding is strict: a declared length that overruns the input, a field out of range or octets
//! left over after the last field are errors, never panics. Up to 7 pad bits after the last field
//! are ignored. Encoding rejects values that do not fit their fields instead of truncating them,
//! and `decode(encode(m)) == m` for every message `encode` accepts.

pub mod blocks;
pub mod forward;
pub mod nam;
pub mod result;
pub mod reverse;

#[cfg(test)]
mod proptests;

use thiserror::Error;

use crate::bits::{BitError, BitReader, BitWriter};

pub use blocks::{
    BlockDownloadRequest, BlockIdList, BlockResult, BlockResults, ConfiguredRawBlock, RawBlock,
    RawConfigurationResponse, SegmentRequest, SingleBlockResponse,
};
pub use forward::*;
pub use nam::{
    AccessSettings, CdmaAnalogNam, CdmaAnalogNamConfig, CdmaNam, CdmaNamConfig, ImsiParams, Mdn,
    NamConfigBlock, NamDownloadBlock, SidNid,
};
pub use result::ResultCode;
pub use reverse::*;

/// A failure to decode or encode an IS-683 message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Is683Error {
    /// The input ended inside a field.
    #[error("IS-683: {0}")]
    Bits(#[from] BitError),
    /// The OTASP_MSG_TYPE is not defined in this direction.
    #[error("IS-683: OTASP_MSG_TYPE {0} is not defined in this direction")]
    UnknownMessageType(u8),
    /// Whole octets remain after the last field of a message or block.
    #[error("IS-683: {octets} octet(s) left over after the last field of {context}")]
    TrailingBytes {
        /// The message or block being decoded.
        context: &'static str,
        /// Octets left over.
        octets: usize,
    },
    /// A parameter block's BLOCK_LEN runs past the end of the message.
    #[error(
        "IS-683: block {block_id}: BLOCK_LEN is {declared} octet(s) but only {available} remain"
    )]
    BlockLength {
        /// The BLOCK_ID (or RECORD_TYPE) of the block.
        block_id: u8,
        /// The declared length in octets.
        declared: usize,
        /// Whole octets left in the input.
        available: usize,
    },
    /// A length field (other than a BLOCK_LEN) runs past the end of the input or disagrees with
    /// the length around it.
    #[error("IS-683: {field} is {declared} octet(s) but {available} are available")]
    Length {
        /// The length field.
        field: &'static str,
        /// The declared length in octets.
        declared: usize,
        /// The octets actually available.
        available: usize,
    },
    /// A value does not fit its field (on encode), or is outside the values the field may take.
    #[error("IS-683: {field} = {value} is out of range (maximum {max})")]
    FieldOutOfRange {
        /// The field name as in the standard.
        field: &'static str,
        /// The offending value.
        value: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// A digit string contains a character that the field cannot carry.
    #[error("IS-683: {field}: {digit:?} is not a valid digit")]
    InvalidDigit {
        /// The field being converted.
        field: &'static str,
        /// The offending character.
        digit: char,
    },
    /// A digit string has the wrong number of digits.
    #[error("IS-683: {field} needs {expected} digit(s), got {found}")]
    DigitCount {
        /// The field being converted.
        field: &'static str,
        /// Digits required.
        expected: usize,
        /// Digits given.
        found: usize,
    },
    /// A 4-bit digit code on the wire is not a valid digit for its field.
    #[error("IS-683: {field}: digit code {code:#x} is not valid")]
    InvalidDigitCode {
        /// The field being decoded.
        field: &'static str,
        /// The offending code.
        code: u8,
    },
    /// A value's parts contradict each other (e.g. an optional field present when its
    /// presence condition is false), so it cannot be encoded faithfully.
    #[error("IS-683: {field}: {reason}")]
    Inconsistent {
        /// The field concerned.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Shorthand for results in this module.
pub type Result<T> = std::result::Result<T, Is683Error>;

/// OTASP_MSG_TYPE: the first octet of every IS-683 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 0: Configuration Request / Response.
    Configuration,
    /// 1: Download Request / Response.
    Download,
    /// 2: MS Key Request / Response.
    MsKey,
    /// 3: Key Generation Request / Response.
    KeyGeneration,
    /// 4: Re-Authenticate Request / Response.
    ReAuthenticate,
    /// 5: Commit Request / Response.
    Commit,
    /// 6: Protocol Capability Request / Response.
    ProtocolCapability,
    /// 7: SSPR Configuration Request / Response.
    SsprConfiguration,
    /// 8: SSPR Download Request / Response.
    SsprDownload,
    /// 9: Validation Request / Response.
    Validation,
    /// 10: OTAPA Request / Response.
    Otapa,
    /// 11: PUZL Configuration Request / Response.
    PuzlConfiguration,
    /// 12: PUZL Download Request / Response.
    PuzlDownload,
    /// 13: 3GPD Configuration Request / Response.
    ThreeGpdConfiguration,
    /// 14: 3GPD Download Request / Response.
    ThreeGpdDownload,
    /// 15: Secure Mode Request / Response.
    SecureMode,
    /// 16: Extended Protocol Capability Response (reverse only).
    ExtendedProtocolCapability,
    /// 17: MMD Configuration Request / Response.
    MmdConfiguration,
    /// 18: MMD Download Request / Response.
    MmdDownload,
    /// 19: System Tag Configuration Request / Response.
    SystemTagConfiguration,
    /// 20: System Tag Download Request / Response.
    SystemTagDownload,
    /// 21: Service Key Generation Request / Response.
    ServiceKeyGeneration,
    /// 22: MMS Configuration Request / Response.
    MmsConfiguration,
    /// 23: MMS Download Request / Response.
    MmsDownload,
}

impl MessageType {
    /// Every message type, in code order.
    pub const ALL: [MessageType; 24] = [
        MessageType::Configuration,
        MessageType::Download,
        MessageType::MsKey,
        MessageType::KeyGeneration,
        MessageType::ReAuthenticate,
        MessageType::Commit,
        MessageType::ProtocolCapability,
        MessageType::SsprConfiguration,
        MessageType::SsprDownload,
        MessageType::Validation,
        MessageType::Otapa,
        MessageType::PuzlConfiguration,
        MessageType::PuzlDownload,
        MessageType::ThreeGpdConfiguration,
        MessageType::ThreeGpdDownload,
        MessageType::SecureMode,
        MessageType::ExtendedProtocolCapability,
        MessageType::MmdConfiguration,
        MessageType::MmdDownload,
        MessageType::SystemTagConfiguration,
        MessageType::SystemTagDownload,
        MessageType::ServiceKeyGeneration,
        MessageType::MmsConfiguration,
        MessageType::MmsDownload,
    ];

    /// The OTASP_MSG_TYPE code.
    pub fn code(self) -> u8 {
        // ALL is in code order, so the position is the code.
        MessageType::ALL
            .iter()
            .position(|t| *t == self)
            .map_or(0, |i| i as u8)
    }

    /// The message type for a code, whatever the direction (`None` above 23).
    pub fn from_code(code: u8) -> Option<MessageType> {
        MessageType::ALL.get(usize::from(code)).copied()
    }

    /// The name without "Request"/"Response", as in the standard.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Configuration => "Configuration",
            MessageType::Download => "Download",
            MessageType::MsKey => "MS Key",
            MessageType::KeyGeneration => "Key Generation",
            MessageType::ReAuthenticate => "Re-Authenticate",
            MessageType::Commit => "Commit",
            MessageType::ProtocolCapability => "Protocol Capability",
            MessageType::SsprConfiguration => "SSPR Configuration",
            MessageType::SsprDownload => "SSPR Download",
            MessageType::Validation => "Validation",
            MessageType::Otapa => "OTAPA",
            MessageType::PuzlConfiguration => "PUZL Configuration",
            MessageType::PuzlDownload => "PUZL Download",
            MessageType::ThreeGpdConfiguration => "3GPD Configuration",
            MessageType::ThreeGpdDownload => "3GPD Download",
            MessageType::SecureMode => "Secure Mode",
            MessageType::ExtendedProtocolCapability => "Extended Protocol Capability",
            MessageType::MmdConfiguration => "MMD Configuration",
            MessageType::MmdDownload => "MMD Download",
            MessageType::SystemTagConfiguration => "System Tag Configuration",
            MessageType::SystemTagDownload => "System Tag Download",
            MessageType::ServiceKeyGeneration => "Service Key Generation",
            MessageType::MmsConfiguration => "MMS Configuration",
            MessageType::MmsDownload => "MMS Download",
        }
    }
}

// ---- helpers shared by the submodules ----

/// Fails with [`Is683Error::FieldOutOfRange`] unless `value` fits in `width` bits.
pub(crate) fn check_width(field: &'static str, value: u64, width: u32) -> Result<()> {
    let max = if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    if value > max {
        Err(Is683Error::FieldOutOfRange { field, value, max })
    } else {
        Ok(())
    }
}

/// Writes `value` into `width` bits after checking that it fits.
pub(crate) fn put(w: &mut BitWriter, field: &'static str, value: u64, width: u32) -> Result<()> {
    check_width(field, value, width)?;
    w.write(value, width);
    Ok(())
}

/// A count or length that must fit one octet.
pub(crate) fn octet_count(field: &'static str, n: usize) -> Result<u8> {
    u8::try_from(n).map_err(|_| Is683Error::FieldOutOfRange {
        field,
        value: n as u64,
        max: 255,
    })
}

/// Reads `len` octets for a length field other than BLOCK_LEN, checking the input first.
pub(crate) fn read_octets(
    r: &mut BitReader<'_>,
    field: &'static str,
    len: usize,
) -> Result<Vec<u8>> {
    let available = r.remaining() / 8;
    if len > available {
        return Err(Is683Error::Length {
            field,
            declared: len,
            available,
        });
    }
    Ok(r.bytes(field, len)?)
}

/// Writes an 8-bit length followed by the octets.
pub(crate) fn put_len_prefixed(w: &mut BitWriter, field: &'static str, data: &[u8]) -> Result<()> {
    let len = octet_count(field, data.len())?;
    w.write(u64::from(len), 8);
    w.bytes(data);
    Ok(())
}

/// Reads an 8-bit length followed by that many octets.
pub(crate) fn read_len_prefixed(r: &mut BitReader<'_>, field: &'static str) -> Result<Vec<u8>> {
    let len = r.u8(field, 8)?;
    read_octets(r, field, usize::from(len))
}

/// Fails if a whole octet or more remains (up to 7 pad bits are allowed).
pub(crate) fn expect_end(r: &BitReader<'_>, context: &'static str) -> Result<()> {
    let left = r.remaining();
    if left >= 8 {
        Err(Is683Error::TrailingBytes {
            context,
            octets: left / 8,
        })
    } else {
        Ok(())
    }
}

/// Reads the optional trailer FRESH_INCL 1 + (FRESH 15 | RESERVED 7). It is taken to be present
/// when at least one whole octet remains.
pub(crate) fn read_fresh(r: &mut BitReader<'_>) -> Result<Option<u16>> {
    if r.remaining() < 8 {
        return Ok(None);
    }
    if r.flag("FRESH_INCL")? {
        Ok(Some(r.u16("FRESH", 15)?))
    } else {
        r.skip("RESERVED", 7)?;
        Ok(None)
    }
}

/// Writes the FRESH trailer when `fresh` is set; writes nothing for `None` (a FRESH_INCL = 0
/// octet would decode to the same value, and older mobiles expect no trailer).
pub(crate) fn put_fresh(w: &mut BitWriter, fresh: Option<u16>) -> Result<()> {
    if let Some(f) = fresh {
        check_width("FRESH", u64::from(f), 15)?;
        w.flag(true);
        w.write(u64::from(f), 15);
    }
    Ok(())
}

/// Reads a RESULT_CODE octet.
pub(crate) fn read_result(r: &mut BitReader<'_>) -> Result<ResultCode> {
    Ok(ResultCode::from(r.u8("RESULT_CODE", 8)?))
}

/// Writes a RESULT_CODE octet.
pub(crate) fn put_result(w: &mut BitWriter, code: ResultCode) {
    w.write(u64::from(u8::from(code)), 8);
}

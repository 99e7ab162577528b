//! M3UA (RFC 4666): MTP3 user adaptation, the SIGTRAN layer that carries SCCP over IP.
//!
//! A message is an 8-octet common header followed by parameters:
//!
//! | part | fields (bits) |
//! |---|---|
//! | common header | version 1 (8), reserved (8), message class (8), message type (8), message length (32, header included) |
//! | parameter | tag (16), length (16, tag and length included, padding excluded), value, zero padding to 4 octets |
//!
//! Messages covered, with their parameters in the order [`Message::encode`] writes them
//! (M = mandatory, O = optional):
//!
//! | class/type | message | parameters |
//! |---|---|---|
//! | 0/0 | ERR | Error Code 0x000C M, Routing Context 0x0006, Network Appearance 0x0200, Affected Point Code 0x0012, Diagnostic Information 0x0007 |
//! | 0/1 | NTFY | Status 0x000D M, ASP Identifier 0x0011, Routing Context, Info String 0x0004 |
//! | 1/1 | DATA | Network Appearance, Routing Context, Protocol Data 0x0210 M, Correlation ID 0x0013 |
//! | 2/1, 2/2, 2/3, 2/6 | DUNA, DAVA, DAUD, DRST | Network Appearance, Routing Context, Affected Point Code M, Info String |
//! | 2/4 | SCON | ... Affected Point Code M, Concerned Destination 0x0206, Congestion Indications 0x0205, Info String |
//! | 2/5 | DUPU | ... Affected Point Code M, User/Cause 0x0204 M, Info String |
//! | 3/1, 3/4 | ASPUP, ASPUP ACK | ASP Identifier, Info String |
//! | 3/2, 3/5 | ASPDN, ASPDN ACK | Info String |
//! | 3/3, 3/6 | BEAT, BEAT ACK | Heartbeat Data 0x0009 |
//! | 4/1, 4/3 | ASPAC, ASPAC ACK | Traffic Mode Type 0x000B, Routing Context, Info String |
//! | 4/2, 4/4 | ASPIA, ASPIA ACK | Routing Context, Info String |
//!
//! Any other class/type (RKM, class 9, for instance) decodes to [`Message::Other`] with its
//! parameters raw.
//!
//! **Unknown parameters are preserved.** A parameter whose tag the message does not define (or
//! defines for other messages only) is kept raw, in arrival order, in the message's `extra`
//! list and written back by `encode` *after* the known parameters. So `decode(encode(m)) == m`
//! always holds, and `encode(decode(b)) == b` holds whenever the known parameters of `b` came in
//! the order above and its unknown ones after them. A known parameter that appears twice, a
//! mandatory one that is missing, or a value of the wrong size is a decode error; so is an
//! `extra` parameter whose tag the message defines, at encode time (it would be read back as
//! the typed field).
//!
//! The reserved header octet and padding octets are ignored on decode and written as zero.
//! [`frame_len`] splits a byte stream (M3UA over TCP) into messages.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::codec::{Codec, Reader};

pub mod asp_fsm;
pub mod sgp_fsm;
mod wire;

#[cfg(test)]
mod tests;

/// The only protocol version defined (RFC 4666).
pub const VERSION: u8 = 1;
/// Length of the common header in octets.
pub const HEADER_LEN: usize = 8;
/// The largest message length [`frame_len`] and [`Message::decode`] accept (64 KiB): larger
/// length fields are taken as a corrupt stream rather than a message to wait for.
pub const MAX_MESSAGE_LEN: usize = 65_536;

/// Message classes.
pub mod class {
    /// Management (ERR, NTFY).
    pub const MGMT: u8 = 0;
    /// Transfer (DATA).
    pub const TRANSFER: u8 = 1;
    /// SS7 signalling network management.
    pub const SSNM: u8 = 2;
    /// ASP state maintenance.
    pub const ASPSM: u8 = 3;
    /// ASP traffic maintenance.
    pub const ASPTM: u8 = 4;
    /// Routing key management (not decoded; kept as [`super::Message::Other`]).
    pub const RKM: u8 = 9;
}

/// Parameter tags.
pub mod tag {
    /// Info String (UTF-8 text).
    pub const INFO_STRING: u16 = 0x0004;
    /// Routing Context (list of 32-bit values).
    pub const ROUTING_CONTEXT: u16 = 0x0006;
    /// Diagnostic Information (opaque).
    pub const DIAGNOSTIC_INFORMATION: u16 = 0x0007;
    /// Heartbeat Data (opaque).
    pub const HEARTBEAT_DATA: u16 = 0x0009;
    /// Traffic Mode Type (32 bits).
    pub const TRAFFIC_MODE_TYPE: u16 = 0x000B;
    /// Error Code (32 bits).
    pub const ERROR_CODE: u16 = 0x000C;
    /// Status (type 16, info 16).
    pub const STATUS: u16 = 0x000D;
    /// ASP Identifier (32 bits).
    pub const ASP_IDENTIFIER: u16 = 0x0011;
    /// Affected Point Code (list of mask 8 + point code 24).
    pub const AFFECTED_POINT_CODE: u16 = 0x0012;
    /// Correlation ID (32 bits).
    pub const CORRELATION_ID: u16 = 0x0013;
    /// Network Appearance (32 bits).
    pub const NETWORK_APPEARANCE: u16 = 0x0200;
    /// User/Cause (cause 16, user 16).
    pub const USER_CAUSE: u16 = 0x0204;
    /// Congestion Indications (reserved 24, level 8).
    pub const CONGESTION_INDICATIONS: u16 = 0x0205;
    /// Concerned Destination (reserved 8, point code 24).
    pub const CONCERNED_DESTINATION: u16 = 0x0206;
    /// Protocol Data (OPC, DPC, SI, NI, MP, SLS, user data).
    pub const PROTOCOL_DATA: u16 = 0x0210;
}

/// Error Code values (RFC 4666 section 3.8.1).
pub mod error_code {
    /// Invalid Version.
    pub const INVALID_VERSION: u32 = 0x01;
    /// Unsupported Message Class.
    pub const UNSUPPORTED_MESSAGE_CLASS: u32 = 0x03;
    /// Unsupported Message Type.
    pub const UNSUPPORTED_MESSAGE_TYPE: u32 = 0x04;
    /// Unsupported Traffic Mode Type.
    pub const UNSUPPORTED_TRAFFIC_MODE_TYPE: u32 = 0x05;
    /// Unexpected Message.
    pub const UNEXPECTED_MESSAGE: u32 = 0x06;
    /// Protocol Error.
    pub const PROTOCOL_ERROR: u32 = 0x07;
    /// Invalid Stream Identifier.
    pub const INVALID_STREAM_IDENTIFIER: u32 = 0x09;
    /// Refused - Management Blocking.
    pub const REFUSED_MANAGEMENT_BLOCKING: u32 = 0x0D;
    /// ASP Identifier Required.
    pub const ASP_IDENTIFIER_REQUIRED: u32 = 0x0E;
    /// Invalid ASP Identifier.
    pub const INVALID_ASP_IDENTIFIER: u32 = 0x0F;
    /// Invalid Parameter Value.
    pub const INVALID_PARAMETER_VALUE: u32 = 0x11;
    /// Parameter Field Error.
    pub const PARAMETER_FIELD_ERROR: u32 = 0x12;
    /// Unexpected Parameter.
    pub const UNEXPECTED_PARAMETER: u32 = 0x13;
    /// Destination Status Unknown.
    pub const DESTINATION_STATUS_UNKNOWN: u32 = 0x14;
    /// Invalid Network Appearance.
    pub const INVALID_NETWORK_APPEARANCE: u32 = 0x15;
    /// Missing Parameter.
    pub const MISSING_PARAMETER: u32 = 0x16;
    /// Invalid Routing Context.
    pub const INVALID_ROUTING_CONTEXT: u32 = 0x19;
    /// No Configured AS for ASP.
    pub const NO_CONFIGURED_AS_FOR_ASP: u32 = 0x1A;
}

/// Status Type and Status Information values of NTFY (RFC 4666 section 3.8.2).
pub mod status {
    /// Status type: Application Server state change.
    pub const TYPE_AS_STATE_CHANGE: u16 = 1;
    /// Status type: other.
    pub const TYPE_OTHER: u16 = 2;
    /// AS state change: AS-INACTIVE.
    pub const AS_INACTIVE: u16 = 2;
    /// AS state change: AS-ACTIVE.
    pub const AS_ACTIVE: u16 = 3;
    /// AS state change: AS-PENDING.
    pub const AS_PENDING: u16 = 4;
    /// Other: insufficient ASP resources active in AS.
    pub const INSUFFICIENT_ASP_RESOURCES: u16 = 1;
    /// Other: alternate ASP active.
    pub const ALTERNATE_ASP_ACTIVE: u16 = 2;
    /// Other: ASP failure.
    pub const ASP_FAILURE: u16 = 3;
}

/// A failure to frame, decode or encode an M3UA message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum M3uaError {
    /// The input is shorter than the structure being read.
    #[error("M3UA: truncated {what}: need {needed} octets, have {available}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Octets needed.
        needed: usize,
        /// Octets available.
        available: usize,
    },
    /// The version octet is not 1.
    #[error("M3UA: unsupported version {0} (only version 1 is defined)")]
    UnsupportedVersion(u8),
    /// The header's message length is below the header size or above [`MAX_MESSAGE_LEN`].
    #[error("M3UA: message length {0} is outside 8..=65536")]
    BadMessageLength(u32),
    /// The header's message length differs from the octets given to [`Message::decode`].
    #[error("M3UA: header says {header} octets but {actual} were given (decode takes exactly one message)")]
    LengthMismatch {
        /// The message length field.
        header: usize,
        /// The input length.
        actual: usize,
    },
    /// A parameter's length field is below 4 or runs past the end of the message.
    #[error("M3UA: parameter 0x{tag:04x} has length {length}, which does not fit the {available} octets left")]
    ParameterLength {
        /// The parameter tag.
        tag: u16,
        /// Its length field.
        length: usize,
        /// Octets left in the message from the parameter's start (padding included).
        available: usize,
    },
    /// A mandatory parameter is absent.
    #[error("M3UA {message}: mandatory parameter {name} (0x{tag:04x}) is missing")]
    MissingParameter {
        /// The message.
        message: &'static str,
        /// The parameter's name.
        name: &'static str,
        /// The parameter's tag.
        tag: u16,
    },
    /// A parameter defined for the message appears more than once.
    #[error("M3UA {message}: parameter 0x{tag:04x} appears more than once")]
    DuplicateParameter {
        /// The message.
        message: &'static str,
        /// The parameter's tag.
        tag: u16,
    },
    /// A parameter value has the wrong size or content.
    #[error("M3UA: invalid {name} parameter: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A point code does not fit 24 bits.
    #[error("point code {0:#x} does not fit 24 bits")]
    PointCodeRange(u32),
    /// A point code string is not "network-cluster-member" with each part 0..=255.
    #[error("point code {0:?} is not network-cluster-member with each part 0-255")]
    PointCodeSyntax(String),
    /// A value is too large for its length field (encode).
    #[error("M3UA: {what} of {len} octets exceeds the maximum of {max}")]
    TooLarge {
        /// What overflowed.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The largest allowed.
        max: usize,
    },
    /// A list parameter that must hold at least one entry is empty (encode).
    #[error("M3UA: {0} must hold at least one entry")]
    EmptyList(&'static str),
    /// An `extra` parameter carries a tag that the message defines as a typed field (encode).
    #[error("M3UA {message}: extra parameter 0x{tag:04x} is a defined parameter of this message; set the typed field instead")]
    ExtraShadowsKnown {
        /// The message.
        message: &'static str,
        /// The tag.
        tag: u16,
    },
}

type Result<T> = std::result::Result<T, M3uaError>;

/// The state of an ASP (RFC 4666 section 4.3.1), as both ends of an association track it:
/// the ASP's own machine ([`asp_fsm`]) and the SGP's view of that ASP ([`sgp_fsm`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AspState {
    /// ASP-DOWN: not available (no transport, or ASPUP not yet acknowledged, or after ASPDN).
    #[default]
    Down,
    /// ASP-INACTIVE: up (ASPUP / ASPUP ACK), but no traffic for its Application Server.
    Inactive,
    /// ASP-ACTIVE: active (ASPAC / ASPAC ACK): DATA flows.
    Active,
}

impl AspState {
    /// The state's name as RFC 4666 writes it.
    pub fn name(self) -> &'static str {
        match self {
            AspState::Down => "ASP-DOWN",
            AspState::Inactive => "ASP-INACTIVE",
            AspState::Active => "ASP-ACTIVE",
        }
    }
}

impl fmt::Display for AspState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A 24-bit signalling point code; ANSI reads it as network (8) - cluster (8) - member (8).
/// (ITU's 14-bit point codes fit too; their `n-c-m` rendering is merely the octets.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PointCode(u32);

impl PointCode {
    /// The largest point code value.
    pub const MAX: u32 = 0x00FF_FFFF;

    /// A point code from its 24-bit value; larger values are refused.
    pub fn new(value: u32) -> Result<Self> {
        if value > Self::MAX {
            return Err(M3uaError::PointCodeRange(value));
        }
        Ok(Self(value))
    }

    /// An ANSI point code from network, cluster and member.
    pub const fn from_parts(network: u8, cluster: u8, member: u8) -> Self {
        Self(((network as u32) << 16) | ((cluster as u32) << 8) | member as u32)
    }

    /// (network, cluster, member).
    pub const fn parts(self) -> (u8, u8, u8) {
        ((self.0 >> 16) as u8, (self.0 >> 8) as u8, self.0 as u8)
    }

    /// The 24-bit value.
    pub const fn value(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for PointCode {
    type Error = M3uaError;
    fn try_from(value: u32) -> Result<Self> {
        Self::new(value)
    }
}

impl From<PointCode> for u32 {
    fn from(pc: PointCode) -> u32 {
        pc.0
    }
}

impl fmt::Display for PointCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, c, m) = self.parts();
        write!(f, "{n}-{c}-{m}")
    }
}

impl FromStr for PointCode {
    type Err = M3uaError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || M3uaError::PointCodeSyntax(s.to_string());
        let mut it = s.split('-');
        let mut part = || -> Result<u8> {
            let p = it.next().ok_or_else(bad)?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse::<u8>().map_err(|_| bad())
        };
        let (n, c, m) = (part()?, part()?, part()?);
        if it.next().is_some() {
            return Err(bad());
        }
        Ok(Self::from_parts(n, c, m))
    }
}

/// A parameter kept raw: its tag and value (without padding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// The parameter tag.
    pub tag: u16,
    /// The value octets.
    pub value: Vec<u8>,
}

impl Parameter {
    /// A raw parameter.
    pub fn new(tag: u16, value: impl Into<Vec<u8>>) -> Self {
        Self {
            tag,
            value: value.into(),
        }
    }
}

/// One entry of an Affected Point Code parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AffectedPointCode {
    /// Mask: how many low-order bits of the point code are wildcards (0 = exactly this one).
    pub mask: u8,
    /// The point code.
    pub point_code: PointCode,
}

/// Traffic Mode Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficMode {
    /// 1: override (one ASP active at a time).
    Override,
    /// 2: loadshare (traffic shared among active ASPs).
    Loadshare,
    /// 3: broadcast (every active ASP gets all traffic).
    Broadcast,
    /// Any other value, kept as received.
    Other(u32),
}

impl TrafficMode {
    /// The value on the wire.
    pub fn code(self) -> u32 {
        match self {
            Self::Override => 1,
            Self::Loadshare => 2,
            Self::Broadcast => 3,
            Self::Other(v) => v,
        }
    }
}

impl From<u32> for TrafficMode {
    fn from(v: u32) -> Self {
        match v {
            1 => Self::Override,
            2 => Self::Loadshare,
            3 => Self::Broadcast,
            v => Self::Other(v),
        }
    }
}

/// NTFY Status parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Status Type (see [`status`]).
    pub status_type: u16,
    /// Status Information (see [`status`]).
    pub status_info: u16,
}

/// DUPU User/Cause parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCause {
    /// Unavailability Cause: 0 unknown, 1 unequipped remote user, 2 inaccessible remote user.
    pub cause: u16,
    /// MTP3 User Identity (the service indicator: 3 = SCCP, ...).
    pub user: u16,
}

/// MTP3 routing label and payload (Protocol Data parameter of DATA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolData {
    /// Originating point code.
    pub opc: PointCode,
    /// Destination point code.
    pub dpc: PointCode,
    /// Service indicator (3 = SCCP).
    pub si: u8,
    /// Network indicator (0 international, 2 national).
    pub ni: u8,
    /// Message priority.
    pub mp: u8,
    /// Signalling link selection.
    pub sls: u8,
    /// The MTP3 user's message (an SCCP message when `si` is 3).
    pub user_data: Vec<u8>,
}

/// ERR (0/0).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorMessage {
    /// Error Code (see [`error_code`]).
    pub error_code: u32,
    /// Routing Context.
    pub routing_context: Option<Vec<u32>>,
    /// Network Appearance.
    pub network_appearance: Option<u32>,
    /// Affected Point Code.
    pub affected_point_codes: Option<Vec<AffectedPointCode>>,
    /// Diagnostic Information (typically the offending message).
    pub diagnostic: Option<Vec<u8>>,
    /// Parameters this message does not define, kept raw.
    pub extra: Vec<Parameter>,
}

/// NTFY (0/1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// Status.
    pub status: Status,
    /// ASP Identifier.
    pub asp_identifier: Option<u32>,
    /// Routing Context.
    pub routing_context: Option<Vec<u32>>,
    /// Info String.
    pub info_string: Option<String>,
    /// Parameters this message does not define, kept raw.
    pub extra: Vec<Parameter>,
}

/// DATA (1/1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// Network Appearance.
    pub network_appearance: Option<u32>,
    /// Routing Context.
    pub routing_context: Option<Vec<u32>>,
    /// Protocol Data.
    pub protocol_data: ProtocolData,
    /// Correlation ID.
    pub correlation_id: Option<u32>,
    /// Parameters this message does not define, kept raw.
    pub extra: Vec<Parameter>,
}

/// DUNA, DAVA, DAUD and DRST (2/1, 2/2, 2/3, 2/6); also the common part of SCON and DUPU.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DestinationState {
    /// Network Appearance.
    pub network_appearance: Option<u32>,
    /// Routing Context.
    pub routing_context: Option<Vec<u32>>,
    /// Affected Point Code (mandatory, at least one).
    pub affected_point_codes: Vec<AffectedPointCode>,
    /// Info String.
    pub info_string: Option<String>,
    /// Parameters this message does not define, kept raw.
    pub extra: Vec<Parameter>,
}

/// SCON (2/4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Congestion {
    /// Network Appearance, Routing Context, Affected Point Code, Info String and extras.
    pub state: DestinationState,
    /// Concerned Destination.
    pub concerned_destination: Option<PointCode>,
    /// Congestion Level from Congestion Indications (0 none, 1-3 levels).
    pub congestion_level: Option<u8>,
}

/// DUPU (2/5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPartUnavailable {
    /// Network Appearance, Routing Context, Affected Point Code, Info String and extras.
    pub state: DestinationState,
    /// User/Cause.
    pub user_cause: UserCause,
}

/// ASPUP and ASPUP ACK (3/1, 3/4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AspUp {
    /// ASP Identifier.
    pub asp_identifier: Option<u32>,
    /// Info String.
    pub info_string: Option<String>,
    /// Parameters this message does not define, kept raw.
    pub extra: Vec<Parameter>,
}

/// ASPDN and ASPDN ACK (3/2, 3/5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AspDown {
    /// Info String.
    pub info_string: Option<String>,
    /// Parameters this message does not define, kept raw.
    pub extra: Vec<Parameter>,
}

/// BEAT and BEAT ACK (3/3, 3/6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Heartbeat {
    /// Heartbeat Data, echoed back by the peer in BEAT ACK.
    pub data: Option<Vec<u8>>,
    /// Parameters this message does not define, kept raw.
    pub extra: Vec<Parameter>,
}

/// ASPAC and ASPAC ACK (4/1, 4/3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AspActive {
    /// Traffic Mode Type.
    pub traffic_mode: Option<TrafficMode>,
    /// Routing Context.
    pub routing_context: Option<Vec<u32>>,
    /// Info String.
    pub info_string: Option<String>,
    /// Parameters this message does not define, kept raw.
    pub extra: Vec<Parameter>,
}

/// ASPIA and ASPIA ACK (4/2, 4/4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AspInactive {
    /// Routing Context.
    pub routing_context: Option<Vec<u32>>,
    /// Info String.
    pub info_string: Option<String>,
    /// Parameters this message does not define, kept raw.
    pub extra: Vec<Parameter>,
}

/// An M3UA message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// ERR (0/0).
    Err(ErrorMessage),
    /// NTFY (0/1).
    Ntfy(Notify),
    /// DATA (1/1).
    Data(Data),
    /// DUNA (2/1): destination unavailable.
    Duna(DestinationState),
    /// DAVA (2/2): destination available.
    Dava(DestinationState),
    /// DAUD (2/3): destination state audit.
    Daud(DestinationState),
    /// SCON (2/4): signalling congestion.
    Scon(Congestion),
    /// DUPU (2/5): destination user part unavailable.
    Dupu(UserPartUnavailable),
    /// DRST (2/6): destination restricted.
    Drst(DestinationState),
    /// ASPUP (3/1).
    AspUp(AspUp),
    /// ASPDN (3/2).
    AspDn(AspDown),
    /// BEAT (3/3).
    Beat(Heartbeat),
    /// ASPUP ACK (3/4).
    AspUpAck(AspUp),
    /// ASPDN ACK (3/5).
    AspDnAck(AspDown),
    /// BEAT ACK (3/6).
    BeatAck(Heartbeat),
    /// ASPAC (4/1).
    AspAc(AspActive),
    /// ASPIA (4/2).
    AspIa(AspInactive),
    /// ASPAC ACK (4/3).
    AspAcAck(AspActive),
    /// ASPIA ACK (4/4).
    AspIaAck(AspInactive),
    /// Any other class/type, parameters raw. (Encoding one whose class/type is listed above
    /// gives octets that decode as that typed message instead.)
    Other {
        /// Message class.
        class: u8,
        /// Message type.
        msg_type: u8,
        /// Parameters in order.
        params: Vec<Parameter>,
    },
}

/// The length of the M3UA message at the start of `buf`, for splitting a stream: `Ok(None)` while
/// fewer than 8 octets (the header) are buffered, `Ok(Some(n))` once the header is in (the
/// message is complete when `buf.len() >= n`). A version other than 1 or a length outside
/// 8..=[`MAX_MESSAGE_LEN`] is an error: the stream cannot be resynchronised.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if header[0] != VERSION {
        return Err(M3uaError::UnsupportedVersion(header[0]));
    }
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    let n = len as usize;
    if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&n) {
        return Err(M3uaError::BadMessageLength(len));
    }
    Ok(Some(n))
}

impl M3uaError {
    /// The Error Code an SGP answers with when a message fails to decode this way
    /// (RFC 4666 section 3.8.1): Invalid Version, Missing Parameter, Invalid Parameter Value,
    /// Parameter Field Error, else Protocol Error.
    pub fn error_code(&self) -> u32 {
        match self {
            M3uaError::UnsupportedVersion(_) => error_code::INVALID_VERSION,
            M3uaError::MissingParameter { .. } => error_code::MISSING_PARAMETER,
            M3uaError::InvalidParameter { .. } | M3uaError::PointCodeRange(_) => {
                error_code::INVALID_PARAMETER_VALUE
            }
            M3uaError::ParameterLength { .. } => error_code::PARAMETER_FIELD_ERROR,
            _ => error_code::PROTOCOL_ERROR,
        }
    }
}

/// The name of a known class/type and the tags its typed form defines.
fn describe(class: u8, msg_type: u8) -> Option<(&'static str, &'static [u16])> {
    use tag::*;
    const DEST: &[u16] = &[
        NETWORK_APPEARANCE,
        ROUTING_CONTEXT,
        AFFECTED_POINT_CODE,
        INFO_STRING,
    ];
    const ASPUP: &[u16] = &[ASP_IDENTIFIER, INFO_STRING];
    const ASPDN: &[u16] = &[INFO_STRING];
    const BEAT: &[u16] = &[HEARTBEAT_DATA];
    const ASPAC: &[u16] = &[TRAFFIC_MODE_TYPE, ROUTING_CONTEXT, INFO_STRING];
    const ASPIA: &[u16] = &[ROUTING_CONTEXT, INFO_STRING];
    Some(match (class, msg_type) {
        (0, 0) => (
            "ERR",
            &[
                ERROR_CODE,
                ROUTING_CONTEXT,
                NETWORK_APPEARANCE,
                AFFECTED_POINT_CODE,
                DIAGNOSTIC_INFORMATION,
            ],
        ),
        (0, 1) => (
            "NTFY",
            &[STATUS, ASP_IDENTIFIER, ROUTING_CONTEXT, INFO_STRING],
        ),
        (1, 1) => (
            "DATA",
            &[
                NETWORK_APPEARANCE,
                ROUTING_CONTEXT,
                PROTOCOL_DATA,
                CORRELATION_ID,
            ],
        ),
        (2, 1) => ("DUNA", DEST),
        (2, 2) => ("DAVA", DEST),
        (2, 3) => ("DAUD", DEST),
        (2, 4) => (
            "SCON",
            &[
                NETWORK_APPEARANCE,
                ROUTING_CONTEXT,
                AFFECTED_POINT_CODE,
                CONCERNED_DESTINATION,
                CONGESTION_INDICATIONS,
                INFO_STRING,
            ],
        ),
        (2, 5) => (
            "DUPU",
            &[
                NETWORK_APPEARANCE,
                ROUTING_CONTEXT,
                AFFECTED_POINT_CODE,
                USER_CAUSE,
                INFO_STRING,
            ],
        ),
        (2, 6) => ("DRST", DEST),
        (3, 1) => ("ASPUP", ASPUP),
        (3, 2) => ("ASPDN", ASPDN),
        (3, 3) => ("BEAT", BEAT),
        (3, 4) => ("ASPUP ACK", ASPUP),
        (3, 5) => ("ASPDN ACK", ASPDN),
        (3, 6) => ("BEAT ACK", BEAT),
        (4, 1) => ("ASPAC", ASPAC),
        (4, 2) => ("ASPIA", ASPIA),
        (4, 3) => ("ASPAC ACK", ASPAC),
        (4, 4) => ("ASPIA ACK", ASPIA),
        _ => return None,
    })
}

impl Message {
    /// (message class, message type).
    pub fn class_and_type(&self) -> (u8, u8) {
        match self {
            Self::Err(_) => (0, 0),
            Self::Ntfy(_) => (0, 1),
            Self::Data(_) => (1, 1),
            Self::Duna(_) => (2, 1),
            Self::Dava(_) => (2, 2),
            Self::Daud(_) => (2, 3),
            Self::Scon(_) => (2, 4),
            Self::Dupu(_) => (2, 5),
            Self::Drst(_) => (2, 6),
            Self::AspUp(_) => (3, 1),
            Self::AspDn(_) => (3, 2),
            Self::Beat(_) => (3, 3),
            Self::AspUpAck(_) => (3, 4),
            Self::AspDnAck(_) => (3, 5),
            Self::BeatAck(_) => (3, 6),
            Self::AspAc(_) => (4, 1),
            Self::AspIa(_) => (4, 2),
            Self::AspAcAck(_) => (4, 3),
            Self::AspIaAck(_) => (4, 4),
            Self::Other {
                class, msg_type, ..
            } => (*class, *msg_type),
        }
    }

    /// The message's name as in RFC 4666 ("DATA", "ASPUP ACK", ...), or "other".
    pub fn name(&self) -> &'static str {
        match self {
            Self::Other { .. } => "other",
            m => {
                let (c, t) = m.class_and_type();
                describe(c, t).map_or("other", |(n, _)| n)
            }
        }
    }

    /// Decodes exactly one message: `buf` must be as long as its header's length field says.
    /// (The message reads itself through [`Codec::read`]; this checks the framing first.)
    pub fn decode(buf: &[u8]) -> Result<Message> {
        let Some(len) = frame_len(buf)? else {
            return Err(M3uaError::Truncated {
                what: "common header",
                needed: HEADER_LEN,
                available: buf.len(),
            });
        };
        if len != buf.len() {
            return Err(M3uaError::LengthMismatch {
                header: len,
                actual: buf.len(),
            });
        }
        <Message as Codec>::read(&mut Reader::new(buf))
    }

    /// Encodes the message: known parameters in the order of the module table, then `extra`.
    /// Fails if a parameter or the message exceeds its length field (or [`MAX_MESSAGE_LEN`]), a
    /// mandatory list is empty, or an `extra` parameter's tag is one the message defines.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.size_hint());
        <Message as Codec>::encode(self, &mut out)?;
        Ok(out)
    }

    /// Roughly how many octets the encoding takes (to size buffers).
    fn size_hint(&self) -> usize {
        match self {
            Self::Data(d) => 48 + d.protocol_data.user_data.len(),
            _ => 64,
        }
    }
}

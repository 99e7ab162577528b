//! ANSI TCAP (T1.114), the transaction layer under ANSI-41 MAP. Not ITU TCAP (Q.773): ANSI
//! uses private-class identifiers throughout and a single transaction ID element.
//!
//! A message is one package:
//!
//! | identifier | package | transaction ID (`C7`) |
//! |---|---|---|
//! | `E1` | Unidirectional | 0 octets |
//! | `E2` / `E3` | Query with / without permission | 4: originating ID |
//! | `E4` | Response | 4: the other side's ID |
//! | `E5` / `E6` | Conversation with / without permission | 8: originating then responding ID |
//! | `F6` | Abort | 4: the other side's ID |
//!
//! After the transaction ID: an optional dialogue portion (`F9`, kept as raw octets), then the
//! component sequence (`E8`), or for an Abort an optional P-Abort cause (`D7`) or user abort
//! information (`F8`, raw).
//!
//! Components:
//!
//! | identifier | component | contents |
//! |---|---|---|
//! | `E9` / `ED` | Invoke (last / not last) | component IDs `CF` (0-2 octets: invoke ID, correlation ID), operation code `D0` national / `D1` private (2 octets), parameters |
//! | `EA` / `EE` | ReturnResult (last / not last) | component ID `CF` (1 octet), parameters |
//! | `EB` | ReturnError | component ID `CF`, error code `D3` national / `D4` private (1 octet), parameters |
//! | `EC` | Reject | component ID `CF` (0-1 octet), problem `D5` (2 octets), parameters |
//!
//! Parameters are a SET (`F2`, what ANSI-41 uses) or a SEQUENCE (`F0`) of TLVs; they are kept
//! as raw element TLVs ([`Parameters`]) for [`crate::ansi41`] to type, or may be absent.
//!
//! The message, its components and their parameters read and write themselves through
//! [`Codec`] ([`TcapMessage::decode`] and [`TcapMessage::encode`] are the whole-message entry
//! points). Decoding checks every length (short and long BER forms) and every element's place
//! and size and says what is wrong ("component 2: operation code must be 2 octets, got 3"); it
//! never panics. Encoding is the inverse: `TcapMessage::decode(&m.encode()?)? == m` for every
//! message `encode` accepts. An empty component list is encoded without a component sequence.
//!
//! Beside the codec:
//!
//! | module | what |
//! |---|---|
//! | [`problem`] | T1.114's Reject problem codes and P-Abort causes, typed |
//! | [`peek`] | [`peek_transaction`]: the package type and transaction IDs of a message too broken to decode |
//! | [`transactions`] | the transaction manager, sans-IO: originating IDs, invoke timers, correlation, Reject/Abort of anything unexpected, and the responder side |

use thiserror::Error;

use crate::ber::{self, BerError, Class, Identifier, Tlv};
use crate::codec::{Codec, Reader};

pub mod peek;
pub mod problem;
pub mod transactions;

pub use peek::{peek_transaction, PackageType, PeekedTransaction};
pub use problem::{
    GeneralProblem, InvokeProblem, PAbortCause, RejectProblem, ReturnErrorProblem,
    ReturnResultProblem, TransactionPortionProblem,
};

#[cfg(test)]
mod tests;

/// Identifier tag numbers (all private class).
pub mod tags {
    /// Unidirectional package (constructed: `E1`).
    pub const UNIDIRECTIONAL: u32 = 1;
    /// Query with permission (`E2`).
    pub const QUERY_WITH_PERMISSION: u32 = 2;
    /// Query without permission (`E3`).
    pub const QUERY_WITHOUT_PERMISSION: u32 = 3;
    /// Response (`E4`).
    pub const RESPONSE: u32 = 4;
    /// Conversation with permission (`E5`).
    pub const CONVERSATION_WITH_PERMISSION: u32 = 5;
    /// Conversation without permission (`E6`).
    pub const CONVERSATION_WITHOUT_PERMISSION: u32 = 6;
    /// Abort (`F6`).
    pub const ABORT: u32 = 22;
    /// Transaction ID (primitive: `C7`).
    pub const TRANSACTION_ID: u32 = 7;
    /// Component sequence (`E8`).
    pub const COMPONENT_SEQUENCE: u32 = 8;
    /// Invoke, last (`E9`).
    pub const INVOKE_LAST: u32 = 9;
    /// ReturnResult, last (`EA`).
    pub const RETURN_RESULT_LAST: u32 = 10;
    /// ReturnError (`EB`).
    pub const RETURN_ERROR: u32 = 11;
    /// Reject (`EC`).
    pub const REJECT: u32 = 12;
    /// Invoke, not last (`ED`).
    pub const INVOKE_NOT_LAST: u32 = 13;
    /// ReturnResult, not last (`EE`).
    pub const RETURN_RESULT_NOT_LAST: u32 = 14;
    /// Component IDs (`CF`).
    pub const COMPONENT_ID: u32 = 15;
    /// National operation code (`D0`).
    pub const NATIONAL_OPERATION: u32 = 16;
    /// Private operation code (`D1`).
    pub const PRIVATE_OPERATION: u32 = 17;
    /// National error code (`D3`).
    pub const NATIONAL_ERROR: u32 = 19;
    /// Private error code (`D4`).
    pub const PRIVATE_ERROR: u32 = 20;
    /// Reject problem (`D5`).
    pub const PROBLEM: u32 = 21;
    /// P-Abort cause (`D7`).
    pub const P_ABORT_CAUSE: u32 = 23;
    /// User abort information (constructed: `F8`).
    pub const USER_ABORT_INFORMATION: u32 = 24;
    /// Dialogue portion (`F9`).
    pub const DIALOGUE_PORTION: u32 = 25;
    /// Parameter SEQUENCE (`F0`).
    pub const PARAMETER_SEQUENCE: u32 = 16;
    /// Parameter SET (`F2`).
    pub const PARAMETER_SET: u32 = 18;
}

/// A 4-octet TCAP transaction ID.
pub type TransactionId = [u8; 4];

/// A failure to decode or encode a TCAP message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TcapError {
    /// The BER structure is broken at this place.
    #[error("TCAP: {context}: {source}")]
    Ber {
        /// Where (e.g. "component 2").
        context: String,
        /// What.
        source: BerError,
    },
    /// The structure is readable but not valid TCAP.
    #[error("TCAP: {context}: {problem}")]
    Invalid {
        /// Where.
        context: String,
        /// What is wrong.
        problem: String,
    },
}

impl TcapError {
    /// The same error seen from the enclosing structure: `outer` goes in front of its place.
    fn within(self, outer: &str) -> Self {
        let join = |inner: String| {
            if inner.is_empty() {
                outer.to_owned()
            } else {
                format!("{outer}: {inner}")
            }
        };
        match self {
            TcapError::Ber { context, source } => TcapError::Ber {
                context: join(context),
                source,
            },
            TcapError::Invalid { context, problem } => TcapError::Invalid {
                context: join(context),
                problem,
            },
        }
    }
}

/// A BER failure of the structure being read or written; its place is added by the caller.
impl From<BerError> for TcapError {
    fn from(source: BerError) -> Self {
        TcapError::Ber {
            context: String::new(),
            source,
        }
    }
}

fn ber_err(context: &str) -> impl FnOnce(BerError) -> TcapError + '_ {
    move |source| TcapError::Ber {
        context: context.to_owned(),
        source,
    }
}

fn invalid(context: &str, problem: impl Into<String>) -> TcapError {
    TcapError::Invalid {
        context: context.to_owned(),
        problem: problem.into(),
    }
}

/// The package type with its transaction IDs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Package {
    /// `E1`: no transaction, no reply.
    Unidirectional,
    /// `E2` / `E3`: opens a transaction; `otid` is the sender's ID.
    Query {
        /// Whether the receiver may end the transaction (`E2`) or not (`E3`).
        with_permission: bool,
        /// Originating transaction ID.
        otid: TransactionId,
    },
    /// `E5` / `E6`: continues a transaction.
    Conversation {
        /// Whether the receiver may end the transaction (`E5`) or not (`E6`).
        with_permission: bool,
        /// The sender's ID.
        otid: TransactionId,
        /// The receiver's ID.
        dtid: TransactionId,
    },
    /// `E4`: ends a transaction; `dtid` is the receiver's ID.
    Response {
        /// Responding (destination) transaction ID.
        dtid: TransactionId,
    },
    /// `F6`: aborts a transaction.
    Abort {
        /// The receiver's transaction ID.
        dtid: TransactionId,
        /// Why, if said.
        cause: Option<AbortCause>,
    },
}

impl Package {
    fn tag(&self) -> u32 {
        match self {
            Package::Unidirectional => tags::UNIDIRECTIONAL,
            Package::Query {
                with_permission: true,
                ..
            } => tags::QUERY_WITH_PERMISSION,
            Package::Query { .. } => tags::QUERY_WITHOUT_PERMISSION,
            Package::Response { .. } => tags::RESPONSE,
            Package::Conversation {
                with_permission: true,
                ..
            } => tags::CONVERSATION_WITH_PERMISSION,
            Package::Conversation { .. } => tags::CONVERSATION_WITHOUT_PERMISSION,
            Package::Abort { .. } => tags::ABORT,
        }
    }

    /// The package's name as in T1.114.
    pub fn name(&self) -> &'static str {
        match self {
            Package::Unidirectional => "Unidirectional",
            Package::Query {
                with_permission: true,
                ..
            } => "QueryWithPermission",
            Package::Query { .. } => "QueryWithoutPermission",
            Package::Response { .. } => "Response",
            Package::Conversation {
                with_permission: true,
                ..
            } => "ConversationWithPermission",
            Package::Conversation { .. } => "ConversationWithoutPermission",
            Package::Abort { .. } => "Abort",
        }
    }

    /// Appends the transaction ID element (`C7`).
    fn write_transaction_id(&self, out: &mut Vec<u8>) -> Result<(), BerError> {
        let id = Identifier::private(false, tags::TRANSACTION_ID);
        match self {
            Package::Unidirectional => ber::write_tlv(id, &[], out),
            Package::Query { otid, .. } => ber::write_tlv(id, otid, out),
            Package::Response { dtid } | Package::Abort { dtid, .. } => {
                ber::write_tlv(id, dtid, out)
            }
            Package::Conversation { otid, dtid, .. } => {
                let mut v = [0u8; 8];
                v[..4].copy_from_slice(otid);
                v[4..].copy_from_slice(dtid);
                ber::write_tlv(id, &v, out)
            }
        }
    }

    /// The package of identifier tag `pkg_tag` from its transaction ID element's value (the
    /// Abort's cause comes later and is filled in by the caller).
    fn from_transaction_id(pkg_tag: u32, tid: &[u8]) -> Result<Self, TcapError> {
        let want = match pkg_tag {
            tags::UNIDIRECTIONAL => 0,
            tags::CONVERSATION_WITH_PERMISSION | tags::CONVERSATION_WITHOUT_PERMISSION => 8,
            _ => 4,
        };
        if tid.len() != want {
            return Err(invalid(
                "transaction ID",
                format!(
                    "must be {want} octets in this package type, got {}",
                    tid.len()
                ),
            ));
        }
        let id4 = |s: &[u8]| -> TransactionId {
            let mut a = [0u8; 4];
            a.copy_from_slice(&s[..4]);
            a
        };
        Ok(match pkg_tag {
            tags::UNIDIRECTIONAL => Package::Unidirectional,
            tags::QUERY_WITH_PERMISSION | tags::QUERY_WITHOUT_PERMISSION => Package::Query {
                with_permission: pkg_tag == tags::QUERY_WITH_PERMISSION,
                otid: id4(tid),
            },
            tags::RESPONSE => Package::Response { dtid: id4(tid) },
            tags::CONVERSATION_WITH_PERMISSION | tags::CONVERSATION_WITHOUT_PERMISSION => {
                Package::Conversation {
                    with_permission: pkg_tag == tags::CONVERSATION_WITH_PERMISSION,
                    otid: id4(&tid[..4]),
                    dtid: id4(&tid[4..]),
                }
            }
            _ => Package::Abort {
                dtid: id4(tid),
                cause: None,
            },
        })
    }
}

/// Why a transaction was aborted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AbortCause {
    /// `D7`: a protocol abort cause ([`PAbortCause`]).
    Protocol(PAbortCause),
    /// `F8`: user abort information, the raw contents.
    User(Vec<u8>),
}

/// National (`D0`/`D3`) or private (`D1`/`D4`) operation and error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeKind {
    /// Defined by a national standard.
    National,
    /// Defined by a private application (ANSI-41 uses these).
    Private,
}

/// An operation code: 2 octets, bit H (reply required) + 7-bit family, then 8-bit specifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperationCode {
    /// `D0` national or `D1` private.
    pub kind: CodeKind,
    /// Bit H of the first octet (ANSI-41 sets it to 0).
    pub reply_required: bool,
    /// Operation family (7 bits; ANSI-41 uses 9).
    pub family: u8,
    /// Operation specifier within the family.
    pub specifier: u8,
}

impl OperationCode {
    /// A private operation code with bit H clear.
    pub const fn private(family: u8, specifier: u8) -> Self {
        Self {
            kind: CodeKind::Private,
            reply_required: false,
            family,
            specifier,
        }
    }

    /// The two octets as one number, as Wireshark shows it (`D1 02 09 35` is 2357).
    pub const fn value(self) -> u16 {
        let h = if self.reply_required { 0x8000 } else { 0 };
        h | ((self.family as u16 & 0x7F) << 8) | self.specifier as u16
    }
}

/// The operation code element (`D0` / `D1`, 2 octets).
impl Codec for OperationCode {
    type Error = TcapError;

    fn read(r: &mut Reader<'_>) -> Result<Self, TcapError> {
        let op = ber::next_tlv(r)
            .map_err(ber_err("operation code"))?
            .ok_or_else(|| invalid("", "operation code is missing"))?;
        let kind = match (op.id.class, op.id.constructed, op.id.tag) {
            (Class::Private, false, tags::NATIONAL_OPERATION) => CodeKind::National,
            (Class::Private, false, tags::PRIVATE_OPERATION) => CodeKind::Private,
            _ => {
                return Err(invalid(
                    "",
                    format!("expected operation code (D0/D1), found {}", op.id),
                ))
            }
        };
        let [hi, lo] = *op.value else {
            return Err(invalid(
                "",
                format!("operation code must be 2 octets, got {}", op.value.len()),
            ));
        };
        Ok(Self {
            kind,
            reply_required: hi & 0x80 != 0,
            family: hi & 0x7F,
            specifier: lo,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), TcapError> {
        if self.family > 0x7F {
            return Err(invalid(
                "",
                format!("operation family {} does not fit 7 bits", self.family),
            ));
        }
        let tag = match self.kind {
            CodeKind::National => tags::NATIONAL_OPERATION,
            CodeKind::Private => tags::PRIVATE_OPERATION,
        };
        let octets = [
            if self.reply_required { 0x80 } else { 0 } | self.family,
            self.specifier,
        ];
        Ok(ber::write_tlv(
            Identifier::private(false, tag),
            &octets,
            out,
        )?)
    }
}

/// An error code (1 octet), national (`D3`) or private (`D4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode {
    /// National or private.
    pub kind: CodeKind,
    /// The code (ANSI-41 private errors are 0x81-0x8C, see [`crate::ansi41::ReturnErrorCode`]).
    pub code: u8,
}

/// The error code element (`D3` / `D4`, 1 octet).
impl Codec for ErrorCode {
    type Error = TcapError;

    fn read(r: &mut Reader<'_>) -> Result<Self, TcapError> {
        let e = ber::next_tlv(r)
            .map_err(ber_err("error code"))?
            .ok_or_else(|| invalid("", "error code is missing"))?;
        let kind = match (e.id.class, e.id.constructed, e.id.tag) {
            (Class::Private, false, tags::NATIONAL_ERROR) => CodeKind::National,
            (Class::Private, false, tags::PRIVATE_ERROR) => CodeKind::Private,
            _ => {
                return Err(invalid(
                    "",
                    format!("expected error code (D3/D4), found {}", e.id),
                ))
            }
        };
        let [code] = *e.value else {
            return Err(invalid(
                "",
                format!("error code must be 1 octet, got {}", e.value.len()),
            ));
        };
        Ok(Self { kind, code })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), TcapError> {
        let tag = match self.kind {
            CodeKind::National => tags::NATIONAL_ERROR,
            CodeKind::Private => tags::PRIVATE_ERROR,
        };
        Ok(ber::write_tlv(
            Identifier::private(false, tag),
            &[self.code],
            out,
        )?)
    }
}

/// The Reject problem element (`D5`, 2 octets).
impl Codec for RejectProblem {
    type Error = TcapError;

    fn read(r: &mut Reader<'_>) -> Result<Self, TcapError> {
        let p = ber::next_tlv(r)
            .map_err(ber_err("problem"))?
            .ok_or_else(|| invalid("", "reject problem (D5) is missing"))?;
        if p.id != Identifier::private(false, tags::PROBLEM) {
            return Err(invalid(
                "",
                format!("expected reject problem (D5), found {}", p.id),
            ));
        }
        let [hi, lo] = *p.value else {
            return Err(invalid(
                "",
                format!("reject problem must be 2 octets, got {}", p.value.len()),
            ));
        };
        Ok(RejectProblem::from(u16::from_be_bytes([hi, lo])))
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), TcapError> {
        Ok(ber::write_tlv(
            Identifier::private(false, tags::PROBLEM),
            &self.code().to_be_bytes(),
            out,
        )?)
    }
}

/// Whether parameters are a SET (`F2`) or a SEQUENCE (`F0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParameterKind {
    /// `F2`: elements in any order (ANSI-41).
    Set,
    /// `F0`: elements in order.
    Sequence,
}

/// A component's parameters, each element kept as a raw TLV.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Parameters {
    /// SET or SEQUENCE.
    pub kind: ParameterKind,
    /// The elements in their order on the wire.
    pub elements: Vec<Tlv>,
}

impl Parameters {
    /// An empty SET.
    pub fn empty_set() -> Self {
        Self {
            kind: ParameterKind::Set,
            elements: Vec::new(),
        }
    }

    fn identifier(&self) -> Identifier {
        Identifier::private(
            true,
            match self.kind {
                ParameterKind::Set => tags::PARAMETER_SET,
                ParameterKind::Sequence => tags::PARAMETER_SEQUENCE,
            },
        )
    }

    fn is_parameters(id: Identifier) -> bool {
        id.class == Class::Private
            && id.constructed
            && (id.tag == tags::PARAMETER_SET || id.tag == tags::PARAMETER_SEQUENCE)
    }
}

/// The parameter SET (`F2`) or SEQUENCE (`F0`) element with its element TLVs.
impl Codec for Parameters {
    type Error = TcapError;

    fn read(r: &mut Reader<'_>) -> Result<Self, TcapError> {
        let t = ber::next_tlv(r)?.ok_or_else(|| invalid("", "parameters are missing"))?;
        if !Self::is_parameters(t.id) {
            return Err(invalid(
                "",
                format!(
                    "expected parameters (F2 SET or F0 SEQUENCE), found {}",
                    t.id
                ),
            ));
        }
        let kind = match t.id.tag {
            tags::PARAMETER_SET => ParameterKind::Set,
            _ => ParameterKind::Sequence,
        };
        let elements = ber::Reader::new(t.value)
            .collect_owned()
            .map_err(ber_err("parameters"))?;
        Ok(Self { kind, elements })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), TcapError> {
        ber::write_nested(self.identifier(), out, |out| {
            self.elements.iter().try_for_each(|e| e.write(out))
        })?;
        Ok(())
    }
}

/// One TCAP component.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Component {
    /// `E9` (last) / `ED` (not last): asks the peer to perform an operation.
    Invoke {
        /// InvokeLast (`E9`) or InvokeNotLast (`ED`).
        last: bool,
        /// The invoke ID (first component ID octet), if any.
        invoke_id: Option<u8>,
        /// The correlation ID (second octet: the invoke this one is linked to), if any.
        correlation_id: Option<u8>,
        /// The operation.
        operation: OperationCode,
        /// Its parameters.
        parameters: Option<Parameters>,
    },
    /// `EA` (last) / `EE` (not last): the result of an operation.
    ReturnResult {
        /// ReturnResultLast (`EA`) or ReturnResultNotLast (`EE`).
        last: bool,
        /// The invoke ID being answered.
        correlation_id: u8,
        /// The result parameters.
        parameters: Option<Parameters>,
    },
    /// `EB`: the operation failed.
    ReturnError {
        /// The invoke ID being answered.
        correlation_id: u8,
        /// The error.
        error: ErrorCode,
        /// Error parameters.
        parameters: Option<Parameters>,
    },
    /// `EC`: a component was not understood.
    Reject {
        /// The rejected component's ID (`None`: empty component ID, the ID was not known).
        correlation_id: Option<u8>,
        /// Problem: type and specifier as T1.114 defines them.
        problem: RejectProblem,
        /// Parameters (T1.114 requires an, often empty, parameter set on a Reject).
        parameters: Option<Parameters>,
    },
}

impl Component {
    fn tag(&self) -> u32 {
        match self {
            Component::Invoke { last: true, .. } => tags::INVOKE_LAST,
            Component::Invoke { .. } => tags::INVOKE_NOT_LAST,
            Component::ReturnResult { last: true, .. } => tags::RETURN_RESULT_LAST,
            Component::ReturnResult { .. } => tags::RETURN_RESULT_NOT_LAST,
            Component::ReturnError { .. } => tags::RETURN_ERROR,
            Component::Reject { .. } => tags::REJECT,
        }
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), TcapError> {
        let cf = Identifier::private(false, tags::COMPONENT_ID);
        let parameters = match self {
            Component::Invoke {
                invoke_id,
                correlation_id,
                operation,
                parameters,
                ..
            } => {
                let ids: &[u8] = match (invoke_id, correlation_id) {
                    (None, None) => &[],
                    (Some(i), None) => &[*i],
                    (Some(i), Some(c)) => &[*i, *c],
                    (None, Some(_)) => {
                        return Err(invalid(
                            "",
                            "an Invoke with a correlation ID needs an invoke ID",
                        ))
                    }
                };
                ber::write_tlv(cf, ids, out)?;
                operation.encode(out)?;
                parameters
            }
            Component::ReturnResult {
                correlation_id,
                parameters,
                ..
            } => {
                ber::write_tlv(cf, &[*correlation_id], out)?;
                parameters
            }
            Component::ReturnError {
                correlation_id,
                error,
                parameters,
            } => {
                ber::write_tlv(cf, &[*correlation_id], out)?;
                error.encode(out)?;
                parameters
            }
            Component::Reject {
                correlation_id,
                problem,
                parameters,
            } => {
                let ids: &[u8] = match correlation_id {
                    Some(c) => &[*c],
                    None => &[],
                };
                ber::write_tlv(cf, ids, out)?;
                problem.encode(out)?;
                parameters
            }
        };
        match parameters {
            Some(p) => p.encode(out),
            None => Ok(()),
        }
    }
}

/// One component element (`E9`, `EA`, `EB`, `EC`, `ED`, `EE`) with everything in it. Errors
/// name the place inside the component; the component sequence adds which component it is.
impl Codec for Component {
    type Error = TcapError;

    fn read(r: &mut Reader<'_>) -> Result<Self, TcapError> {
        let tlv = ber::next_tlv(r)?.ok_or_else(|| invalid("", "component is missing"))?;
        if tlv.id.class != Class::Private || !tlv.id.constructed {
            return Err(invalid("", format!("{} is not a component", tlv.id)));
        }
        let kind = tlv.id.tag;
        if !(tags::INVOKE_LAST..=tags::RETURN_RESULT_NOT_LAST).contains(&kind) {
            return Err(invalid("", format!("{} is not a component type", tlv.id)));
        }
        let mut r = Reader::new(tlv.value);
        // Component IDs come first in every component.
        let ids = ber::next_tlv(&mut r)
            .map_err(ber_err("component ID"))?
            .ok_or_else(|| invalid("", "component ID (CF) is missing"))?;
        if ids.id != Identifier::private(false, tags::COMPONENT_ID) {
            return Err(invalid(
                "",
                format!("expected component ID (CF), found {}", ids.id),
            ));
        }
        let ids = ids.value;
        let single = |what: &str| -> Result<u8, TcapError> {
            match ids {
                [id] => Ok(*id),
                other => Err(invalid(
                    "",
                    format!("{what} component ID must be 1 octet, got {}", other.len()),
                )),
            }
        };
        let component = match kind {
            tags::INVOKE_LAST | tags::INVOKE_NOT_LAST => {
                if ids.len() > 2 {
                    return Err(invalid(
                        "",
                        format!("Invoke component IDs must be 0-2 octets, got {}", ids.len()),
                    ));
                }
                let operation = OperationCode::read(&mut r)?;
                Component::Invoke {
                    last: kind == tags::INVOKE_LAST,
                    invoke_id: ids.first().copied(),
                    correlation_id: ids.get(1).copied(),
                    operation,
                    parameters: read_trailing_parameters(&mut r)?,
                }
            }
            tags::RETURN_RESULT_LAST | tags::RETURN_RESULT_NOT_LAST => {
                let correlation_id = single("ReturnResult")?;
                Component::ReturnResult {
                    last: kind == tags::RETURN_RESULT_LAST,
                    correlation_id,
                    parameters: read_trailing_parameters(&mut r)?,
                }
            }
            tags::RETURN_ERROR => {
                let correlation_id = single("ReturnError")?;
                let error = ErrorCode::read(&mut r)?;
                Component::ReturnError {
                    correlation_id,
                    error,
                    parameters: read_trailing_parameters(&mut r)?,
                }
            }
            tags::REJECT => {
                if ids.len() > 1 {
                    return Err(invalid(
                        "",
                        format!("Reject component ID must be 0-1 octet, got {}", ids.len()),
                    ));
                }
                let problem = RejectProblem::read(&mut r)?;
                Component::Reject {
                    correlation_id: ids.first().copied(),
                    problem,
                    parameters: read_trailing_parameters(&mut r)?,
                }
            }
            other => return Err(invalid("", format!("component tag {other} is reserved"))),
        };
        Ok(component)
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), TcapError> {
        ber::write_nested(Identifier::private(true, self.tag()), out, |out| {
            self.write_body(out)
        })
    }
}

/// Reads the optional parameters that end a component; anything after them is an error.
fn read_trailing_parameters(r: &mut Reader<'_>) -> Result<Option<Parameters>, TcapError> {
    if !r.any_left() {
        return Ok(None);
    }
    let p = Parameters::read(r)?;
    if let Some(extra) = ber::next_tlv(r)? {
        return Err(invalid(
            "",
            format!("unexpected {} after the parameters", extra.id),
        ));
    }
    Ok(Some(p))
}

/// One ANSI TCAP message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TcapMessage {
    /// Package type and transaction IDs.
    pub package: Package,
    /// The components (none for an Abort).
    pub components: Vec<Component>,
    /// The dialogue portion's raw contents (`F9`), if present.
    pub dialogue: Option<Vec<u8>>,
}

impl TcapMessage {
    /// Encodes the message. Errors on values the wire cannot carry (an Abort with components,
    /// an Invoke with a correlation ID but no invoke ID, a family above 127).
    pub fn encode(&self) -> Result<Vec<u8>, TcapError> {
        let mut out = Vec::with_capacity(self.size_hint());
        Codec::encode(self, &mut out)?;
        Ok(out)
    }

    /// Decodes one message; octets after it are an error.
    pub fn decode(input: &[u8]) -> Result<Self, TcapError> {
        let mut r = Reader::new(input);
        let m = <Self as Codec>::read(&mut r)?;
        if r.any_left() {
            return Err(invalid(
                "package",
                format!("{} octet(s) left over after the package", r.left()),
            ));
        }
        Ok(m)
    }

    /// Roughly how many octets the encoding takes (to size the buffer once).
    fn size_hint(&self) -> usize {
        let params = |p: &Option<Parameters>| {
            p.as_ref().map_or(0, |p| {
                p.elements.iter().map(|e| e.value.len() + 6).sum::<usize>()
            })
        };
        32 + self
            .components
            .iter()
            .map(|c| {
                16 + match c {
                    Component::Invoke { parameters, .. }
                    | Component::ReturnResult { parameters, .. }
                    | Component::ReturnError { parameters, .. }
                    | Component::Reject { parameters, .. } => params(parameters),
                }
            })
            .sum::<usize>()
            + self.dialogue.as_ref().map_or(0, Vec::len)
    }
}

/// The whole message: the package element with its transaction ID, dialogue portion and
/// component sequence (or, for an Abort, its cause).
impl Codec for TcapMessage {
    type Error = TcapError;

    fn read(r: &mut Reader<'_>) -> Result<Self, TcapError> {
        let top = ber::next_tlv(r)
            .map_err(ber_err("package"))?
            .ok_or_else(|| {
                ber_err("package")(BerError::Truncated {
                    what: "identifier",
                    needed: 1,
                    available: 0,
                })
            })?;
        let pkg_tag = match (top.id.class, top.id.constructed, top.id.tag) {
            (Class::Private, true, t @ (1..=6 | tags::ABORT)) => t,
            _ => {
                return Err(invalid(
                    "package",
                    format!("{} is not an ANSI TCAP package type", top.id),
                ))
            }
        };
        let ctx = "transaction ID";
        let mut r = Reader::new(top.value);
        let tid = ber::next_tlv(&mut r)
            .map_err(ber_err(ctx))?
            .ok_or_else(|| invalid(ctx, "missing (C7)"))?;
        if tid.id != Identifier::private(false, tags::TRANSACTION_ID) {
            return Err(invalid(ctx, format!("expected C7, found {}", tid.id)));
        }
        let mut package = Package::from_transaction_id(pkg_tag, tid.value)?;
        let mut dialogue = None;
        let mut next = ber::next_tlv(&mut r).map_err(ber_err("after the transaction ID"))?;
        if let Some(t) = next {
            if t.id == Identifier::private(true, tags::DIALOGUE_PORTION) {
                dialogue = Some(t.value.to_vec());
                next = ber::next_tlv(&mut r).map_err(ber_err("after the dialogue portion"))?;
            }
        }
        let mut components = Vec::new();
        if let Package::Abort { cause, .. } = &mut package {
            if let Some(t) = next.take() {
                if t.id == Identifier::private(false, tags::P_ABORT_CAUSE) {
                    let [c] = *t.value else {
                        return Err(invalid(
                            "P-Abort cause",
                            format!("must be 1 octet, got {}", t.value.len()),
                        ));
                    };
                    *cause = Some(AbortCause::Protocol(PAbortCause::from(c)));
                } else if t.id == Identifier::private(true, tags::USER_ABORT_INFORMATION) {
                    *cause = Some(AbortCause::User(t.value.to_vec()));
                } else {
                    return Err(invalid(
                        "Abort",
                        format!(
                            "expected P-Abort cause (D7) or user abort information (F8), found {}",
                            t.id
                        ),
                    ));
                }
            }
        } else if let Some(t) = next.take() {
            if t.id != Identifier::private(true, tags::COMPONENT_SEQUENCE) {
                return Err(invalid(
                    "package",
                    format!("expected component sequence (E8), found {}", t.id),
                ));
            }
            let mut cr = Reader::new(t.value);
            while cr.any_left() {
                let n = components.len() + 1;
                components.push(
                    Component::read(&mut cr).map_err(|e| e.within(&format!("component {n}")))?,
                );
            }
        }
        if let Some(extra) = ber::next_tlv(&mut r).map_err(ber_err("package"))? {
            return Err(invalid(
                "package",
                format!("unexpected {} after the last portion", extra.id),
            ));
        }
        Ok(Self {
            package,
            components,
            dialogue,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), TcapError> {
        let pkg = self.package.name();
        if matches!(self.package, Package::Abort { .. }) && !self.components.is_empty() {
            return Err(invalid(pkg, "an Abort package carries no components"));
        }
        ber::write_nested(
            Identifier::private(true, self.package.tag()),
            out,
            |out| -> Result<(), TcapError> {
                self.package
                    .write_transaction_id(out)
                    .map_err(ber_err(pkg))?;
                if let Some(d) = &self.dialogue {
                    ber::write_tlv(Identifier::private(true, tags::DIALOGUE_PORTION), d, out)
                        .map_err(ber_err("dialogue portion"))?;
                }
                match &self.package {
                    Package::Abort { cause, .. } => match cause {
                        None => {}
                        Some(AbortCause::Protocol(c)) => ber::write_tlv(
                            Identifier::private(false, tags::P_ABORT_CAUSE),
                            &[c.code()],
                            out,
                        )
                        .map_err(ber_err(pkg))?,
                        Some(AbortCause::User(info)) => ber::write_tlv(
                            Identifier::private(true, tags::USER_ABORT_INFORMATION),
                            info,
                            out,
                        )
                        .map_err(ber_err(pkg))?,
                    },
                    _ if self.components.is_empty() => {}
                    _ => ber::write_nested(
                        Identifier::private(true, tags::COMPONENT_SEQUENCE),
                        out,
                        |out| -> Result<(), TcapError> {
                            for (i, c) in self.components.iter().enumerate() {
                                c.encode(out)
                                    .map_err(|e| e.within(&format!("component {}", i + 1)))?;
                            }
                            Ok(())
                        },
                    )?,
                }
                Ok(())
            },
        )
    }
}

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
//! Decoding checks every length and every element's place and size and says what is wrong
//! ("component 2: operation code must be 2 octets, got 3"); it never panics. Encoding is the
//! inverse: `TcapMessage::decode(&m.encode()?)? == m` for every message `encode` accepts. An
//! empty component list is encoded without a component sequence.

use thiserror::Error;

use crate::ber::{self, BerError, Class, Identifier, Reader, Tlv, TlvRef};

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

    fn transaction_octets(&self) -> Vec<u8> {
        match self {
            Package::Unidirectional => Vec::new(),
            Package::Query { otid, .. } => otid.to_vec(),
            Package::Response { dtid } | Package::Abort { dtid, .. } => dtid.to_vec(),
            Package::Conversation { otid, dtid, .. } => {
                let mut v = otid.to_vec();
                v.extend_from_slice(dtid);
                v
            }
        }
    }
}

/// Why a transaction was aborted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AbortCause {
    /// `D7`: a protocol abort cause (T1.114: 1 unrecognized package type, 2 incorrect
    /// transaction portion, 3 badly structured transaction portion, 4 unassigned responding
    /// transaction ID, 5 permission to release problem, 6 resource unavailable, 7 unrecognized
    /// dialogue portion ID, 8 badly structured dialogue portion, 9 missing dialogue portion,
    /// 10 inconsistent dialogue portion).
    Protocol(u8),
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

    fn octets(self) -> Result<[u8; 2], String> {
        if self.family > 0x7F {
            return Err(format!(
                "operation family {} does not fit 7 bits",
                self.family
            ));
        }
        Ok([
            if self.reply_required { 0x80 } else { 0 } | self.family,
            self.specifier,
        ])
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

    fn write(&self, out: &mut Vec<u8>) -> Result<(), BerError> {
        let mut body = Vec::new();
        for e in &self.elements {
            e.write(&mut body)?;
        }
        ber::write_tlv(self.identifier(), &body, out)
    }

    fn read(tlv: TlvRef<'_>, context: &str) -> Result<Self, TcapError> {
        let kind = match tlv.id.tag {
            tags::PARAMETER_SET => ParameterKind::Set,
            _ => ParameterKind::Sequence,
        };
        let elements = Reader::new(tlv.value)
            .collect_owned()
            .map_err(ber_err(&format!("{context}: parameters")))?;
        Ok(Self { kind, elements })
    }

    fn is_parameters(id: Identifier) -> bool {
        id.class == Class::Private
            && id.constructed
            && (id.tag == tags::PARAMETER_SET || id.tag == tags::PARAMETER_SEQUENCE)
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
        /// Problem: type (high octet) and specifier (low octet), e.g. 0x0202 unrecognized
        /// operation code.
        problem: u16,
        /// Parameters (T1.114 requires an, often empty, parameter set on a Reject).
        parameters: Option<Parameters>,
    },
}

impl Component {
    fn write(&self, out: &mut Vec<u8>, context: &str) -> Result<(), TcapError> {
        let mut body = Vec::new();
        let put = |id: Identifier, v: &[u8], body: &mut Vec<u8>| {
            ber::write_tlv(id, v, body).map_err(ber_err(context))
        };
        let cf = Identifier::private(false, tags::COMPONENT_ID);
        let (tag, params) = match self {
            Component::Invoke {
                last,
                invoke_id,
                correlation_id,
                operation,
                parameters,
            } => {
                let ids: Vec<u8> = match (invoke_id, correlation_id) {
                    (None, None) => vec![],
                    (Some(i), None) => vec![*i],
                    (Some(i), Some(c)) => vec![*i, *c],
                    (None, Some(_)) => {
                        return Err(invalid(
                            context,
                            "an Invoke with a correlation ID needs an invoke ID",
                        ))
                    }
                };
                put(cf, &ids, &mut body)?;
                let op_tag = match operation.kind {
                    CodeKind::National => tags::NATIONAL_OPERATION,
                    CodeKind::Private => tags::PRIVATE_OPERATION,
                };
                let octets = operation.octets().map_err(|p| invalid(context, p))?;
                put(Identifier::private(false, op_tag), &octets, &mut body)?;
                let tag = if *last {
                    tags::INVOKE_LAST
                } else {
                    tags::INVOKE_NOT_LAST
                };
                (tag, parameters)
            }
            Component::ReturnResult {
                last,
                correlation_id,
                parameters,
            } => {
                put(cf, &[*correlation_id], &mut body)?;
                let tag = if *last {
                    tags::RETURN_RESULT_LAST
                } else {
                    tags::RETURN_RESULT_NOT_LAST
                };
                (tag, parameters)
            }
            Component::ReturnError {
                correlation_id,
                error,
                parameters,
            } => {
                put(cf, &[*correlation_id], &mut body)?;
                let tag = match error.kind {
                    CodeKind::National => tags::NATIONAL_ERROR,
                    CodeKind::Private => tags::PRIVATE_ERROR,
                };
                put(Identifier::private(false, tag), &[error.code], &mut body)?;
                (tags::RETURN_ERROR, parameters)
            }
            Component::Reject {
                correlation_id,
                problem,
                parameters,
            } => {
                let ids: Vec<u8> = correlation_id.iter().copied().collect();
                put(cf, &ids, &mut body)?;
                put(
                    Identifier::private(false, tags::PROBLEM),
                    &problem.to_be_bytes(),
                    &mut body,
                )?;
                (tags::REJECT, parameters)
            }
        };
        if let Some(p) = params {
            p.write(&mut body).map_err(ber_err(context))?;
        }
        ber::write_tlv(Identifier::private(true, tag), &body, out).map_err(ber_err(context))
    }

    fn read(tlv: TlvRef<'_>, context: &str) -> Result<Self, TcapError> {
        if tlv.id.class != Class::Private || !tlv.id.constructed {
            return Err(invalid(context, format!("{} is not a component", tlv.id)));
        }
        let kind = tlv.id.tag;
        if !(tags::INVOKE_LAST..=tags::RETURN_RESULT_NOT_LAST).contains(&kind) {
            return Err(invalid(
                context,
                format!("{} is not a component type", tlv.id),
            ));
        }
        let mut r = tlv.children();
        let mut next = |what: &str| -> Result<Option<TlvRef<'_>>, TcapError> {
            r.next_tlv().map_err(ber_err(&format!("{context}: {what}")))
        };
        // Component IDs come first in every component.
        let ids = next("component ID")?
            .ok_or_else(|| invalid(context, "component ID (CF) is missing"))?;
        if ids.id != Identifier::private(false, tags::COMPONENT_ID) {
            return Err(invalid(
                context,
                format!("expected component ID (CF), found {}", ids.id),
            ));
        }
        let ids = ids.value.to_vec();
        let single = |what: &str| -> Result<u8, TcapError> {
            match ids.as_slice() {
                [id] => Ok(*id),
                other => Err(invalid(
                    context,
                    format!("{what} component ID must be 1 octet, got {}", other.len()),
                )),
            }
        };
        let component = match kind {
            tags::INVOKE_LAST | tags::INVOKE_NOT_LAST => {
                if ids.len() > 2 {
                    return Err(invalid(
                        context,
                        format!("Invoke component IDs must be 0-2 octets, got {}", ids.len()),
                    ));
                }
                let op = next("operation code")?
                    .ok_or_else(|| invalid(context, "operation code is missing"))?;
                let op_kind = match (op.id.class, op.id.constructed, op.id.tag) {
                    (Class::Private, false, tags::NATIONAL_OPERATION) => CodeKind::National,
                    (Class::Private, false, tags::PRIVATE_OPERATION) => CodeKind::Private,
                    _ => {
                        return Err(invalid(
                            context,
                            format!("expected operation code (D0/D1), found {}", op.id),
                        ))
                    }
                };
                let [hi, lo] = *op.value else {
                    return Err(invalid(
                        context,
                        format!("operation code must be 2 octets, got {}", op.value.len()),
                    ));
                };
                let parameters = read_trailing_parameters(&mut r, context)?;
                Component::Invoke {
                    last: kind == tags::INVOKE_LAST,
                    invoke_id: ids.first().copied(),
                    correlation_id: ids.get(1).copied(),
                    operation: OperationCode {
                        kind: op_kind,
                        reply_required: hi & 0x80 != 0,
                        family: hi & 0x7F,
                        specifier: lo,
                    },
                    parameters,
                }
            }
            tags::RETURN_RESULT_LAST | tags::RETURN_RESULT_NOT_LAST => {
                let correlation_id = single("ReturnResult")?;
                let parameters = read_trailing_parameters(&mut r, context)?;
                Component::ReturnResult {
                    last: kind == tags::RETURN_RESULT_LAST,
                    correlation_id,
                    parameters,
                }
            }
            tags::RETURN_ERROR => {
                let correlation_id = single("ReturnError")?;
                let e =
                    next("error code")?.ok_or_else(|| invalid(context, "error code is missing"))?;
                let ek = match (e.id.class, e.id.constructed, e.id.tag) {
                    (Class::Private, false, tags::NATIONAL_ERROR) => CodeKind::National,
                    (Class::Private, false, tags::PRIVATE_ERROR) => CodeKind::Private,
                    _ => {
                        return Err(invalid(
                            context,
                            format!("expected error code (D3/D4), found {}", e.id),
                        ))
                    }
                };
                let [code] = *e.value else {
                    return Err(invalid(
                        context,
                        format!("error code must be 1 octet, got {}", e.value.len()),
                    ));
                };
                let parameters = read_trailing_parameters(&mut r, context)?;
                Component::ReturnError {
                    correlation_id,
                    error: ErrorCode { kind: ek, code },
                    parameters,
                }
            }
            tags::REJECT => {
                if ids.len() > 1 {
                    return Err(invalid(
                        context,
                        format!("Reject component ID must be 0-1 octet, got {}", ids.len()),
                    ));
                }
                let p = next("problem")?
                    .ok_or_else(|| invalid(context, "reject problem (D5) is missing"))?;
                if p.id != Identifier::private(false, tags::PROBLEM) {
                    return Err(invalid(
                        context,
                        format!("expected reject problem (D5), found {}", p.id),
                    ));
                }
                let [hi, lo] = *p.value else {
                    return Err(invalid(
                        context,
                        format!("reject problem must be 2 octets, got {}", p.value.len()),
                    ));
                };
                let parameters = read_trailing_parameters(&mut r, context)?;
                Component::Reject {
                    correlation_id: ids.first().copied(),
                    problem: u16::from_be_bytes([hi, lo]),
                    parameters,
                }
            }
            other => {
                return Err(invalid(
                    context,
                    format!("component tag {other} is reserved"),
                ))
            }
        };
        Ok(component)
    }
}

/// Reads the optional parameters that end a component; anything after them is an error.
fn read_trailing_parameters(
    r: &mut Reader<'_>,
    context: &str,
) -> Result<Option<Parameters>, TcapError> {
    let Some(t) = r.next_tlv().map_err(ber_err(context))? else {
        return Ok(None);
    };
    if !Parameters::is_parameters(t.id) {
        return Err(invalid(
            context,
            format!(
                "expected parameters (F2 SET or F0 SEQUENCE), found {}",
                t.id
            ),
        ));
    }
    let p = Parameters::read(t, context)?;
    if let Some(extra) = r.next_tlv().map_err(ber_err(context))? {
        return Err(invalid(
            context,
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
        let mut body = Vec::new();
        let pkg = self.package.name();
        ber::write_tlv(
            Identifier::private(false, tags::TRANSACTION_ID),
            &self.package.transaction_octets(),
            &mut body,
        )
        .map_err(ber_err(pkg))?;
        if let Some(d) = &self.dialogue {
            ber::write_tlv(
                Identifier::private(true, tags::DIALOGUE_PORTION),
                d,
                &mut body,
            )
            .map_err(ber_err("dialogue portion"))?;
        }
        if let Package::Abort { cause, .. } = &self.package {
            if !self.components.is_empty() {
                return Err(invalid(pkg, "an Abort package carries no components"));
            }
            match cause {
                None => {}
                Some(AbortCause::Protocol(c)) => ber::write_tlv(
                    Identifier::private(false, tags::P_ABORT_CAUSE),
                    &[*c],
                    &mut body,
                )
                .map_err(ber_err(pkg))?,
                Some(AbortCause::User(info)) => ber::write_tlv(
                    Identifier::private(true, tags::USER_ABORT_INFORMATION),
                    info,
                    &mut body,
                )
                .map_err(ber_err(pkg))?,
            }
        } else if !self.components.is_empty() {
            let mut seq = Vec::new();
            for (i, c) in self.components.iter().enumerate() {
                c.write(&mut seq, &format!("component {}", i + 1))?;
            }
            ber::write_tlv(
                Identifier::private(true, tags::COMPONENT_SEQUENCE),
                &seq,
                &mut body,
            )
            .map_err(ber_err("component sequence"))?;
        }
        let mut out = Vec::with_capacity(body.len() + 4);
        ber::write_tlv(
            Identifier::private(true, self.package.tag()),
            &body,
            &mut out,
        )
        .map_err(ber_err(pkg))?;
        Ok(out)
    }

    /// Decodes one message; octets after it are an error.
    pub fn decode(input: &[u8]) -> Result<Self, TcapError> {
        let (top, rest) = TlvRef::read(input).map_err(ber_err("package"))?;
        if !rest.is_empty() {
            return Err(invalid(
                "package",
                format!("{} octet(s) left over after the package", rest.len()),
            ));
        }
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
        let mut r = top.children();
        let tid = r
            .next_tlv()
            .map_err(ber_err(ctx))?
            .ok_or_else(|| invalid(ctx, "missing (C7)"))?;
        if tid.id != Identifier::private(false, tags::TRANSACTION_ID) {
            return Err(invalid(ctx, format!("expected C7, found {}", tid.id)));
        }
        let want = match pkg_tag {
            tags::UNIDIRECTIONAL => 0,
            tags::CONVERSATION_WITH_PERMISSION | tags::CONVERSATION_WITHOUT_PERMISSION => 8,
            _ => 4,
        };
        if tid.value.len() != want {
            return Err(invalid(
                ctx,
                format!(
                    "must be {want} octets in this package type, got {}",
                    tid.value.len()
                ),
            ));
        }
        let id4 = |s: &[u8]| -> TransactionId {
            let mut a = [0u8; 4];
            a.copy_from_slice(&s[..4]);
            a
        };
        let mut dialogue = None;
        let mut next = r.next_tlv().map_err(ber_err("after the transaction ID"))?;
        if let Some(t) = next {
            if t.id == Identifier::private(true, tags::DIALOGUE_PORTION) {
                dialogue = Some(t.value.to_vec());
                next = r
                    .next_tlv()
                    .map_err(ber_err("after the dialogue portion"))?;
            }
        }
        let mut components = Vec::new();
        let mut cause = None;
        if pkg_tag == tags::ABORT {
            if let Some(t) = next.take() {
                if t.id == Identifier::private(false, tags::P_ABORT_CAUSE) {
                    let [c] = *t.value else {
                        return Err(invalid(
                            "P-Abort cause",
                            format!("must be 1 octet, got {}", t.value.len()),
                        ));
                    };
                    cause = Some(AbortCause::Protocol(c));
                } else if t.id == Identifier::private(true, tags::USER_ABORT_INFORMATION) {
                    cause = Some(AbortCause::User(t.value.to_vec()));
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
            let mut cr = t.children();
            let mut n = 0;
            loop {
                n += 1;
                let ctx = format!("component {n}");
                let Some(c) = cr.next_tlv().map_err(ber_err(&ctx))? else {
                    break;
                };
                components.push(Component::read(c, &ctx)?);
            }
        }
        if let Some(extra) = r.next_tlv().map_err(ber_err("package"))? {
            return Err(invalid(
                "package",
                format!("unexpected {} after the last portion", extra.id),
            ));
        }
        let v = tid.value;
        let package = match pkg_tag {
            tags::UNIDIRECTIONAL => Package::Unidirectional,
            tags::QUERY_WITH_PERMISSION | tags::QUERY_WITHOUT_PERMISSION => Package::Query {
                with_permission: pkg_tag == tags::QUERY_WITH_PERMISSION,
                otid: id4(v),
            },
            tags::RESPONSE => Package::Response { dtid: id4(v) },
            tags::CONVERSATION_WITH_PERMISSION | tags::CONVERSATION_WITHOUT_PERMISSION => {
                Package::Conversation {
                    with_permission: pkg_tag == tags::CONVERSATION_WITH_PERMISSION,
                    otid: id4(&v[..4]),
                    dtid: id4(&v[4..]),
                }
            }
            _ => Package::Abort {
                dtid: id4(v),
                cause,
            },
        };
        Ok(Self {
            package,
            components,
            dialogue,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn smdpp_operation_code_vector() {
        let m = TcapMessage {
            package: Package::Query {
                with_permission: true,
                otid: [0, 0, 0, 1],
            },
            components: vec![Component::Invoke {
                last: true,
                invoke_id: Some(1),
                correlation_id: None,
                operation: OperationCode::private(9, 53),
                parameters: Some(Parameters::empty_set()),
            }],
            dialogue: None,
        };
        let bytes = m.encode().unwrap();
        assert_eq!(
            bytes,
            [
                0xE2, 0x13, 0xC7, 0x04, 0, 0, 0, 1, 0xE8, 0x0B, 0xE9, 0x09, 0xCF, 0x01, 0x01, 0xD1,
                0x02, 0x09, 0x35, 0xF2, 0x00
            ]
        );
        assert_eq!(OperationCode::private(9, 53).value(), 2357);
        assert_eq!(TcapMessage::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        // Component 2 has a 3-octet operation code.
        let bytes = [
            0xE2, 0x1A, 0xC7, 0x04, 0, 0, 0, 1, 0xE8, 0x12, 0xED, 0x07, 0xCF, 0x01, 0x01, 0xD1,
            0x02, 0x09, 0x35, 0xE9, 0x07, 0xCF, 0x00, 0xD1, 0x03, 0x09, 0x35, 0x00,
        ];
        let e = TcapMessage::decode(&bytes).unwrap_err();
        assert_eq!(
            e.to_string(),
            "TCAP: component 2: operation code must be 2 octets, got 3"
        );
        let e = TcapMessage::decode(&[0xE4, 0x04, 0xC7, 0x02, 0, 1]).unwrap_err();
        assert!(e.to_string().contains("must be 4 octets"), "{e}");
        let e = TcapMessage::decode(&[0xE2, 0x80, 0x00, 0x00]).unwrap_err();
        assert!(e.to_string().contains("indefinite"), "{e}");
        let e = TcapMessage::decode(&[0x62, 0x00]).unwrap_err();
        assert!(e.to_string().contains("not an ANSI TCAP package"), "{e}");
    }

    #[test]
    fn abort_with_p_abort_cause() {
        let m = TcapMessage {
            package: Package::Abort {
                dtid: [1, 2, 3, 4],
                cause: Some(AbortCause::Protocol(4)),
            },
            components: vec![],
            dialogue: None,
        };
        let b = m.encode().unwrap();
        assert_eq!(b, [0xF6, 0x09, 0xC7, 0x04, 1, 2, 3, 4, 0xD7, 0x01, 0x04]);
        assert_eq!(TcapMessage::decode(&b).unwrap(), m);
    }

    fn arb_tid() -> impl Strategy<Value = TransactionId> {
        any::<[u8; 4]>()
    }

    fn arb_package() -> impl Strategy<Value = Package> {
        prop_oneof![
            Just(Package::Unidirectional),
            (any::<bool>(), arb_tid()).prop_map(|(w, otid)| Package::Query {
                with_permission: w,
                otid
            }),
            (any::<bool>(), arb_tid(), arb_tid()).prop_map(|(w, otid, dtid)| {
                Package::Conversation {
                    with_permission: w,
                    otid,
                    dtid,
                }
            }),
            arb_tid().prop_map(|dtid| Package::Response { dtid }),
        ]
    }

    fn arb_tlv() -> impl Strategy<Value = Tlv> {
        (
            0u8..4,
            any::<bool>(),
            0u32..500,
            proptest::collection::vec(any::<u8>(), 0..20),
        )
            .prop_map(|(c, k, t, v)| {
                Tlv::new(
                    Identifier {
                        class: Class::from_bits(c << 6),
                        constructed: k,
                        tag: t,
                    },
                    v,
                )
            })
    }

    fn arb_params() -> impl Strategy<Value = Option<Parameters>> {
        proptest::option::of(
            (any::<bool>(), proptest::collection::vec(arb_tlv(), 0..5)).prop_map(|(s, e)| {
                Parameters {
                    kind: if s {
                        ParameterKind::Set
                    } else {
                        ParameterKind::Sequence
                    },
                    elements: e,
                }
            }),
        )
    }

    fn arb_kind() -> impl Strategy<Value = CodeKind> {
        prop_oneof![Just(CodeKind::National), Just(CodeKind::Private)]
    }

    fn arb_component() -> impl Strategy<Value = Component> {
        prop_oneof![
            (
                any::<bool>(),
                proptest::option::of((any::<u8>(), proptest::option::of(any::<u8>()))),
                arb_kind(),
                any::<bool>(),
                0u8..128,
                any::<u8>(),
                arb_params()
            )
                .prop_map(|(last, ids, kind, h, family, specifier, parameters)| {
                    Component::Invoke {
                        last,
                        invoke_id: ids.map(|i| i.0),
                        correlation_id: ids.and_then(|i| i.1),
                        operation: OperationCode {
                            kind,
                            reply_required: h,
                            family,
                            specifier,
                        },
                        parameters,
                    }
                }),
            (any::<bool>(), any::<u8>(), arb_params()).prop_map(|(last, c, parameters)| {
                Component::ReturnResult {
                    last,
                    correlation_id: c,
                    parameters,
                }
            }),
            (any::<u8>(), arb_kind(), any::<u8>(), arb_params()).prop_map(
                |(c, kind, code, parameters)| Component::ReturnError {
                    correlation_id: c,
                    error: ErrorCode { kind, code },
                    parameters,
                }
            ),
            (
                proptest::option::of(any::<u8>()),
                any::<u16>(),
                arb_params()
            )
                .prop_map(|(c, problem, parameters)| Component::Reject {
                    correlation_id: c,
                    problem,
                    parameters
                }),
        ]
    }

    fn arb_message() -> impl Strategy<Value = TcapMessage> {
        prop_oneof![
            (
                arb_package(),
                proptest::collection::vec(arb_component(), 0..4),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10))
            )
                .prop_map(|(package, components, dialogue)| TcapMessage {
                    package,
                    components,
                    dialogue
                }),
            (
                arb_tid(),
                proptest::option::of(prop_oneof![
                    any::<u8>().prop_map(AbortCause::Protocol),
                    proptest::collection::vec(any::<u8>(), 0..10).prop_map(AbortCause::User)
                ]),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10))
            )
                .prop_map(|(dtid, cause, dialogue)| TcapMessage {
                    package: Package::Abort { dtid, cause },
                    components: vec![],
                    dialogue
                }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(m in arb_message()) {
            let bytes = m.encode().unwrap();
            prop_assert_eq!(TcapMessage::decode(&bytes).unwrap(), m);
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = TcapMessage::decode(&bytes);
        }

        #[test]
        fn corrupted_messages_never_panic(m in arb_message(), at in any::<usize>(), x in any::<u8>(), cut in any::<usize>()) {
            let mut bytes = m.encode().unwrap();
            let i = at % bytes.len();
            bytes[i] ^= x;
            let _ = TcapMessage::decode(&bytes);
            bytes.truncate(cut % (bytes.len() + 1));
            let _ = TcapMessage::decode(&bytes);
        }
    }
}

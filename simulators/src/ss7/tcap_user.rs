//! What the MSC and HLR simulators share: opening an MTP3 user message down to its TCAP
//! package (ANSI SCCP UDT/XUDT), answering on the reverse path, and serving ANSI-41 Invokes.
//!
//! Answers swap the SCCP called and calling addresses and the M3UA OPC and DPC, with SI 3
//! (SCCP) and NI 2 (national); they go as UDT when the data fits 255 octets and the request
//! was a UDT, as XUDT otherwise.
//!
//! [`serve`] handles a TCAP message for an element:
//!
//! | received | answered with |
//! |---|---|
//! | Query or Conversation with Invokes | Response (dtid = the sender's otid) with one ReturnResult or ReturnError per Invoke; a Reject (general problem, unrecognized component) for other components |
//! | an Invoke whose operation has an error set ([`ErrorTable`]) | that ReturnError |
//! | Unidirectional | the Invokes are performed, nothing is answered |
//! | Response or Abort | [`InvokeHandler::on_answer`]; nothing is answered |
//! | a package that does not decode, with a readable Query/Conversation transaction ID | Abort with P-Abort cause 3 (badly structured transaction portion), or 1 (unrecognized package type) for an unknown package identifier |
//! | anything else that does not decode, non-SCCP, SCCP other than UDT/XUDT | nothing (dropped) |
//! | a UDT/XUDT for another SSN | UDTS/XUDTS "unequipped user" when return on error is asked, else nothing |

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use otagw_codecs::ansi41::{self, Ansi41Error, Operation, ReturnErrorCode};
use otagw_codecs::ber::{Class, Identifier, TlvRef};
use otagw_codecs::m3ua::{PointCode, ProtocolData};
use otagw_codecs::sccp::{
    self, ExtendedUnitdata, ExtendedUnitdataService, ProtocolClass, SccpAddress, SccpMessage,
    Unitdata, UnitdataService, Variant, MAX_UDT_DATA,
};
use otagw_codecs::tcap::{
    self, AbortCause, Component, Package, Parameters, TcapMessage, TransactionId,
};

/// Service indicator of SCCP in the MTP3 routing label.
pub const SI_SCCP: u8 = 3;
/// Network indicator: national.
pub const NI_NATIONAL: u8 = 2;
/// Hop counter written in XUDTs.
const HOP_COUNTER: u8 = 15;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An SCCP unitdata message opened: its addresses and how it came.
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    /// The MTP3 routing label (user data emptied).
    pub label: ProtocolData,
    /// Called party address.
    pub called: SccpAddress,
    /// Calling party address.
    pub calling: SccpAddress,
    /// Protocol class of the request.
    pub protocol_class: ProtocolClass,
    /// Whether it came as XUDT.
    pub xudt: bool,
}

/// Opens an MTP3 user message: SCCP UDT or XUDT, ANSI addresses. `None` for anything else.
pub(crate) fn open(pd: &ProtocolData) -> Option<(Envelope, Vec<u8>)> {
    if pd.si != SI_SCCP {
        return None;
    }
    let label = ProtocolData {
        user_data: Vec::new(),
        ..pd.clone()
    };
    match SccpMessage::decode(&pd.user_data, Variant::Ansi).ok()? {
        SccpMessage::Udt(u) => Some((
            Envelope {
                label,
                called: u.called,
                calling: u.calling,
                protocol_class: u.protocol_class,
                xudt: false,
            },
            u.data,
        )),
        SccpMessage::Xudt(x) => Some((
            Envelope {
                label,
                called: x.called,
                calling: x.calling,
                protocol_class: x.protocol_class,
                xudt: true,
            },
            x.data,
        )),
        SccpMessage::Udts(_) | SccpMessage::Xudts(_) => None,
    }
}

/// Builds an MTP3 user message carrying `data` in a UDT (or XUDT when asked or too long).
pub(crate) fn unitdata(
    opc: PointCode,
    dpc: PointCode,
    sls: u8,
    called: SccpAddress,
    calling: SccpAddress,
    data: Vec<u8>,
    xudt: bool,
) -> Option<ProtocolData> {
    let protocol_class = ProtocolClass {
        class: 0,
        return_on_error: false,
    };
    let m = if xudt || data.len() > MAX_UDT_DATA {
        SccpMessage::Xudt(ExtendedUnitdata {
            protocol_class,
            hop_counter: HOP_COUNTER,
            called,
            calling,
            data,
            optional: Vec::new(),
        })
    } else {
        SccpMessage::Udt(Unitdata {
            protocol_class,
            called,
            calling,
            data,
        })
    };
    Some(ProtocolData {
        opc,
        dpc,
        si: SI_SCCP,
        ni: NI_NATIONAL,
        mp: 0,
        sls,
        user_data: m.encode(Variant::Ansi).ok()?,
    })
}

/// The answer to `env` carrying `data`: addresses and point codes swapped.
pub(crate) fn answer(env: &Envelope, data: Vec<u8>) -> Option<ProtocolData> {
    unitdata(
        env.label.dpc,
        env.label.opc,
        env.label.sls,
        env.calling.clone(),
        env.called.clone(),
        data,
        env.xudt,
    )
}

/// The UDTS/XUDTS returning `data` to its sender with `cause`.
fn service(env: &Envelope, cause: u8, data: Vec<u8>) -> Option<ProtocolData> {
    let m = if env.xudt || data.len() > MAX_UDT_DATA {
        SccpMessage::Xudts(ExtendedUnitdataService {
            return_cause: cause,
            hop_counter: HOP_COUNTER,
            called: env.calling.clone(),
            calling: env.called.clone(),
            data,
            optional: Vec::new(),
        })
    } else {
        SccpMessage::Udts(UnitdataService {
            return_cause: cause,
            called: env.calling.clone(),
            calling: env.called.clone(),
            data,
        })
    };
    Some(ProtocolData {
        opc: env.label.dpc,
        dpc: env.label.opc,
        si: SI_SCCP,
        ni: NI_NATIONAL,
        mp: 0,
        sls: env.label.sls,
        user_data: m.encode(Variant::Ansi).ok()?,
    })
}

/// The ReturnError for ANSI-41 parameters that do not decode: MissingParameter when a
/// mandatory one is absent, ParameterError otherwise.
pub(crate) fn parameter_error(e: &Ansi41Error) -> ReturnErrorCode {
    match e {
        Ansi41Error::Missing { .. } => ReturnErrorCode::MissingParameter,
        _ => ReturnErrorCode::ParameterError,
    }
}

/// Operations answered with a fixed ReturnError (a fault knob).
#[derive(Debug, Default)]
pub(crate) struct ErrorTable(Mutex<HashMap<Operation, ReturnErrorCode>>);

impl ErrorTable {
    pub(crate) fn set(&self, op: Operation, code: Option<ReturnErrorCode>) {
        let mut t = lock(&self.0);
        match code {
            Some(c) => t.insert(op, c),
            None => t.remove(&op),
        };
    }

    fn get(&self, op: Operation) -> Option<ReturnErrorCode> {
        lock(&self.0).get(&op).copied()
    }
}

/// One Invoke to perform.
pub(crate) struct InvokeContext<'a> {
    /// Its parameters.
    pub parameters: Option<&'a Parameters>,
}

/// An element's ANSI-41 behaviour.
pub(crate) trait InvokeHandler {
    /// This element's SSN: UDTs for others are refused.
    fn ssn(&self) -> u8;

    /// Performs one Invoke of `op` (None: not an ANSI-41 operation listed in the codecs).
    /// Returns the ReturnResult parameters or the ReturnError code; may push new messages to
    /// send after the answer into `out`.
    fn invoke(
        &self,
        op: Option<Operation>,
        cx: &InvokeContext<'_>,
        out: &mut Vec<ProtocolData>,
    ) -> Result<Parameters, ReturnErrorCode>;

    /// A Response or Abort to a transaction this element opened.
    fn on_answer(&self, _msg: &TcapMessage) {}
}

/// The transaction ID of a Query or Conversation that does not decode, if it can be read, and
/// the P-Abort cause to answer with.
fn readable_transaction(data: &[u8]) -> Option<(TransactionId, u8)> {
    let (top, _) = TlvRef::read(data).ok()?;
    let cause = match (top.id.class, top.id.constructed, top.id.tag) {
        (
            Class::Private,
            true,
            tcap::tags::QUERY_WITH_PERMISSION
            | tcap::tags::QUERY_WITHOUT_PERMISSION
            | tcap::tags::CONVERSATION_WITH_PERMISSION
            | tcap::tags::CONVERSATION_WITHOUT_PERMISSION,
        ) => 3,
        (
            Class::Private,
            true,
            tcap::tags::UNIDIRECTIONAL | tcap::tags::RESPONSE | tcap::tags::ABORT,
        ) => return None,
        _ => 1,
    };
    let tid = top.children().next_tlv().ok()??;
    if tid.id != Identifier::private(false, tcap::tags::TRANSACTION_ID) {
        return None;
    }
    match tid.value {
        [a, b, c, d] | [a, b, c, d, _, _, _, _] => Some(([*a, *b, *c, *d], cause)),
        _ => None,
    }
}

/// Handles one MTP3 user message for an element (see the module table).
pub(crate) fn serve(
    handler: &impl InvokeHandler,
    errors: &ErrorTable,
    pd: &ProtocolData,
) -> Vec<ProtocolData> {
    let Some((env, data)) = open(pd) else {
        return Vec::new();
    };
    if env.called.ssn.is_some_and(|s| s != handler.ssn()) {
        if env.protocol_class.return_on_error {
            return service(&env, sccp::return_cause::UNEQUIPPED_USER, data)
                .into_iter()
                .collect();
        }
        return Vec::new();
    }
    let msg = match TcapMessage::decode(&data) {
        Ok(m) => m,
        Err(_) => {
            let Some((dtid, cause)) = readable_transaction(&data) else {
                return Vec::new();
            };
            let abort = TcapMessage {
                package: Package::Abort {
                    dtid,
                    cause: Some(AbortCause::Protocol(cause)),
                },
                components: Vec::new(),
                dialogue: None,
            };
            return abort
                .encode()
                .ok()
                .and_then(|b| answer(&env, b))
                .into_iter()
                .collect();
        }
    };
    let reply_to = match &msg.package {
        Package::Query { otid, .. } | Package::Conversation { otid, .. } => Some(*otid),
        Package::Unidirectional => None,
        Package::Response { .. } | Package::Abort { .. } => {
            handler.on_answer(&msg);
            return Vec::new();
        }
    };
    let mut extra = Vec::new();
    let mut components = Vec::new();
    for c in &msg.components {
        match c {
            Component::Invoke {
                invoke_id,
                operation,
                parameters,
                ..
            } => {
                let op = ansi41::Operation::from_code(*operation);
                let cx = InvokeContext {
                    parameters: parameters.as_ref(),
                };
                let result = match op.and_then(|o| errors.get(o)) {
                    Some(code) => Err(code),
                    None => handler.invoke(op, &cx, &mut extra),
                };
                let id = invoke_id.unwrap_or(0);
                components.push(match result {
                    Ok(p) => Component::ReturnResult {
                        last: true,
                        correlation_id: id,
                        parameters: Some(p),
                    },
                    Err(code) => ansi41::return_error(code, id),
                });
            }
            Component::ReturnResult { correlation_id, .. }
            | Component::ReturnError { correlation_id, .. } => {
                components.push(Component::Reject {
                    correlation_id: Some(*correlation_id),
                    problem: 0x0101,
                    parameters: Some(Parameters::empty_set()),
                });
            }
            Component::Reject { .. } => {}
        }
    }
    let mut out = Vec::new();
    if let Some(otid) = reply_to {
        let response = TcapMessage {
            package: Package::Response { dtid: otid },
            components,
            dialogue: None,
        };
        if let Some(p) = response.encode().ok().and_then(|b| answer(&env, b)) {
            out.push(p);
        }
    }
    out.extend(extra);
    out
}

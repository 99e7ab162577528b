//! What the MSC and HLR simulators share: opening an MTP3 user message down to its TCAP
//! package (ANSI SCCP UDT/XUDT), answering on the reverse path, and serving ANSI-41 Invokes
//! through the sans-IO TCAP transaction manager of the codecs
//! ([`otagw_codecs::tcap::transactions`], the same machine the gateway drives).
//!
//! Answers swap the SCCP called and calling addresses and the M3UA OPC and DPC, with SI 3
//! (SCCP) and NI 2 (national); they go as UDT when the data fits 255 octets and the request
//! was a UDT, as XUDT otherwise.
//!
//! [`serve`] handles a TCAP message for an element; the manager answers it as its module says,
//! the element performs the Invokes it hands out:
//!
//! | received | answered with |
//! |---|---|
//! | Query or Conversation with Invokes | Response (dtid = the sender's otid) with one ReturnResult or ReturnError per Invoke; a Reject (General problem, Unrecognized Component Type) for a ReturnResult or ReturnError |
//! | an Invoke whose operation has an error set ([`TcapUser::set_error`]) | that ReturnError |
//! | Unidirectional | the Invokes are performed, nothing is answered |
//! | Response or Abort to a transaction the element opened ([`TcapUser::invoke`]) | [`InvokeHandler::on_answer`]; nothing is answered |
//! | a package that does not decode, with a readable Query/Conversation transaction ID | Abort with P-Abort cause Badly Structured Transaction Portion, or Unrecognized Package Type for an unknown package identifier |
//! | anything else that does not decode, non-SCCP, SCCP other than UDT/XUDT | nothing (dropped) |
//! | a UDT/XUDT for another SSN | UDTS/XUDTS "unequipped user" when return on error is asked, else nothing |

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use otagw_codecs::ansi41::{Ansi41Error, Operation, ReturnErrorCode};
use otagw_codecs::m3ua::{PointCode, ProtocolData};
use otagw_codecs::sccp::{
    self, ExtendedUnitdata, ExtendedUnitdataService, ProtocolClass, SccpAddress, SccpMessage,
    Unitdata, UnitdataService, Variant, MAX_UDT_DATA,
};
use otagw_codecs::tcap::transactions::{
    Answer, Config, Event, InvokeOutcome, TransactionManager, Transmit,
};
use otagw_codecs::tcap::{Parameters, TransactionId};

/// Service indicator of SCCP in the MTP3 routing label.
pub(super) const SI_SCCP: u8 = 3;
/// Network indicator: national.
pub(super) const NI_NATIONAL: u8 = 2;
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

/// Where a TCAP message goes: the MTP3 label and SCCP addresses it is sent with (the
/// transaction manager's token for a peer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// Our point code.
    pub opc: PointCode,
    /// The peer's point code.
    pub dpc: PointCode,
    /// The SLS (`None`: from the transaction ID of a transaction we open).
    pub sls: Option<u8>,
    /// The peer's address.
    pub called: SccpAddress,
    /// Ours.
    pub calling: SccpAddress,
    /// Whether to send XUDT even for short data.
    pub xudt: bool,
}

impl Route {
    /// Back the way `env` came.
    fn reply(env: &Envelope) -> Self {
        Self {
            opc: env.label.dpc,
            dpc: env.label.opc,
            sls: Some(env.label.sls),
            called: env.calling.clone(),
            calling: env.called.clone(),
            xudt: env.xudt,
        }
    }

    fn unitdata(self, transaction: Option<TransactionId>, data: Vec<u8>) -> Option<ProtocolData> {
        let sls = self
            .sls
            .unwrap_or_else(|| (transaction.map_or(0, u32::from_be_bytes) & 0x0F) as u8);
        unitdata(
            self.opc,
            self.dpc,
            sls,
            self.called,
            self.calling,
            data,
            self.xudt,
        )
    }
}

/// An element's TCAP: its transaction manager (serving Invokes) and the operations it answers
/// with a fixed ReturnError (a fault knob).
#[derive(Debug)]
pub(crate) struct TcapUser {
    manager: Mutex<TransactionManager<Route>>,
    errors: Mutex<HashMap<Operation, ReturnErrorCode>>,
}

impl Default for TcapUser {
    fn default() -> Self {
        Self {
            manager: Mutex::new(TransactionManager::new(Config {
                first_transaction_id: 1,
                serve_invokes: true,
            })),
            errors: Mutex::new(HashMap::new()),
        }
    }
}

impl TcapUser {
    /// Answers `op` with ReturnError `code` from now on (`None`: normally again).
    pub(crate) fn set_error(&self, op: Operation, code: Option<ReturnErrorCode>) {
        let mut t = lock(&self.errors);
        match code {
            Some(c) => t.insert(op, c),
            None => t.remove(&op),
        };
    }

    fn error(&self, op: Operation) -> Option<ReturnErrorCode> {
        lock(&self.errors).get(&op).copied()
    }

    /// Opens a transaction to `route`: a QueryWithPermission with one Invoke, answered within
    /// `timer` (its answer, or the timer running out, goes to [`InvokeHandler::on_answer`] of
    /// the element's next [`serve`]). Returns the message to send.
    pub(crate) fn invoke(
        &self,
        route: Route,
        operation: otagw_codecs::tcap::OperationCode,
        parameters: Parameters,
        timer: Duration,
    ) -> Vec<ProtocolData> {
        let mut m = lock(&self.manager);
        m.invoke(Instant::now(), route, operation, parameters, timer);
        deliver(&mut m)
    }
}

/// What the manager polled out, as MTP3 user messages.
fn deliver(m: &mut TransactionManager<Route>) -> Vec<ProtocolData> {
    std::iter::from_fn(|| m.poll_transmit())
        .filter_map(|t: Transmit<Route>| {
            let data = t.message.encode().ok()?;
            t.to.unitdata(t.transaction, data)
        })
        .collect()
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

    /// The outcome of a transaction this element opened (`None`: its invoke timer ran out).
    fn on_answer(&self, _outcome: Option<&InvokeOutcome>) {}
}

/// Handles one MTP3 user message for an element (see the module table).
pub(crate) fn serve(
    handler: &impl InvokeHandler,
    tcap: &TcapUser,
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
    let now = Instant::now();
    let (mut out, events) = {
        let mut m = lock(&tcap.manager);
        m.handle_timeout(now);
        // An undecodable message is answered by the manager (or dropped).
        let _ = m.handle_message(now, Route::reply(&env), &data);
        let events: Vec<Event<Route>> = std::iter::from_fn(|| m.poll_event()).collect();
        (deliver(&mut m), events)
    };
    let mut extra = Vec::new();
    let mut answers = Vec::new();
    for event in events {
        match event {
            Event::Invoke(invocation) => {
                let op = Operation::from_code(invocation.operation);
                let cx = InvokeContext {
                    parameters: invocation.parameters.as_ref(),
                };
                let result = match op.and_then(|o| tcap.error(o)) {
                    Some(code) => Err(code),
                    None => handler.invoke(op, &cx, &mut extra),
                };
                answers.push((
                    invocation.handle,
                    match result {
                        Ok(p) => Answer::Result(Some(p)),
                        Err(code) => {
                            Answer::Error(code.error_code(), Some(Parameters::empty_set()))
                        }
                    },
                ));
            }
            Event::Completed { outcome, .. } => handler.on_answer(Some(&outcome)),
            Event::TimedOut { .. } => handler.on_answer(None),
            Event::UnknownTransaction { .. } => {}
        }
    }
    if !answers.is_empty() {
        let mut m = lock(&tcap.manager);
        for (handle, answer) in answers {
            m.answer(handle, answer);
        }
        out.extend(deliver(&mut m));
    }
    out.extend(extra);
    out
}

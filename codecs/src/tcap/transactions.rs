//! The TCAP transaction manager (T1.114.4) of one signalling endpoint, as a state machine
//! without I/O, for both ends of a transaction.
//!
//! [`TransactionManager`] is driven the way quinn-proto drives a connection: inputs carry the
//! time, outputs are polled ([`TransactionManager::poll_transmit`],
//! [`TransactionManager::poll_timeout`], [`TransactionManager::poll_event`]). It is generic
//! over `P`, the shell's token for a peer (an SCCP/MTP3 route): the manager carries it from
//! input to output and never looks inside.
//!
//! The initiator (the gateway's OTAF, the MSC's RegistrationNotification):
//!
//! | input | what the manager does |
//! |---|---|
//! | [`TransactionManager::invoke`] | a new originating transaction ID (the next free one), invoke ID 1, a QueryWithPermission with one Invoke to transmit, the invoke timer armed |
//! | a Response, or a Conversation, whose responding ID is a transaction of ours | [`Event::Completed`] with the first answer among its components (ReturnResult, ReturnError, Reject; none: an empty result); the transaction ends |
//! | an Abort for a transaction of ours | [`Event::Completed`] with [`InvokeOutcome::Abort`] and its cause |
//! | the invoke timer runs out ([`TransactionManager::handle_timeout`]) | [`Event::TimedOut`]; the transaction is forgotten, so a late answer is one for an unknown transaction and never completes it twice |
//! | SCCP returned our Query ([`TransactionManager::handle_returned`]) | [`Event::Completed`] with an Abort without cause |
//! | the Query could not be sent ([`TransactionManager::abandon`]) | the transaction is forgotten |
//!
//! Anything unexpected is answered, never a panic:
//!
//! | received | answered with |
//! |---|---|
//! | a Conversation for an unknown transaction | Abort to its originating ID, P-Abort cause Unassigned Responding Transaction ID; [`Event::UnknownTransaction`] |
//! | a Response or Abort for an unknown transaction | nothing (a Response ends the peer's side, it has no ID of the peer's to abort); [`Event::UnknownTransaction`] |
//! | a Query (or, when serving, a Conversation for no transaction of ours) | a Response (responding ID = the query's originating ID) with, for each component in order: an Invoke served ([`Config::serve_invokes`]: [`Event::Invoke`], answered with [`TransactionManager::answer`]) or else rejected (Invoke problem Unrecognized Operation Code); a ReturnResult or ReturnError rejected (General problem Unrecognized Component Type); a Reject nothing |
//! | a Unidirectional | its Invokes served (no answer) when serving; else nothing |
//! | a message that does not decode, whose transaction portion can be read ([`super::peek_transaction`]) | a Query or Conversation: Abort to its originating ID, P-Abort cause Badly Structured Transaction Portion; an unknown package type: Abort, Unrecognized Package Type; anything else (a broken Response or Abort, unreadable): nothing |
//!
//! A Response goes as soon as every Invoke of its Query has its answer; rejections and
//! answers keep the order of the components they answer.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::peek::{peek_transaction, PackageType};
use super::problem::{GeneralProblem, InvokeProblem, PAbortCause, RejectProblem};
use super::{
    AbortCause, Component, ErrorCode, OperationCode, Package, Parameters, TcapError, TcapMessage,
    TransactionId,
};

/// The invoke ID of the one Invoke each transaction the manager opens carries.
pub const FIRST_INVOKE_ID: u8 = 1;

/// How the endpoint behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The first originating transaction ID to allocate; the next ones follow (wrapping), IDs
    /// still in use skipped.
    pub first_transaction_id: u32,
    /// Whether Invokes addressed to this endpoint are delivered ([`Event::Invoke`]) for its user
    /// to answer; when false each is rejected (Invoke problem Unrecognized Operation Code).
    pub serve_invokes: bool,
}

/// What answered an Invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeOutcome {
    /// ReturnResult with its parameters.
    Result(Option<Parameters>),
    /// ReturnError.
    Error(ErrorCode, Option<Parameters>),
    /// Reject with its problem.
    Reject(RejectProblem),
    /// The peer (or SCCP, returning the Query) aborted the transaction.
    Abort(Option<AbortCause>),
}

/// The answer a served Invoke gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// ReturnResultLast with these parameters.
    Result(Option<Parameters>),
    /// ReturnError with this code and parameters.
    Error(ErrorCode, Option<Parameters>),
    /// Reject with this problem (and an empty parameter SET).
    Reject(RejectProblem),
}

/// Names one served Invoke, to answer it with [`TransactionManager::answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvokeHandle {
    /// The open dialogue (`None`: a Unidirectional's Invoke, which gets no answer).
    dialogue: Option<u64>,
    /// Its place among the dialogue's answers.
    slot: usize,
}

/// An Invoke for this endpoint to perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation<P> {
    /// Where its answer goes.
    pub handle: InvokeHandle,
    /// Who sent it.
    pub peer: P,
    /// Its invoke ID.
    pub invoke_id: Option<u8>,
    /// The operation.
    pub operation: OperationCode,
    /// Its parameters.
    pub parameters: Option<Parameters>,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit<P> {
    /// The peer.
    pub to: P,
    /// The message.
    pub message: TcapMessage,
    /// The transaction of ours it opens (a Query from [`TransactionManager::invoke`]): if it
    /// cannot be sent, [`TransactionManager::abandon`] it.
    pub transaction: Option<TransactionId>,
}

/// What the manager reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<P> {
    /// An Invoke of ours has its outcome; its transaction has ended.
    Completed {
        /// Our originating transaction ID.
        transaction: TransactionId,
        /// What came back.
        outcome: InvokeOutcome,
    },
    /// An Invoke's timer ran out; its transaction is forgotten.
    TimedOut {
        /// Our originating transaction ID.
        transaction: TransactionId,
    },
    /// An Invoke to perform ([`Config::serve_invokes`]).
    Invoke(Invocation<P>),
    /// A Response, Conversation or Abort for a transaction this endpoint does not have.
    UnknownTransaction {
        /// The responding transaction ID it named.
        transaction: TransactionId,
        /// The package's name.
        package: &'static str,
    },
}

/// A Query being answered: the Response is sent once every slot is filled.
#[derive(Debug, Clone)]
struct Dialogue<P> {
    peer: P,
    dtid: TransactionId,
    slots: Vec<Slot>,
    unanswered: usize,
}

/// One answer of a Response, in the order of the components it answers.
#[derive(Debug, Clone)]
enum Slot {
    /// A served Invoke not answered yet (its invoke ID).
    Waiting(Option<u8>),
    /// The answer.
    Done(Component),
}

impl Slot {
    fn components(slots: Vec<Slot>) -> Vec<Component> {
        slots
            .into_iter()
            .filter_map(|s| match s {
                Slot::Done(c) => Some(c),
                Slot::Waiting(_) => None,
            })
            .collect()
    }
}

/// The transaction manager of one endpoint. See the module tables.
#[derive(Debug, Clone)]
pub struct TransactionManager<P> {
    config: Config,
    next_tid: u32,
    /// Our open transactions and their invoke timers.
    pending: HashMap<TransactionId, Instant>,
    timers: BTreeSet<(Instant, TransactionId)>,
    dialogues: HashMap<u64, Dialogue<P>>,
    next_dialogue: u64,
    transmits: VecDeque<Transmit<P>>,
    events: VecDeque<Event<P>>,
}

impl<P: Clone> TransactionManager<P> {
    /// A manager with no transaction open.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            next_tid: config.first_transaction_id,
            pending: HashMap::new(),
            timers: BTreeSet::new(),
            dialogues: HashMap::new(),
            next_dialogue: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// How many transactions of ours are open.
    pub fn open_transactions(&self) -> usize {
        self.pending.len()
    }

    /// Opens a transaction to `peer`: a QueryWithPermission carrying one Invoke of `operation`
    /// (invoke ID [`FIRST_INVOKE_ID`]), answered within `timer`. Returns its originating ID.
    pub fn invoke(
        &mut self,
        now: Instant,
        peer: P,
        operation: OperationCode,
        parameters: Parameters,
        timer: Duration,
    ) -> TransactionId {
        let otid = self.allocate();
        let deadline = now + timer;
        self.pending.insert(otid, deadline);
        self.timers.insert((deadline, otid));
        self.transmits.push_back(Transmit {
            to: peer,
            message: TcapMessage {
                package: Package::Query {
                    with_permission: true,
                    otid,
                },
                components: vec![Component::Invoke {
                    last: true,
                    invoke_id: Some(FIRST_INVOKE_ID),
                    correlation_id: None,
                    operation,
                    parameters: Some(parameters),
                }],
                dialogue: None,
            },
            transaction: Some(otid),
        });
        otid
    }

    /// Forgets a transaction of ours whose Query could not be sent. True if it was open.
    pub fn abandon(&mut self, transaction: TransactionId) -> bool {
        self.end(transaction)
    }

    /// A TCAP message from `peer`, as octets: decoded and handled, or, when it does not
    /// decode, answered as the module table says. Returns the package's name, or the decode
    /// error.
    pub fn handle_message(
        &mut self,
        now: Instant,
        peer: P,
        bytes: &[u8],
    ) -> Result<&'static str, TcapError> {
        match TcapMessage::decode(bytes) {
            Ok(m) => {
                let name = m.package.name();
                self.handle_decoded(now, peer, m);
                Ok(name)
            }
            Err(e) => {
                self.handle_undecodable(now, peer, bytes);
                Err(e)
            }
        }
    }

    /// A decoded TCAP message from `peer`.
    pub fn handle_decoded(&mut self, _now: Instant, peer: P, message: TcapMessage) {
        let TcapMessage {
            package,
            components,
            ..
        } = message;
        let name = package.name();
        match package {
            Package::Response { dtid } => {
                if self.end(dtid) {
                    self.complete(dtid, outcome_of(components));
                } else {
                    self.unknown(dtid, name);
                }
            }
            Package::Conversation { otid, dtid, .. } => {
                if self.end(dtid) {
                    self.complete(dtid, outcome_of(components));
                } else if self.config.serve_invokes {
                    self.serve(peer, Some(otid), components);
                } else {
                    self.unknown(dtid, name);
                    self.abort(peer, otid, PAbortCause::UnassignedRespondingTransactionId);
                }
            }
            Package::Abort { dtid, cause } => {
                if self.end(dtid) {
                    self.complete(dtid, InvokeOutcome::Abort(cause));
                } else {
                    self.unknown(dtid, name);
                }
            }
            Package::Query { otid, .. } => self.serve(peer, Some(otid), components),
            Package::Unidirectional => {
                if self.config.serve_invokes {
                    self.serve(peer, None, components);
                }
            }
        }
    }

    /// A TCAP message from `peer` that does not decode: an Abort when its transaction portion
    /// says whom to (see the module table).
    pub fn handle_undecodable(&mut self, _now: Instant, peer: P, bytes: &[u8]) {
        let Some(t) = peek_transaction(bytes) else {
            return;
        };
        let cause = match t.package {
            Some(p) if p.carries_originating_id() => PAbortCause::BadlyStructuredTransactionPortion,
            None => PAbortCause::UnrecognizedPackageType,
            Some(_) => return,
        };
        if let Some(otid) = t.originating {
            self.abort(peer, otid, cause);
        }
    }

    /// SCCP returned a message we sent (UDTS/XUDTS with it as data): the transaction of ours
    /// it opened, if any, ends with an Abort without cause.
    pub fn handle_returned(&mut self, _now: Instant, bytes: &[u8]) {
        let Some(t) = peek_transaction(bytes) else {
            return;
        };
        if !matches!(
            t.package,
            Some(PackageType::QueryWithPermission | PackageType::QueryWithoutPermission)
        ) {
            return;
        }
        if let Some(otid) = t.originating {
            if self.end(otid) {
                self.complete(otid, InvokeOutcome::Abort(None));
            }
        }
    }

    /// Answers a served Invoke. The Response goes once every Invoke of its Query is answered.
    /// Answering a Unidirectional's Invoke, or one already answered, does nothing.
    pub fn answer(&mut self, handle: InvokeHandle, answer: Answer) {
        let Some(id) = handle.dialogue else { return };
        let Some(d) = self.dialogues.get_mut(&id) else {
            return;
        };
        let Some(slot) = d.slots.get_mut(handle.slot) else {
            return;
        };
        let Slot::Waiting(invoke_id) = *slot else {
            return;
        };
        let correlation_id = invoke_id.unwrap_or(0);
        *slot = Slot::Done(match answer {
            Answer::Result(parameters) => Component::ReturnResult {
                last: true,
                correlation_id,
                parameters,
            },
            Answer::Error(error, parameters) => Component::ReturnError {
                correlation_id,
                error,
                parameters,
            },
            Answer::Reject(problem) => reject(invoke_id, problem),
        });
        d.unanswered -= 1;
        if d.unanswered == 0 {
            if let Some(d) = self.dialogues.remove(&id) {
                self.respond(d.peer, d.dtid, Slot::components(d.slots));
            }
        }
    }

    /// Time has come to `now`: every invoke timer due runs out ([`Event::TimedOut`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, tid)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            self.pending.remove(&tid);
            self.events.push_back(Event::TimedOut { transaction: tid });
        }
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<P>> {
        self.transmits.pop_front()
    }

    /// When the next invoke timer runs out, if any is running.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// The next thing to report.
    pub fn poll_event(&mut self) -> Option<Event<P>> {
        self.events.pop_front()
    }

    fn allocate(&mut self) -> TransactionId {
        loop {
            let tid = self.next_tid.to_be_bytes();
            self.next_tid = self.next_tid.wrapping_add(1);
            if !self.pending.contains_key(&tid) {
                return tid;
            }
        }
    }

    /// Ends a transaction of ours; false if there is none by that ID.
    fn end(&mut self, tid: TransactionId) -> bool {
        match self.pending.remove(&tid) {
            Some(at) => {
                self.timers.remove(&(at, tid));
                true
            }
            None => false,
        }
    }

    fn complete(&mut self, transaction: TransactionId, outcome: InvokeOutcome) {
        self.events.push_back(Event::Completed {
            transaction,
            outcome,
        });
    }

    fn unknown(&mut self, transaction: TransactionId, package: &'static str) {
        self.events.push_back(Event::UnknownTransaction {
            transaction,
            package,
        });
    }

    fn abort(&mut self, peer: P, dtid: TransactionId, cause: PAbortCause) {
        self.transmits.push_back(Transmit {
            to: peer,
            message: TcapMessage {
                package: Package::Abort {
                    dtid,
                    cause: Some(AbortCause::Protocol(cause)),
                },
                components: Vec::new(),
                dialogue: None,
            },
            transaction: None,
        });
    }

    fn respond(&mut self, peer: P, dtid: TransactionId, components: Vec<Component>) {
        self.transmits.push_back(Transmit {
            to: peer,
            message: TcapMessage {
                package: Package::Response { dtid },
                components,
                dialogue: None,
            },
            transaction: None,
        });
    }

    /// Answers (or hands out for answering) the components of a Query, Conversation or
    /// Unidirectional (`reply_to`: the originating ID to respond to; `None`: no answer).
    fn serve(&mut self, peer: P, reply_to: Option<TransactionId>, components: Vec<Component>) {
        let dialogue = reply_to.map(|_| {
            self.next_dialogue = self.next_dialogue.wrapping_add(1);
            self.next_dialogue
        });
        let mut slots: Vec<Slot> = Vec::with_capacity(components.len());
        let mut unanswered = 0;
        for c in components {
            match c {
                Component::Invoke {
                    invoke_id,
                    operation,
                    parameters,
                    ..
                } if self.config.serve_invokes => {
                    let handle = InvokeHandle {
                        dialogue,
                        slot: slots.len(),
                    };
                    if dialogue.is_some() {
                        slots.push(Slot::Waiting(invoke_id));
                        unanswered += 1;
                    }
                    self.events.push_back(Event::Invoke(Invocation {
                        handle,
                        peer: peer.clone(),
                        invoke_id,
                        operation,
                        parameters,
                    }));
                }
                Component::Invoke { invoke_id, .. } => slots.push(Slot::Done(reject(
                    invoke_id,
                    RejectProblem::Invoke(InvokeProblem::UnrecognizedOperationCode),
                ))),
                Component::ReturnResult { correlation_id, .. }
                | Component::ReturnError { correlation_id, .. } => slots.push(Slot::Done(reject(
                    Some(correlation_id),
                    RejectProblem::General(GeneralProblem::UnrecognizedComponentType),
                ))),
                Component::Reject { .. } => {}
            }
        }
        let (Some(id), Some(dtid)) = (dialogue, reply_to) else {
            return;
        };
        if unanswered == 0 {
            self.respond(peer, dtid, Slot::components(slots));
        } else {
            self.dialogues.insert(
                id,
                Dialogue {
                    peer,
                    dtid,
                    slots,
                    unanswered,
                },
            );
        }
    }
}

fn reject(correlation_id: Option<u8>, problem: RejectProblem) -> Component {
    Component::Reject {
        correlation_id,
        problem,
        parameters: Some(Parameters::empty_set()),
    }
}

/// The first answer among the components (ANSI-41 sends one component per message).
fn outcome_of(components: Vec<Component>) -> InvokeOutcome {
    for c in components {
        match c {
            Component::ReturnResult { parameters, .. } => return InvokeOutcome::Result(parameters),
            Component::ReturnError {
                error, parameters, ..
            } => return InvokeOutcome::Error(error, parameters),
            Component::Reject { problem, .. } => return InvokeOutcome::Reject(problem),
            Component::Invoke { .. } => {}
        }
    }
    InvokeOutcome::Result(None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::ber::{Identifier, Tlv};
    use crate::tcap::{CodeKind, ReturnErrorProblem};

    const TIMER: Duration = Duration::from_secs(5);
    const SMDPP: OperationCode = OperationCode::private(9, 53);
    const MSC: &str = "msc";

    fn gateway() -> TransactionManager<&'static str> {
        TransactionManager::new(Config {
            first_transaction_id: 0x0102_0300,
            serve_invokes: false,
        })
    }

    fn responder() -> TransactionManager<&'static str> {
        TransactionManager::new(Config {
            first_transaction_id: 1,
            serve_invokes: true,
        })
    }

    fn params(v: u8) -> Parameters {
        Parameters {
            kind: crate::tcap::ParameterKind::Set,
            elements: vec![Tlv::new(Identifier::context(105), vec![v])],
        }
    }

    fn sent<P: Clone>(m: &mut TransactionManager<P>) -> Vec<Transmit<P>> {
        std::iter::from_fn(|| m.poll_transmit()).collect()
    }

    fn events<P: Clone>(m: &mut TransactionManager<P>) -> Vec<Event<P>> {
        std::iter::from_fn(|| m.poll_event()).collect()
    }

    fn bytes(package: Package, components: Vec<Component>) -> Vec<u8> {
        TcapMessage {
            package,
            components,
            dialogue: None,
        }
        .encode()
        .unwrap()
    }

    fn response(dtid: TransactionId, c: Component) -> Vec<u8> {
        bytes(Package::Response { dtid }, vec![c])
    }

    fn result(v: u8) -> Component {
        Component::ReturnResult {
            last: true,
            correlation_id: FIRST_INVOKE_ID,
            parameters: Some(params(v)),
        }
    }

    fn invoke(id: u8) -> Component {
        Component::Invoke {
            last: true,
            invoke_id: Some(id),
            correlation_id: None,
            operation: SMDPP,
            parameters: Some(params(id)),
        }
    }

    /// Sends one Invoke and returns its transaction ID.
    fn open(m: &mut TransactionManager<&'static str>, now: Instant) -> TransactionId {
        let tid = m.invoke(now, MSC, SMDPP, params(0), TIMER);
        sent(m);
        tid
    }

    #[test]
    fn invoke_sends_a_query_and_a_response_completes_it() {
        let t0 = Instant::now();
        let mut m = gateway();
        let tid = m.invoke(t0, MSC, SMDPP, params(1), TIMER);
        assert_eq!(tid, [1, 2, 3, 0]);
        let out = sent(&mut m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].to, MSC);
        assert_eq!(out[0].transaction, Some(tid));
        assert_eq!(
            out[0].message,
            TcapMessage {
                package: Package::Query {
                    with_permission: true,
                    otid: tid
                },
                components: vec![Component::Invoke {
                    last: true,
                    invoke_id: Some(1),
                    correlation_id: None,
                    operation: SMDPP,
                    parameters: Some(params(1)),
                }],
                dialogue: None,
            }
        );
        assert_eq!(m.poll_timeout(), Some(t0 + TIMER));
        assert_eq!(m.open_transactions(), 1);
        let name = m
            .handle_message(t0, MSC, &response(tid, result(9)))
            .unwrap();
        assert_eq!(name, "Response");
        assert_eq!(
            events(&mut m),
            [Event::Completed {
                transaction: tid,
                outcome: InvokeOutcome::Result(Some(params(9)))
            }]
        );
        assert_eq!(m.poll_timeout(), None);
        assert_eq!(m.open_transactions(), 0);
        assert!(sent(&mut m).is_empty());
        // The next transaction has the next ID.
        assert_eq!(open(&mut m, t0), [1, 2, 3, 1]);
    }

    #[test]
    fn return_error_reject_and_abort_outcomes() {
        let t0 = Instant::now();
        let mut m = gateway();
        let error = ErrorCode {
            kind: CodeKind::Private,
            code: 0x81,
        };
        let a = open(&mut m, t0);
        let b = open(&mut m, t0);
        let c = open(&mut m, t0);
        m.handle_message(
            t0,
            MSC,
            &response(
                a,
                Component::ReturnError {
                    correlation_id: 1,
                    error,
                    parameters: None,
                },
            ),
        )
        .unwrap();
        let problem = RejectProblem::ReturnError(ReturnErrorProblem::UnexpectedError);
        m.handle_message(
            t0,
            MSC,
            &response(
                b,
                Component::Reject {
                    correlation_id: Some(1),
                    problem,
                    parameters: None,
                },
            ),
        )
        .unwrap();
        let cause = Some(AbortCause::Protocol(PAbortCause::ResourceUnavailable));
        m.handle_message(
            t0,
            MSC,
            &bytes(
                Package::Abort {
                    dtid: c,
                    cause: cause.clone(),
                },
                vec![],
            ),
        )
        .unwrap();
        assert_eq!(
            events(&mut m),
            [
                Event::Completed {
                    transaction: a,
                    outcome: InvokeOutcome::Error(error, None)
                },
                Event::Completed {
                    transaction: b,
                    outcome: InvokeOutcome::Reject(problem)
                },
                Event::Completed {
                    transaction: c,
                    outcome: InvokeOutcome::Abort(cause)
                },
            ]
        );
        assert_eq!(m.open_transactions(), 0);
    }

    #[test]
    fn a_lost_response_times_out() {
        let t0 = Instant::now();
        let mut m = gateway();
        let a = open(&mut m, t0);
        let b = open(&mut m, t0 + Duration::from_secs(1));
        m.handle_timeout(t0 + TIMER - Duration::from_millis(1));
        assert!(events(&mut m).is_empty());
        m.handle_timeout(t0 + TIMER);
        assert_eq!(events(&mut m), [Event::TimedOut { transaction: a }]);
        assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(1) + TIMER));
        m.handle_timeout(t0 + Duration::from_secs(60));
        assert_eq!(events(&mut m), [Event::TimedOut { transaction: b }]);
        assert_eq!(m.poll_timeout(), None);
        assert!(sent(&mut m).is_empty(), "a timeout sends nothing");
    }

    #[test]
    fn a_late_answer_is_for_an_unknown_transaction_and_completes_nothing() {
        let t0 = Instant::now();
        let mut m = gateway();
        let a = open(&mut m, t0);
        m.handle_timeout(t0 + TIMER);
        assert_eq!(events(&mut m), [Event::TimedOut { transaction: a }]);
        // The late Response: discarded (it ended the MSC's side; there is no ID of the MSC's
        // to abort), reported, never completing the timed-out invoke.
        m.handle_message(t0 + TIMER, MSC, &response(a, result(1)))
            .unwrap();
        assert_eq!(
            events(&mut m),
            [Event::UnknownTransaction {
                transaction: a,
                package: "Response"
            }]
        );
        assert!(sent(&mut m).is_empty());
        // A late Conversation names the MSC's transaction: aborted, unrecognized transaction.
        let b = open(&mut m, t0);
        m.handle_timeout(t0 + TIMER);
        events(&mut m);
        let conv = bytes(
            Package::Conversation {
                with_permission: true,
                otid: [7, 7, 7, 7],
                dtid: b,
            },
            vec![result(1)],
        );
        m.handle_message(t0 + TIMER, MSC, &conv).unwrap();
        assert_eq!(
            events(&mut m),
            [Event::UnknownTransaction {
                transaction: b,
                package: "ConversationWithPermission"
            }]
        );
        let out = sent(&mut m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].to, MSC);
        assert_eq!(
            out[0].message.package,
            Package::Abort {
                dtid: [7, 7, 7, 7],
                cause: Some(AbortCause::Protocol(
                    PAbortCause::UnassignedRespondingTransactionId
                ))
            }
        );
        // A late Abort: nothing.
        m.handle_message(
            t0,
            MSC,
            &bytes(
                Package::Abort {
                    dtid: b,
                    cause: None,
                },
                vec![],
            ),
        )
        .unwrap();
        assert!(sent(&mut m).is_empty());
        assert!(!events(&mut m)
            .iter()
            .any(|e| matches!(e, Event::Completed { .. })));
    }

    #[test]
    fn a_conversation_for_our_transaction_completes_it() {
        let t0 = Instant::now();
        let mut m = gateway();
        let a = open(&mut m, t0);
        let conv = bytes(
            Package::Conversation {
                with_permission: false,
                otid: [9; 4],
                dtid: a,
            },
            vec![result(3)],
        );
        m.handle_message(t0, MSC, &conv).unwrap();
        assert_eq!(
            events(&mut m),
            [Event::Completed {
                transaction: a,
                outcome: InvokeOutcome::Result(Some(params(3)))
            }]
        );
    }

    #[test]
    fn an_invoke_addressed_to_the_gateway_is_rejected() {
        let t0 = Instant::now();
        let mut m = gateway();
        let q = bytes(
            Package::Query {
                with_permission: true,
                otid: [4, 3, 2, 1],
            },
            vec![invoke(5), result(1)],
        );
        m.handle_message(t0, "hlr", &q).unwrap();
        assert!(events(&mut m).is_empty());
        let out = sent(&mut m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].to, "hlr");
        assert_eq!(
            out[0].message,
            TcapMessage {
                package: Package::Response { dtid: [4, 3, 2, 1] },
                components: vec![
                    Component::Reject {
                        correlation_id: Some(5),
                        problem: RejectProblem::Invoke(InvokeProblem::UnrecognizedOperationCode),
                        parameters: Some(Parameters::empty_set()),
                    },
                    Component::Reject {
                        correlation_id: Some(1),
                        problem: RejectProblem::General(GeneralProblem::UnrecognizedComponentType),
                        parameters: Some(Parameters::empty_set()),
                    }
                ],
                dialogue: None,
            }
        );
        // A Unidirectional gets nothing.
        m.handle_message(t0, "hlr", &bytes(Package::Unidirectional, vec![invoke(1)]))
            .unwrap();
        assert!(sent(&mut m).is_empty());
        assert!(events(&mut m).is_empty());
    }

    #[test]
    fn the_responder_answers_each_invoke_in_one_response_in_order() {
        let t0 = Instant::now();
        let mut m = responder();
        let q = bytes(
            Package::Query {
                with_permission: true,
                otid: [0, 0, 0, 9],
            },
            vec![invoke(1), result(7), invoke(2)],
        );
        m.handle_message(t0, "otaf", &q).unwrap();
        let ev = events(&mut m);
        let handles: Vec<InvokeHandle> = ev
            .iter()
            .map(|e| match e {
                Event::Invoke(i) => {
                    assert_eq!(i.peer, "otaf");
                    assert_eq!(i.operation, SMDPP);
                    i.handle
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(handles.len(), 2);
        let Event::Invoke(first) = &ev[0] else {
            unreachable!()
        };
        assert_eq!(first.invoke_id, Some(1));
        assert_eq!(first.parameters, Some(params(1)));
        // The second is answered first: nothing goes until both are.
        let error = ErrorCode {
            kind: CodeKind::Private,
            code: 0x86,
        };
        m.answer(
            handles[1],
            Answer::Error(error, Some(Parameters::empty_set())),
        );
        assert!(sent(&mut m).is_empty());
        m.answer(handles[0], Answer::Result(Some(params(42))));
        m.answer(handles[0], Answer::Result(None)); // twice: ignored
        let out = sent(&mut m);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].to, "otaf");
        assert_eq!(
            out[0].message,
            TcapMessage {
                package: Package::Response { dtid: [0, 0, 0, 9] },
                components: vec![
                    Component::ReturnResult {
                        last: true,
                        correlation_id: 1,
                        parameters: Some(params(42)),
                    },
                    Component::Reject {
                        correlation_id: Some(FIRST_INVOKE_ID),
                        problem: RejectProblem::General(GeneralProblem::UnrecognizedComponentType),
                        parameters: Some(Parameters::empty_set()),
                    },
                    Component::ReturnError {
                        correlation_id: 2,
                        error,
                        parameters: Some(Parameters::empty_set()),
                    },
                ],
                dialogue: None,
            }
        );
        // A Conversation is served like a Query; a Query without Invokes gets an empty
        // Response at once; a Unidirectional's Invokes get no answer.
        let conv = bytes(
            Package::Conversation {
                with_permission: true,
                otid: [1; 4],
                dtid: [2; 4],
            },
            vec![invoke(3)],
        );
        m.handle_message(t0, "otaf", &conv).unwrap();
        let [Event::Invoke(i)] = &events(&mut m)[..] else {
            panic!("one Invoke")
        };
        m.answer(
            i.handle,
            Answer::Reject(RejectProblem::Invoke(InvokeProblem::IncorrectParameter)),
        );
        let out = sent(&mut m);
        assert_eq!(out[0].message.package, Package::Response { dtid: [1; 4] });
        assert!(matches!(
            out[0].message.components[..],
            [Component::Reject {
                correlation_id: Some(3),
                ..
            }]
        ));
        m.handle_message(
            t0,
            "otaf",
            &bytes(
                Package::Query {
                    with_permission: true,
                    otid: [3; 4],
                },
                vec![],
            ),
        )
        .unwrap();
        let out = sent(&mut m);
        assert_eq!(out[0].message.package, Package::Response { dtid: [3; 4] });
        assert!(out[0].message.components.is_empty());
        m.handle_message(t0, "otaf", &bytes(Package::Unidirectional, vec![invoke(4)]))
            .unwrap();
        let [Event::Invoke(i)] = &events(&mut m)[..] else {
            panic!("one Invoke")
        };
        m.answer(i.handle, Answer::Result(None));
        assert!(sent(&mut m).is_empty());
    }

    #[test]
    fn undecodable_messages_are_aborted_when_their_transaction_id_is_readable() {
        let t0 = Instant::now();
        for mut m in [gateway(), responder()] {
            // A Query whose component sequence is broken.
            let bad = [0xE2, 0x08, 0xC7, 0x04, 0, 0, 0, 9, 0xE8, 0x05];
            assert!(m.handle_message(t0, MSC, &bad).is_err());
            let out = sent(&mut m);
            assert_eq!(
                out[0].message.package,
                Package::Abort {
                    dtid: [0, 0, 0, 9],
                    cause: Some(AbortCause::Protocol(
                        PAbortCause::BadlyStructuredTransactionPortion
                    ))
                }
            );
            // The same with long-form lengths (package and transaction ID element).
            let bad = [
                0xE2, 0x82, 0x00, 0x0A, 0xC7, 0x81, 0x04, 0, 0, 0, 8, 0xE8, 0x05, 0x01,
            ];
            assert!(m.handle_message(t0, MSC, &bad).is_err());
            let out = sent(&mut m);
            assert_eq!(
                out[0].message.package,
                Package::Abort {
                    dtid: [0, 0, 0, 8],
                    cause: Some(AbortCause::Protocol(
                        PAbortCause::BadlyStructuredTransactionPortion
                    ))
                }
            );
            // An unknown package type.
            let unknown = [0xE7, 0x06, 0xC7, 0x04, 6, 6, 6, 6];
            assert!(m.handle_message(t0, MSC, &unknown).is_err());
            let out = sent(&mut m);
            assert_eq!(
                out[0].message.package,
                Package::Abort {
                    dtid: [6; 4],
                    cause: Some(AbortCause::Protocol(PAbortCause::UnrecognizedPackageType))
                }
            );
            // A broken Response or Abort, or nothing readable: dropped.
            for bad in [
                &[0xE4, 0x08, 0xC7, 0x04, 0, 0, 0, 9, 0xE8, 0x05][..],
                &[0xF6, 0x07, 0xC7, 0x04, 0, 0, 0, 9, 0xD7][..],
                &[0x01, 0x02][..],
            ] {
                assert!(m.handle_message(t0, MSC, bad).is_err());
                assert!(sent(&mut m).is_empty(), "{bad:02X?}");
            }
            assert!(events(&mut m).is_empty());
        }
    }

    #[test]
    fn a_query_returned_by_sccp_aborts_its_transaction() {
        let t0 = Instant::now();
        let mut m = gateway();
        let tid = m.invoke(t0, MSC, SMDPP, params(0), TIMER);
        let query = sent(&mut m).remove(0).message.encode().unwrap();
        m.handle_returned(t0, &query);
        assert_eq!(
            events(&mut m),
            [Event::Completed {
                transaction: tid,
                outcome: InvokeOutcome::Abort(None)
            }]
        );
        m.handle_returned(t0, &query);
        assert!(events(&mut m).is_empty(), "once");
        assert_eq!(m.poll_timeout(), None);
    }

    #[test]
    fn an_abandoned_transaction_is_forgotten_and_ids_in_use_are_skipped() {
        let t0 = Instant::now();
        let mut m: TransactionManager<&str> = TransactionManager::new(Config {
            first_transaction_id: u32::MAX,
            serve_invokes: false,
        });
        let a = open(&mut m, t0);
        assert_eq!(a, [0xFF; 4]);
        assert_eq!(open(&mut m, t0), [0, 0, 0, 0], "wraps");
        assert!(m.abandon(a));
        assert!(!m.abandon(a));
        assert_eq!(m.open_transactions(), 1);
        m.handle_message(t0, MSC, &response(a, result(1))).unwrap();
        assert!(matches!(
            &events(&mut m)[..],
            [Event::UnknownTransaction { .. }]
        ));
        // Allocation skips an ID still open.
        let mut m: TransactionManager<&str> = TransactionManager::new(Config {
            first_transaction_id: 5,
            serve_invokes: false,
        });
        open(&mut m, t0);
        m.next_tid = 5;
        assert_eq!(open(&mut m, t0), [0, 0, 0, 6]);
    }
}

//! The simulated MSC: holds handsets in OTASP calls (each known by its TRN) and relays IS-683
//! messages between the OTAF and them, as IS-725-A describes.
//!
//! A test (or the CLI) places a handset in an OTASP call with [`Msc::place_otasp_call`]: the
//! MSC hands out a TRN (the TRN prefix followed by a 4-digit counter, e.g. `5550001`) and the
//! handset stays on a traffic channel until the OTAF releases it. The MSC answers TCAP
//! QueryWithPermission Invokes:
//!
//! | Invoke | the MSC answers |
//! |---|---|
//! | SMDPP, ActionCode 8 (Attach MSC to OTAF) with the TRN of a call (IS-725-A) | ReturnResult: ESN (the pseudo-ESN for a MEID handset), MEID (when it has one), MobileStationMSID = MobileStationMIN (184), and its MSCID (21) |
//! | same, unknown or released TRN | ReturnError UnrecognizedParameterValue (the TRN names no call); no TRN: MissingParameter |
//! | SMDPP without ActionCode, ServiceIndicator 1 (CDMA OTASP) | the handset found by TRN, else ESN (or MEID), else MIN, must be on its call: its IS-683 answer to SMS_BearerData, in a ReturnResult's SMS_BearerData |
//! | SMDPP, ServiceIndicator 3 (CDMA OTAPA) | same, and a handset whose call was released (idle, registered here) is reached too |
//! | SMDPP, no such handset | ReturnError UnrecognizedESN (ESN given) or UnrecognizedMIN; no identity at all: MissingParameter |
//! | SMDPP, handset dropped ([`Msc::drop_handset`]) | ReturnError UnrecognizedESN: the MSC no longer reaches it |
//! | SMDPP, ServiceIndicator 1 for a handset no longer on its call | ReturnError OperationSequenceProblem |
//! | SMDPP, ServiceIndicator absent / other than 1 and 3 (teleservice other than 4100) | ReturnError MissingParameter / UnrecognizedParameterValue |
//! | SMDPP, SMS_BearerData not an IS-683 forward message | ReturnError ParameterError |
//! | SMDPP, SMS_TeleserviceIdentifier 4100 (WAP; any ServiceIndicator) to a MIN attached with [`Msc::attach_push`] | SMS_BearerData (IS-637: Message Identifier, User Data = a WDP segment) kept in the MIN's reassembler; ReturnResult with no parameters for every accepted segment; when the datagram completes it is decoded as a WSP push and delivered to the handset's channel ([`Delivery::Push`]) |
//! | same, by ESN (or MEID) only | the push receiver attached with that ESN ([`super::Network::register_for_sms`]), else the MIN of a handset held here with that ESN/MEID |
//! | same, no push receiver for the MIN / ESN | ReturnError UnrecognizedMIN / UnrecognizedESN (UnrecognizedESN too when the ESN is not the one registered for the MIN); an IMSI: UnrecognizedMIN; no identity: MissingParameter |
//! | same, SMS_BearerData identical to one of the last [`RECENT_SEGMENTS`] it took for the MIN (the OTAF sent it again after losing the answer) | ReturnResult; the handset discards the copy, nothing is delivered twice |
//! | same, SMS_BearerData not IS-637 / WDP, a segment that does not fit its datagram (another total, another segment with the same number) | ReturnError ParameterError, nothing kept |
//! | same, a completed datagram not for port 2948 or not a WSP push | ReturnError ParameterError, nothing delivered (the datagram is dropped) |
//! | SMDPP, ActionCode 14 (Release TRN) or 16 (Release resources), the call found by TRN, else ESN/MEID, else MIN | the call ends, the handset reboots (always: it leaves the OTASP call and power-cycles as after a commit), registers: the MSC sends a RegistrationNotification (QueryWithPermission, ESN, MIN, MSCID, MEID) to the HLR; ReturnResult (empty). Releasing an idle or dropped handset's call again: ReturnResult, nothing else |
//! | SMDPP, other ActionCodes | ReturnError UnrecognizedParameterValue |
//! | OTASPRequest (the OTAF's A-key operation towards the HLR/AC, not the MSC) | ReturnError OperationNotSupported |
//! | any other operation | ReturnError OperationNotSupported |
//! | parameters that do not decode | ReturnError MissingParameter or ParameterError |
//!
//! The HLR's answer to a RegistrationNotification is checked and counted
//! ([`Msc::registration_answers`]).
//!
//! A handset attached for pushes ([`Msc::attach_push`]) is independent of the handsets held in
//! calls: it is the receiving end of a channel, as a handset's WAP stack is; a later attach of
//! the same MIN replaces the earlier one, and a receiver that was dropped is detached.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use otagw_codecs::ansi41::{
    self, action_code, service_indicator, teleservice, Ansi41Parameters, Digits, Mscid, Msid,
    Operation, RegistrationNotification, ReturnErrorCode, SmdppInvoke, SmdppResult,
};
use otagw_codecs::identity::{DeviceId, Esn, Meid, Min};
use otagw_codecs::is637;
use otagw_codecs::is683::ForwardMessage;
use otagw_codecs::m3ua::{PointCode, ProtocolData};
use otagw_codecs::sccp::SccpAddress;
use otagw_codecs::tcap::transactions::InvokeOutcome;
use otagw_codecs::tcap::Parameters;
use otagw_codecs::wap::push::WapPush;
use otagw_codecs::wap::WAP_PUSH_PORT;
use tokio::sync::mpsc::UnboundedSender;

use super::stp::Element;
use super::tcap_user::{
    lock, parameter_error, serve, InvokeContext, InvokeHandler, Route, TcapUser,
};
use crate::handset::push::{Deliveries, Delivery};
use crate::handset::Handset;

/// How a handset the MSC holds stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// In its OTASP call, on a traffic channel.
    OnTrafficChannel,
    /// The call was released; the handset rebooted and registered, and is idle here.
    Idle,
    /// Dropped by [`Msc::drop_handset`]: the MSC no longer reaches it.
    Gone,
}

/// What an MSC is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MscConfig {
    /// Its point code.
    pub point_code: PointCode,
    /// Its SSN (default 8).
    pub ssn: u8,
    /// Its MSCID.
    pub mscid: Mscid,
    /// TRN prefix: TRNs are this followed by a 4-digit counter (more digits after 9999).
    pub trn_prefix: String,
    /// The HLR's point code, where RegistrationNotifications go.
    pub hlr_point_code: PointCode,
    /// The HLR's SSN (default 6).
    pub hlr_ssn: u8,
    /// The MSC's SMS_Address, as an HLR would return it for handsets served here.
    pub sms_address: Digits,
}

impl Default for MscConfig {
    /// PC 1-1-2, SSN 8, MSCID market 1234 switch 1, TRN prefix "555", HLR at 1-1-3 SSN 6,
    /// SMS_Address 5550000000.
    fn default() -> Self {
        Self {
            point_code: super::MSC_POINT_CODE,
            ssn: super::MSC_SSN,
            mscid: super::DEFAULT_MSCID,
            trn_prefix: super::DEFAULT_TRN_PREFIX.to_owned(),
            hlr_point_code: super::HLR_POINT_CODE,
            hlr_ssn: super::HLR_SSN,
            sms_address: Digits::bcd(super::DEFAULT_MSC_SMS_ADDRESS),
        }
    }
}

/// The answers the MSC got to its RegistrationNotifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegistrationAnswers {
    /// RegistrationNotifications sent.
    pub sent: u64,
    /// Answered with a ReturnResult.
    pub results: u64,
    /// Answered otherwise (ReturnError, Reject, Abort), or not within [`REGISTRATION_TIMER`]
    /// (noticed when the MSC next handles a message).
    pub failures: u64,
}

#[derive(Debug)]
struct Call {
    trn: Option<String>,
    handset: Handset,
    min: Min,
    state: CallState,
}

impl Call {
    fn esn(&self) -> Esn {
        self.handset.config().device.esn_or_pesn()
    }

    fn meid(&self) -> Option<Meid> {
        match self.handset.config().device {
            DeviceId::Meid(m) => Some(m),
            DeviceId::Esn(_) => None,
        }
    }
}

/// How long the MSC waits for the HLR's answer to a RegistrationNotification.
pub const REGISTRATION_TIMER: std::time::Duration = std::time::Duration::from_secs(30);

/// How many recently accepted push segments per MIN are remembered to recognise
/// retransmissions.
pub const RECENT_SEGMENTS: usize = 64;

/// A handset registered here for SMS: where its WAP pushes go.
#[derive(Debug)]
struct PushReceiver {
    esn: Option<Esn>,
    tx: UnboundedSender<Delivery>,
    reassembler: is637::Reassembler,
    /// Bearer data of the segments accepted last (oldest first).
    recent: std::collections::VecDeque<Vec<u8>>,
}

#[derive(Debug, Default)]
struct State {
    next_trn: u64,
    calls: BTreeMap<u64, Call>,
    next_key: u64,
    by_trn: HashMap<String, u64>,
    answers: RegistrationAnswers,
    /// By MIN.
    pushes: HashMap<String, PushReceiver>,
}

/// The MSC simulator; register it with the STP as an [`Element`] at its point code.
#[derive(Debug)]
pub struct Msc {
    config: MscConfig,
    state: Mutex<State>,
    tcap: TcapUser,
    /// Fault: the ReturnError every SMDPP carrying IS-683 data gets.
    data_error: Mutex<Option<ReturnErrorCode>>,
}

impl Msc {
    /// An MSC with no handsets.
    pub fn new(config: MscConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::default()),
            tcap: TcapUser::default(),
            data_error: Mutex::new(None),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &MscConfig {
        &self.config
    }

    /// Puts `handset`, whose MIN is `min`, in an OTASP call (it dialled *228): returns the TRN
    /// the OTAF will attach with.
    pub fn place_otasp_call(&self, handset: Handset, min: Min) -> String {
        let mut s = lock(&self.state);
        s.next_trn += 1;
        let trn = format!("{}{:04}", self.config.trn_prefix, s.next_trn);
        let key = insert(
            &mut s,
            Some(trn.clone()),
            handset,
            min,
            CallState::OnTrafficChannel,
        );
        s.by_trn.insert(trn.clone(), key);
        trn
    }

    /// Puts `handset` in the MSC's area idle (registered, no call): reachable by OTAPA SMDPPs
    /// (ServiceIndicator 3) only. Returns nothing to refer to it by but its ESN/MIN.
    pub fn add_idle_handset(&self, handset: Handset, min: Min) {
        let mut s = lock(&self.state);
        insert(&mut s, None, handset, min, CallState::Idle);
    }

    /// Fault: answer every Invoke of `operation` with `code` (None: answer normally again).
    pub fn set_error_for(&self, operation: Operation, code: Option<ReturnErrorCode>) {
        self.tcap.set_error(operation, code);
    }

    /// Fault: answer every SMDPP that carries IS-683 data (no ActionCode) with `code`, while
    /// the TRN attach and release are answered as usual (None: answer normally again).
    pub fn set_data_error(&self, code: Option<ReturnErrorCode>) {
        *lock(&self.data_error) = code;
    }

    /// The handset with MIN `min` is registered here for SMS: WAP pushes sent to it as SMDPP
    /// teleservice 4100 are reassembled, decoded and delivered on the returned channel.
    /// Replaces an earlier attach of the same MIN.
    pub fn attach_push(&self, min: Min) -> Deliveries {
        self.attach_push_as(min, None)
    }

    /// [`Msc::attach_push`], knowing the handset's ESN too (so an SMDPP that carries only the
    /// ESN finds it, and one whose ESN differs is refused).
    pub(crate) fn attach_push_as(&self, min: Min, esn: Option<Esn>) -> Deliveries {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        lock(&self.state).pushes.insert(
            min.as_str().to_owned(),
            PushReceiver {
                esn,
                tx,
                reassembler: is637::Reassembler::new(),
                recent: std::collections::VecDeque::new(),
            },
        );
        rx
    }

    /// Fault: the handset of call `trn` is gone (out of coverage, battery pulled): SMDPPs for
    /// it get ReturnError. False if no such TRN.
    pub fn drop_handset(&self, trn: &str) -> bool {
        let mut s = lock(&self.state);
        let Some(key) = s.by_trn.get(trn).copied() else {
            return false;
        };
        match s.calls.get_mut(&key) {
            Some(c) => {
                c.state = CallState::Gone;
                true
            }
            None => false,
        }
    }

    /// The state of call `trn`.
    pub fn call_state(&self, trn: &str) -> Option<CallState> {
        let s = lock(&self.state);
        let key = s.by_trn.get(trn)?;
        s.calls.get(key).map(|c| c.state)
    }

    /// A copy of the handset of call `trn` as it is now (committed NAM/PRL, reboots ...).
    pub fn handset_state(&self, trn: &str) -> Option<Handset> {
        let s = lock(&self.state);
        let key = s.by_trn.get(trn)?;
        s.calls.get(key).map(|c| c.handset.clone())
    }

    /// Removes the handset of call `trn` from the MSC and returns it.
    pub fn take_handset(&self, trn: &str) -> Option<Handset> {
        let mut s = lock(&self.state);
        let key = s.by_trn.remove(trn)?;
        s.calls.remove(&key).map(|c| c.handset)
    }

    /// The TRNs of every call still held, in the order they were placed.
    pub fn trns(&self) -> Vec<String> {
        let s = lock(&self.state);
        s.calls.values().filter_map(|c| c.trn.clone()).collect()
    }

    /// How the HLR answered the MSC's RegistrationNotifications so far.
    pub fn registration_answers(&self) -> RegistrationAnswers {
        lock(&self.state).answers
    }

    fn attach(&self, req: &SmdppInvoke) -> Result<Parameters, ReturnErrorCode> {
        let trn = req
            .trn
            .as_deref()
            .ok_or(ReturnErrorCode::MissingParameter)?;
        let s = lock(&self.state);
        let call = s
            .by_trn
            .get(trn)
            .and_then(|k| s.calls.get(k))
            .filter(|c| c.state == CallState::OnTrafficChannel)
            .ok_or(ReturnErrorCode::UnrecognizedParameterValue)?;
        SmdppResult {
            esn: Some(call.esn()),
            meid: call.meid(),
            mobile_station_msid: Some(Msid::Min(call.min.clone())),
            mscid: Some(self.config.mscid),
            ..SmdppResult::default()
        }
        .to_parameters()
        .map_err(|_| ReturnErrorCode::SystemFailure)
    }

    fn release(
        &self,
        req: &SmdppInvoke,
        out: &mut Vec<ProtocolData>,
    ) -> Result<Parameters, ReturnErrorCode> {
        let mut s = lock(&self.state);
        let key = find(&s, req.trn.as_deref(), req.esn, req.meid, req.msid.as_ref())?;
        let Some(call) = s.calls.get_mut(&key) else {
            return Err(ReturnErrorCode::UnrecognizedParameterValue);
        };
        if call.state == CallState::OnTrafficChannel {
            call.state = CallState::Idle;
            call.handset.reboot();
            let regnot = RegistrationNotification {
                esn: call.esn(),
                msid: Msid::Min(call.min.clone()),
                mscid: self.config.mscid,
                qualification_information_code: None,
                system_my_type_code: None,
                meid: call.meid(),
                extra: Vec::new(),
            };
            let query = self.registration_notification(&regnot);
            if !query.is_empty() {
                s.answers.sent += 1;
                out.extend(query);
            }
        }
        SmdppResult::default()
            .to_parameters()
            .map_err(|_| ReturnErrorCode::SystemFailure)
    }

    /// A QueryWithPermission to the HLR carrying one RegistrationNotification Invoke.
    fn registration_notification(&self, params: &RegistrationNotification) -> Vec<ProtocolData> {
        let Ok(parameters) = params.to_parameters() else {
            return Vec::new();
        };
        let c = &self.config;
        let route = Route {
            opc: c.point_code,
            dpc: c.hlr_point_code,
            sls: None,
            called: SccpAddress::ssn_pc(c.hlr_ssn, c.hlr_point_code.value()),
            calling: SccpAddress::ssn_pc(c.ssn, c.point_code.value()),
            xudt: false,
        };
        self.tcap.invoke(
            route,
            RegistrationNotification::OPERATION.code(),
            parameters,
            REGISTRATION_TIMER,
        )
    }

    fn smdpp(&self, req: &SmdppInvoke) -> Result<Parameters, ReturnErrorCode> {
        if req.teleservice_id == teleservice::WAP {
            return self.wap_push(req);
        }
        let si = req
            .service_indicator
            .ok_or(ReturnErrorCode::MissingParameter)?;
        if si != service_indicator::CDMA_OTASP && si != service_indicator::CDMA_OTAPA {
            return Err(ReturnErrorCode::UnrecognizedParameterValue);
        }
        let mut s = lock(&self.state);
        let key = find(&s, req.trn.as_deref(), req.esn, req.meid, req.msid.as_ref())?;
        let Some(call) = s.calls.get_mut(&key) else {
            return Err(ReturnErrorCode::UnrecognizedEsn);
        };
        match (call.state, si) {
            (CallState::Gone, _) => return Err(ReturnErrorCode::UnrecognizedEsn),
            (CallState::Idle, service_indicator::CDMA_OTASP) => {
                return Err(ReturnErrorCode::OperationSequenceProblem)
            }
            _ => {}
        }
        let forward = ForwardMessage::decode(&req.bearer_data)
            .map_err(|_| ReturnErrorCode::ParameterError)?;
        let reverse = call.handset.handle(&forward);
        let bearer = reverse
            .encode()
            .map_err(|_| ReturnErrorCode::SystemFailure)?;
        SmdppResult {
            bearer_data: Some(bearer),
            ..SmdppResult::default()
        }
        .to_parameters()
        .map_err(|_| ReturnErrorCode::SystemFailure)
    }

    /// An SMDPP with teleservice 4100: one IS-637 message of a WAP push.
    fn wap_push(&self, req: &SmdppInvoke) -> Result<Parameters, ReturnErrorCode> {
        let mut s = lock(&self.state);
        s.pushes.retain(|_, r| !r.tx.is_closed());
        let min = push_receiver(&s, req)?;
        let Some(receiver) = s.pushes.get_mut(&min) else {
            return Err(ReturnErrorCode::UnrecognizedMin);
        };
        if receiver.recent.contains(&req.bearer_data) {
            // A retransmission: the handset already has it.
            return SmdppResult::default()
                .to_parameters()
                .map_err(|_| ReturnErrorCode::SystemFailure);
        }
        let datagram = receiver
            .reassembler
            .push(&req.bearer_data)
            .map_err(|_| ReturnErrorCode::ParameterError)?;
        if receiver.recent.len() >= RECENT_SEGMENTS {
            receiver.recent.pop_front();
        }
        receiver.recent.push_back(req.bearer_data.clone());
        if let Some(datagram) = datagram {
            if datagram.destination_port != WAP_PUSH_PORT {
                return Err(ReturnErrorCode::ParameterError);
            }
            let push =
                WapPush::decode(&datagram.data).map_err(|_| ReturnErrorCode::ParameterError)?;
            if receiver.tx.send(Delivery::Push(push)).is_err() {
                s.pushes.remove(&min);
                return Err(ReturnErrorCode::UnrecognizedMin);
            }
        }
        SmdppResult::default()
            .to_parameters()
            .map_err(|_| ReturnErrorCode::SystemFailure)
    }
}

/// The MIN whose push receiver a teleservice 4100 SMDPP means.
fn push_receiver(s: &State, req: &SmdppInvoke) -> Result<String, ReturnErrorCode> {
    match &req.msid {
        Some(Msid::Min(min)) => {
            let receiver = s
                .pushes
                .get(min.as_str())
                .ok_or(ReturnErrorCode::UnrecognizedMin)?;
            match (req.esn, receiver.esn) {
                (Some(given), Some(known)) if given != known => {
                    Err(ReturnErrorCode::UnrecognizedEsn)
                }
                _ => Ok(min.as_str().to_owned()),
            }
        }
        Some(_) => Err(ReturnErrorCode::UnrecognizedMin),
        None if req.esn.is_none() && req.meid.is_none() => Err(ReturnErrorCode::MissingParameter),
        None => {
            let registered = s
                .pushes
                .iter()
                .find(|(_, r)| r.esn.is_some() && r.esn == req.esn)
                .map(|(min, _)| min.clone());
            let held = || {
                let key = find(s, None, req.esn, req.meid, None).ok()?;
                let min = s.calls.get(&key)?.min.as_str().to_owned();
                s.pushes.contains_key(&min).then_some(min)
            };
            registered
                .or_else(held)
                .ok_or(ReturnErrorCode::UnrecognizedEsn)
        }
    }
}

fn insert(s: &mut State, trn: Option<String>, handset: Handset, min: Min, state: CallState) -> u64 {
    s.next_key += 1;
    let key = s.next_key;
    s.calls.insert(
        key,
        Call {
            trn,
            handset,
            min,
            state,
        },
    );
    key
}

/// The call an Invoke means: by TRN, else by ESN (or pseudo-ESN) or MEID, else by MIN.
fn find(
    s: &State,
    trn: Option<&str>,
    esn: Option<Esn>,
    meid: Option<Meid>,
    msid: Option<&Msid>,
) -> Result<u64, ReturnErrorCode> {
    if let Some(trn) = trn {
        return s
            .by_trn
            .get(trn)
            .copied()
            .ok_or(ReturnErrorCode::UnrecognizedParameterValue);
    }
    let min = match msid {
        Some(Msid::Min(m)) => Some(m),
        _ => None,
    };
    let hit = |pred: &dyn Fn(&Call) -> bool| {
        s.calls
            .iter()
            .filter(|(_, c)| pred(c))
            // Prefer a handset still on its call over an idle one with the same identity.
            .min_by_key(|(_, c)| c.state != CallState::OnTrafficChannel)
            .map(|(k, _)| *k)
    };
    if esn.is_some() || meid.is_some() {
        return hit(&|c: &Call| {
            esn.is_some_and(|e| e == c.esn()) || meid.is_some_and(|m| Some(m) == c.meid())
        })
        .ok_or(ReturnErrorCode::UnrecognizedEsn);
    }
    if let Some(min) = min {
        return hit(&|c: &Call| &c.min == min).ok_or(ReturnErrorCode::UnrecognizedMin);
    }
    if msid.is_some() {
        return Err(ReturnErrorCode::UnrecognizedMin);
    }
    Err(ReturnErrorCode::MissingParameter)
}

impl InvokeHandler for Msc {
    fn ssn(&self) -> u8 {
        self.config.ssn
    }

    fn invoke(
        &self,
        op: Option<Operation>,
        cx: &InvokeContext<'_>,
        out: &mut Vec<ProtocolData>,
    ) -> Result<Parameters, ReturnErrorCode> {
        match op {
            Some(Operation::SmsDeliveryPointToPoint) => {
                let req =
                    SmdppInvoke::from_parameters(cx.parameters).map_err(|e| parameter_error(&e))?;
                match req.action_code {
                    None => match *lock(&self.data_error) {
                        Some(code) => Err(code),
                        None => self.smdpp(&req),
                    },
                    Some(action_code::ATTACH_MSC_TO_OTAF) => self.attach(&req),
                    Some(action_code::RELEASE_TRN | action_code::RELEASE_RESOURCES) => {
                        self.release(&req, out)
                    }
                    Some(_) => Err(ReturnErrorCode::UnrecognizedParameterValue),
                }
            }
            _ => Err(ReturnErrorCode::OperationNotSupported),
        }
    }

    fn on_answer(&self, outcome: Option<&InvokeOutcome>) {
        let ok = matches!(outcome, Some(InvokeOutcome::Result(parameters))
            if ansi41::RegistrationNotificationResult::from_parameters(parameters.as_ref()).is_ok());
        let mut s = lock(&self.state);
        if ok {
            s.answers.results += 1;
        } else {
            s.answers.failures += 1;
        }
    }
}

impl Element for Msc {
    fn handle(&self, from: &ProtocolData) -> Vec<ProtocolData> {
        serve(self, &self.tcap, from)
    }
}

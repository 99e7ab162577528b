//! The simulated HLR: subscriber records (MIN, ESN, the serving MSC's SMS_Address) and the
//! registrations MSCs report.
//!
//! | Invoke | the HLR answers |
//! |---|---|
//! | SMSRequest with the MIN of a subscriber (and its ESN, or none) | ReturnResult: ESN and SMS_Address of the serving MSC |
//! | SMSRequest, unknown MIN (or an IMSI) | ReturnError UnrecognizedMIN |
//! | SMSRequest, known MIN with another ESN | ReturnError UnrecognizedESN |
//! | RegistrationNotification with a MIN | recorded ([`Hlr::registrations`]), ReturnResult (empty); a subscriber's serving MSCID is updated |
//! | RegistrationNotification with an IMSI | ReturnError UnrecognizedMIN |
//! | any other operation | ReturnError OperationNotSupported |
//! | parameters that do not decode | ReturnError MissingParameter or ParameterError |
//!
//! Subscribers are added with [`Hlr::add_subscriber`], or by [`super::Network::place_otasp_call`]
//! and [`super::Network::register_for_sms`] (which also makes the MSC take WAP pushes for them).

use std::collections::HashMap;
use std::sync::Mutex;

use otagw_codecs::ansi41::{
    Ansi41Parameters, Digits, Mscid, Msid, Operation, RegistrationNotification,
    RegistrationNotificationResult, ReturnErrorCode, SmsRequest, SmsRequestResult,
};
use otagw_codecs::identity::{Esn, Min};
use otagw_codecs::m3ua::{PointCode, ProtocolData};
use otagw_codecs::tcap::Parameters;

use super::stp::Element;
use super::tcap_user::{lock, parameter_error, serve, InvokeContext, InvokeHandler, TcapUser};

/// What an HLR is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HlrConfig {
    /// Its point code.
    pub point_code: PointCode,
    /// Its SSN (default 6).
    pub ssn: u8,
}

impl Default for HlrConfig {
    /// PC 1-1-3, SSN 6.
    fn default() -> Self {
        Self {
            point_code: super::HLR_POINT_CODE,
            ssn: super::HLR_SSN,
        }
    }
}

/// One subscriber record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// The handset's ESN.
    pub esn: Esn,
    /// The SMS_Address of the MSC serving it.
    pub serving_msc_sms_address: Digits,
    /// The MSCID of the MSC it last registered at.
    pub serving_mscid: Option<Mscid>,
}

#[derive(Debug, Default)]
struct State {
    subscribers: HashMap<String, Subscriber>,
    registrations: Vec<(Esn, Min, Mscid)>,
}

/// The HLR simulator; register it with the STP as an [`Element`] at its point code.
#[derive(Debug)]
pub struct Hlr {
    config: HlrConfig,
    state: Mutex<State>,
    tcap: TcapUser,
}

impl Hlr {
    /// An HLR with no subscribers.
    pub fn new(config: HlrConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::default()),
            tcap: TcapUser::default(),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> HlrConfig {
        self.config
    }

    /// Adds (or replaces) the subscriber record of `min`.
    pub fn add_subscriber(&self, min: Min, esn: Esn, serving_msc_sms_address: Digits) {
        lock(&self.state).subscribers.insert(
            min.as_str().to_owned(),
            Subscriber {
                esn,
                serving_msc_sms_address,
                serving_mscid: None,
            },
        );
    }

    /// The subscriber record of `min`.
    pub fn subscriber(&self, min: &Min) -> Option<Subscriber> {
        lock(&self.state).subscribers.get(min.as_str()).cloned()
    }

    /// Every RegistrationNotification received, in order: (ESN, MIN, MSCID).
    pub fn registrations(&self) -> Vec<(Esn, Min, Mscid)> {
        lock(&self.state).registrations.clone()
    }

    /// Fault: answer every Invoke of `operation` with `code` (None: answer normally again).
    pub fn set_error_for(&self, operation: Operation, code: Option<ReturnErrorCode>) {
        self.tcap.set_error(operation, code);
    }

    fn sms_request(&self, req: &SmsRequest) -> Result<Parameters, ReturnErrorCode> {
        let Msid::Min(min) = &req.msid else {
            return Err(ReturnErrorCode::UnrecognizedMin);
        };
        let s = lock(&self.state);
        let sub = s
            .subscribers
            .get(min.as_str())
            .ok_or(ReturnErrorCode::UnrecognizedMin)?;
        if req.esn.is_some_and(|e| e != sub.esn) {
            return Err(ReturnErrorCode::UnrecognizedEsn);
        }
        SmsRequestResult {
            esn: Some(sub.esn),
            sms_address: Some(sub.serving_msc_sms_address.clone()),
            extra: Vec::new(),
        }
        .to_parameters()
        .map_err(|_| ReturnErrorCode::SystemFailure)
    }

    fn registration(&self, req: &RegistrationNotification) -> Result<Parameters, ReturnErrorCode> {
        let Msid::Min(min) = &req.msid else {
            return Err(ReturnErrorCode::UnrecognizedMin);
        };
        let mut s = lock(&self.state);
        if let Some(sub) = s.subscribers.get_mut(min.as_str()) {
            sub.serving_mscid = Some(req.mscid);
        }
        s.registrations.push((req.esn, min.clone(), req.mscid));
        RegistrationNotificationResult::default()
            .to_parameters()
            .map_err(|_| ReturnErrorCode::SystemFailure)
    }
}

impl InvokeHandler for Hlr {
    fn ssn(&self) -> u8 {
        self.config.ssn
    }

    fn invoke(
        &self,
        op: Option<Operation>,
        cx: &InvokeContext<'_>,
        _out: &mut Vec<ProtocolData>,
    ) -> Result<Parameters, ReturnErrorCode> {
        match op {
            Some(Operation::SmsRequest) => {
                let req =
                    SmsRequest::from_parameters(cx.parameters).map_err(|e| parameter_error(&e))?;
                self.sms_request(&req)
            }
            Some(Operation::RegistrationNotification) => {
                let req = RegistrationNotification::from_parameters(cx.parameters)
                    .map_err(|e| parameter_error(&e))?;
                self.registration(&req)
            }
            _ => Err(ReturnErrorCode::OperationNotSupported),
        }
    }
}

impl Element for Hlr {
    fn handle(&self, from: &ProtocolData) -> Vec<ProtocolData> {
        serve(self, &self.tcap, from)
    }
}

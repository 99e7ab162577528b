#![no_main]
//! Fuzz target `ansi41`: never panics on any input.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::ansi41::{
    self, Ansi41Parameters, Digits, OtaspRequest, OtaspRequestResult, RegistrationNotification,
    RegistrationNotificationResult, SmdppInvoke, SmdppResult, SmsRequest, SmsRequestResult,
};
use otagw_codecs::tcap::{Component, TcapMessage};

fuzz_target!(|data: &[u8]| {
    let _ = Digits::decode(data);
    let _ = ansi41::decode_min(data);
    let _ = ansi41::decode_imsi(data);
    let _ = ansi41::decode_trn(data);
    // The parameters of a TCAP component, read as each operation's.
    let Ok(m) = TcapMessage::decode(data) else {
        return;
    };
    for c in &m.components {
        let p = match c {
            Component::Invoke { parameters, .. } => parameters.as_ref(),
            Component::ReturnResult { parameters, .. } => parameters.as_ref(),
            _ => None,
        };
        let _ = OtaspRequest::from_parameters(p);
        let _ = OtaspRequestResult::from_parameters(p);
        let _ = SmdppInvoke::from_parameters(p);
        let _ = SmdppResult::from_parameters(p);
        let _ = SmsRequest::from_parameters(p);
        let _ = SmsRequestResult::from_parameters(p);
        let _ = RegistrationNotification::from_parameters(p);
        let _ = RegistrationNotificationResult::from_parameters(p);
    }
});

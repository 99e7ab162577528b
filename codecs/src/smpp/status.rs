//! What a `submit_sm_resp` command_status means for the message (SMPP 3.4 §5.1.3).
//!
//! | class | statuses | what the sender does |
//! |---|---|---|
//! | [`StatusClass::Ok`] | 0x00 ESME_ROK | row `submitted` |
//! | [`StatusClass::SlowDown`] | 0x58 ESME_RTHROTTLED, 0x14 ESME_RMSGQFUL | the bind pauses (growing), the row is queued again without counting the attempt |
//! | [`StatusClass::Transient`] | 0x08 ESME_RSYSERR, 0x45 ESME_RSUBMITFAIL, 0x64 ESME_RX_T_APPN, 0xFE ESME_RDELIVERYFAILURE, 0xFF ESME_RUNKNOWNERR, 0x04 ESME_RINVBNDSTS, anything not listed | the row is queued again after `retry_backoff`, counted |
//! | [`StatusClass::Permanent`] | 0x01 INVMSGLEN, 0x02 INVCMDLEN, 0x03 INVCMDID, 0x06 INVPRTFLG, 0x07 INVREGDLVFLG, 0x0A INVSRCADR, 0x0B INVDSTADR, 0x15 INVSERTYP, 0x43 INVESMCLASS, 0x48 INVSRCTON, 0x49 INVSRCNPI, 0x50 INVDSTTON, 0x51 INVDSTNPI, 0x53 INVSYSTYP, 0x61 INVSCHED, 0x62 INVEXPIRY, 0x65 ESME_RX_P_APPN, 0x66 ESME_RX_R_APPN, 0xC0-0xC4 optional parameter errors, 0x104 INVDCS | the row fails with the status as its cause |
//!
//! Unlisted statuses are transient: a message is retried (boundedly) rather than dropped on a
//! status we do not know.

/// How a command_status is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// Accepted.
    Ok,
    /// The SMSC asks us to slow down; the message is fine.
    SlowDown,
    /// Try again later.
    Transient,
    /// The message will never be accepted as it is.
    Permanent,
}

/// ESME_ROK: no error.
pub const ESME_ROK: u32 = 0x00;
/// ESME_RINVCMDLEN: the command_length is invalid (here: the body does not decode).
pub const ESME_RINVCMDLEN: u32 = 0x02;
/// ESME_RINVCMDID: the command_id is invalid or not served.
pub const ESME_RINVCMDID: u32 = 0x03;
/// ESME_RINVBNDSTS: the command is not allowed in the session's bind state.
pub const ESME_RINVBNDSTS: u32 = 0x04;
/// ESME_RALYBND: the session is already bound.
pub const ESME_RALYBND: u32 = 0x05;
/// ESME_RBINDFAIL: the bind failed.
pub const ESME_RBINDFAIL: u32 = 0x0D;
/// ESME_RINVPASWD: wrong password.
pub const ESME_RINVPASWD: u32 = 0x0E;
/// ESME_RINVSYSID: unknown system_id.
pub const ESME_RINVSYSID: u32 = 0x0F;
/// ESME_RTHROTTLED.
pub const ESME_RTHROTTLED: u32 = 0x58;
/// ESME_RMSGQFUL.
pub const ESME_RMSGQFUL: u32 = 0x14;
/// ESME_RX_T_APPN: temporary application error (the receiver asks for the PDU again later).
pub const ESME_RX_T_APPN: u32 = 0x64;

const PERMANENT: &[u32] = &[
    0x01, 0x02, 0x03, 0x06, 0x07, 0x0A, 0x0B, 0x15, 0x43, 0x48, 0x49, 0x50, 0x51, 0x53, 0x61, 0x62,
    0x65, 0x66, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0x104,
];

/// Classifies a command_status.
pub fn classify(status: u32) -> StatusClass {
    match status {
        0 => StatusClass::Ok,
        ESME_RTHROTTLED | ESME_RMSGQFUL => StatusClass::SlowDown,
        s if PERMANENT.contains(&s) => StatusClass::Permanent,
        _ => StatusClass::Transient,
    }
}

/// A short label for metrics and causes: the SMPP name when known, else the hex value.
pub fn name(status: u32) -> String {
    let known = match status {
        0x00 => "ESME_ROK",
        0x01 => "ESME_RINVMSGLEN",
        0x02 => "ESME_RINVCMDLEN",
        0x03 => "ESME_RINVCMDID",
        0x04 => "ESME_RINVBNDSTS",
        0x05 => "ESME_RALYBND",
        0x08 => "ESME_RSYSERR",
        0x0A => "ESME_RINVSRCADR",
        0x0B => "ESME_RINVDSTADR",
        0x0D => "ESME_RBINDFAIL",
        0x0E => "ESME_RINVPASWD",
        0x0F => "ESME_RINVSYSID",
        0x14 => "ESME_RMSGQFUL",
        0x15 => "ESME_RINVSERTYP",
        0x43 => "ESME_RINVESMCLASS",
        0x45 => "ESME_RSUBMITFAIL",
        0x58 => "ESME_RTHROTTLED",
        0x64 => "ESME_RX_T_APPN",
        0x65 => "ESME_RX_P_APPN",
        0x66 => "ESME_RX_R_APPN",
        0xFE => "ESME_RDELIVERYFAILURE",
        0xFF => "ESME_RUNKNOWNERR",
        0x104 => "ESME_RINVDCS",
        _ => "",
    };
    if known.is_empty() {
        format!("0x{status:08X}")
    } else {
        known.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        assert_eq!(classify(0), StatusClass::Ok);
        assert_eq!(classify(0x58), StatusClass::SlowDown);
        assert_eq!(classify(0x14), StatusClass::SlowDown);
        assert_eq!(classify(0x0B), StatusClass::Permanent);
        assert_eq!(classify(0x08), StatusClass::Transient);
        assert_eq!(classify(0x1234), StatusClass::Transient);
        assert_eq!(name(0x58), "ESME_RTHROTTLED");
        assert_eq!(name(0x1234), "0x00001234");
    }
}

//! ANSI-41 MAP (TIA/EIA-41-D with IS-725-A OTASP/OTAPA), the subset otagw speaks: typed
//! parameters and the operations OTASPRequest, SMSDeliveryPointToPoint (SMDPP), SMSRequest and
//! RegistrationNotification, carried in ANSI TCAP components ([`crate::tcap`]).
//!
//! Operations are private TCAP operation codes of family 9 (`D1 02 09 xx`), see [`Operation`].
//! Their parameters are a TCAP parameter SET (`F2`) of context-specific IMPLICIT elements; tag
//! numbers of 31 and above use the BER long form (`9F 81 00` = ActionCode, 128):
//!
//! | parameter | tag | value |
//! |---|---|---|
//! | MobileIdentificationNumber (MIN) | 8 | 5 octets, 10 BCD digits, first digit in the low nibble |
//! | ElectronicSerialNumber (ESN) | 9 | 4 octets |
//! | QualificationInformationCode | 17 | 1 octet |
//! | MSCID | 21 | 3 octets: market ID (16), switch number (8) |
//! | SystemMyTypeCode | 22 | 1 octet |
//! | MobileDirectoryNumber | 93 | DigitsType |
//! | SMS_Address | 104 | DigitsType |
//! | SMS_BearerData | 105 | octets (e.g. an IS-683 message) |
//! | SMS_DestinationAddress | 107 | DigitsType |
//! | SMS_OriginalDestinationAddress | 110 | DigitsType |
//! | SMS_OriginalOriginatingAddress | 112 | DigitsType |
//! | SMS_OriginatingAddress | 114 | DigitsType |
//! | SMS_TeleserviceIdentifier | 116 | 2 octets, big-endian |
//! | ActionCode | 128 | 1 octet |
//! | SMS_CauseCode | 153 | 1 octet |
//! | MobileStationMIN | 184 | as MIN |
//! | OTASP_ResultCode | 189 | 1 octet |
//! | ServiceIndicator | 193 | 1 octet |
//! | TemporaryReferenceNumber (TRN) | 195 | MINType: BCD digits, first digit in the low nibble, `F` filler |
//! | IMSI | 242 | TBCD digits, low nibble first, `F` filler |
//! | MobileStationIMSI | 286 | as IMSI |
//! | MEID | 390 | 7 octets |
//!
//! TemporaryReferenceNumber's tag, 195, and its type are from Wireshark's ANSI-41 ASN.1 module
//! (`epan/dissectors/asn1/ansi_map/ansi_map.asn`: the SMSDeliveryPointToPoint SET has
//! `temporaryReferenceNumber [195] IMPLICIT TemporaryReferenceNumber`, and parameter 6.5.2.yC
//! of N.S0011 (IS-725-A) is `TemporaryReferenceNumber ::= MINType`). So the TRN is not a
//! DigitsType: it is BCD digits packed like the MIN (first digit in the low nibble), here with
//! an `F` filler when the count is odd. tshark 4.0 decodes ours that way
//! (`tests/tshark_tcap.rs`).
//!
//! MSID is an untagged CHOICE of MIN (8) or IMSI (242) ([`Msid`]); MobileStationMSID, in results,
//! is MobileStationMIN (184) or MobileStationIMSI (286).
//!
//! Decoding accepts the elements in any order, keeps elements it does not know as raw TLVs
//! (`extra`), and refuses a known parameter that appears twice or has the wrong size. Encoding
//! emits the elements in ascending tag order, extras included.

use thiserror::Error;

use crate::ber::{Class, Identifier, Tlv};
use crate::identity::{Esn, Imsi, Meid, Min};
use crate::tcap::{CodeKind, Component, ErrorCode, OperationCode, ParameterKind, Parameters};

/// The operation family of every ANSI-41 operation.
pub const FAMILY: u8 = 9;

/// ANSI-41 operations (family 9) that IS-725-A uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// 13.
    RegistrationNotification,
    /// 27.
    AuthenticationDirective,
    /// 29.
    BaseStationChallenge,
    /// 51.
    SmsDeliveryBackward,
    /// 52.
    SmsDeliveryForward,
    /// 53: SMSDeliveryPointToPoint (SMDPP).
    SmsDeliveryPointToPoint,
    /// 54.
    SmsNotification,
    /// 55: SMSRequest (SMSREQ).
    SmsRequest,
    /// 56.
    OtaspRequest,
    /// 78: SMDPP-Ack (SMSDeliveryPointToPointAck).
    SmdppAck,
    /// 111.
    InterSystemSmsDeliveryPointToPoint,
}

impl Operation {
    /// Every operation listed here.
    pub const ALL: [Operation; 11] = [
        Operation::RegistrationNotification,
        Operation::AuthenticationDirective,
        Operation::BaseStationChallenge,
        Operation::SmsDeliveryBackward,
        Operation::SmsDeliveryForward,
        Operation::SmsDeliveryPointToPoint,
        Operation::SmsNotification,
        Operation::SmsRequest,
        Operation::OtaspRequest,
        Operation::SmdppAck,
        Operation::InterSystemSmsDeliveryPointToPoint,
    ];

    /// The operation specifier (second octet of the operation code).
    pub const fn specifier(self) -> u8 {
        match self {
            Operation::RegistrationNotification => 13,
            Operation::AuthenticationDirective => 27,
            Operation::BaseStationChallenge => 29,
            Operation::SmsDeliveryBackward => 51,
            Operation::SmsDeliveryForward => 52,
            Operation::SmsDeliveryPointToPoint => 53,
            Operation::SmsNotification => 54,
            Operation::SmsRequest => 55,
            Operation::OtaspRequest => 56,
            Operation::SmdppAck => 78,
            Operation::InterSystemSmsDeliveryPointToPoint => 111,
        }
    }

    /// The operation with this specifier, if listed here.
    pub fn from_specifier(specifier: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.specifier() == specifier)
    }

    /// The TCAP operation code: private, family 9, bit H clear.
    pub const fn code(self) -> OperationCode {
        OperationCode::private(FAMILY, self.specifier())
    }

    /// The operation behind a TCAP operation code (private, family 9), if listed here.
    pub fn from_code(code: OperationCode) -> Option<Self> {
        if code.kind == CodeKind::Private && code.family == FAMILY {
            Self::from_specifier(code.specifier)
        } else {
            None
        }
    }

    /// The name as in the standard.
    pub const fn name(self) -> &'static str {
        match self {
            Operation::RegistrationNotification => "RegistrationNotification",
            Operation::AuthenticationDirective => "AuthenticationDirective",
            Operation::BaseStationChallenge => "BaseStationChallenge",
            Operation::SmsDeliveryBackward => "SMSDeliveryBackward",
            Operation::SmsDeliveryForward => "SMSDeliveryForward",
            Operation::SmsDeliveryPointToPoint => "SMSDeliveryPointToPoint",
            Operation::SmsNotification => "SMSNotification",
            Operation::SmsRequest => "SMSRequest",
            Operation::OtaspRequest => "OTASPRequest",
            Operation::SmdppAck => "SMSDeliveryPointToPointAck",
            Operation::InterSystemSmsDeliveryPointToPoint => "InterSystemSMSDeliveryPointToPoint",
        }
    }
}

/// Parameter tag numbers (context-specific class).
pub mod tag {
    /// MobileIdentificationNumber.
    pub const MIN: u32 = 8;
    /// ElectronicSerialNumber.
    pub const ESN: u32 = 9;
    /// QualificationInformationCode.
    pub const QUALIFICATION_INFORMATION_CODE: u32 = 17;
    /// MSCID.
    pub const MSCID: u32 = 21;
    /// SystemMyTypeCode.
    pub const SYSTEM_MY_TYPE_CODE: u32 = 22;
    /// MobileDirectoryNumber.
    pub const MOBILE_DIRECTORY_NUMBER: u32 = 93;
    /// SMS_Address.
    pub const SMS_ADDRESS: u32 = 104;
    /// SMS_BearerData.
    pub const SMS_BEARER_DATA: u32 = 105;
    /// SMS_ChargeIndicator.
    pub const SMS_CHARGE_INDICATOR: u32 = 106;
    /// SMS_DestinationAddress.
    pub const SMS_DESTINATION_ADDRESS: u32 = 107;
    /// SMS_NotificationIndicator.
    pub const SMS_NOTIFICATION_INDICATOR: u32 = 109;
    /// SMS_OriginalDestinationAddress.
    pub const SMS_ORIGINAL_DESTINATION_ADDRESS: u32 = 110;
    /// SMS_OriginalOriginatingAddress.
    pub const SMS_ORIGINAL_ORIGINATING_ADDRESS: u32 = 112;
    /// SMS_OriginatingAddress.
    pub const SMS_ORIGINATING_ADDRESS: u32 = 114;
    /// SMS_TeleserviceIdentifier.
    pub const SMS_TELESERVICE_IDENTIFIER: u32 = 116;
    /// ActionCode.
    pub const ACTION_CODE: u32 = 128;
    /// SMS_CauseCode.
    pub const SMS_CAUSE_CODE: u32 = 153;
    /// AKeyProtocolVersion.
    pub const AKEY_PROTOCOL_VERSION: u32 = 181;
    /// MobileStationMIN.
    pub const MOBILE_STATION_MIN: u32 = 184;
    /// NewlyAssignedMIN.
    pub const NEWLY_ASSIGNED_MIN: u32 = 187;
    /// OTASP_ResultCode.
    pub const OTASP_RESULT_CODE: u32 = 189;
    /// ServiceIndicator.
    pub const SERVICE_INDICATOR: u32 = 193;
    /// TemporaryReferenceNumber (TRN), a MINType (Wireshark's ansi_map.asn, IS-725-A
    /// 6.5.2.yC).
    pub const TEMPORARY_REFERENCE_NUMBER: u32 = 195;
    /// IMSI.
    pub const IMSI: u32 = 242;
    /// MobileStationIMSI.
    pub const MOBILE_STATION_IMSI: u32 = 286;
    /// MEID.
    pub const MEID: u32 = 390;
}

/// The name of a parameter tag, for messages ("parameter 391" when not listed here).
pub fn parameter_name(t: u32) -> String {
    let n = match t {
        tag::MIN => "MIN",
        tag::ESN => "ESN",
        tag::QUALIFICATION_INFORMATION_CODE => "QualificationInformationCode",
        tag::MSCID => "MSCID",
        tag::SYSTEM_MY_TYPE_CODE => "SystemMyTypeCode",
        tag::MOBILE_DIRECTORY_NUMBER => "MobileDirectoryNumber",
        tag::SMS_ADDRESS => "SMS_Address",
        tag::SMS_BEARER_DATA => "SMS_BearerData",
        tag::SMS_CHARGE_INDICATOR => "SMS_ChargeIndicator",
        tag::SMS_DESTINATION_ADDRESS => "SMS_DestinationAddress",
        tag::SMS_NOTIFICATION_INDICATOR => "SMS_NotificationIndicator",
        tag::SMS_ORIGINAL_DESTINATION_ADDRESS => "SMS_OriginalDestinationAddress",
        tag::SMS_ORIGINAL_ORIGINATING_ADDRESS => "SMS_OriginalOriginatingAddress",
        tag::SMS_ORIGINATING_ADDRESS => "SMS_OriginatingAddress",
        tag::SMS_TELESERVICE_IDENTIFIER => "SMS_TeleserviceIdentifier",
        tag::ACTION_CODE => "ActionCode",
        tag::SMS_CAUSE_CODE => "SMS_CauseCode",
        tag::AKEY_PROTOCOL_VERSION => "AKeyProtocolVersion",
        tag::MOBILE_STATION_MIN => "MobileStationMIN",
        tag::NEWLY_ASSIGNED_MIN => "NewlyAssignedMIN",
        tag::OTASP_RESULT_CODE => "OTASP_ResultCode",
        tag::SERVICE_INDICATOR => "ServiceIndicator",
        tag::TEMPORARY_REFERENCE_NUMBER => "TemporaryReferenceNumber",
        tag::IMSI => "IMSI",
        tag::MOBILE_STATION_IMSI => "MobileStationIMSI",
        tag::MEID => "MEID",
        other => return format!("parameter {other}"),
    };
    format!("{n} ({t})")
}

/// ServiceIndicator values.
pub mod service_indicator {
    /// CDMA OTASP: routes SMS_BearerData to the IS-683 decoder.
    pub const CDMA_OTASP: u8 = 1;
    /// TDMA OTASP.
    pub const TDMA_OTASP: u8 = 2;
    /// CDMA OTAPA.
    pub const CDMA_OTAPA: u8 = 3;
    /// CDMA position determination.
    pub const CDMA_POSITION_DETERMINATION: u8 = 4;
    /// AMPS position determination.
    pub const AMPS_POSITION_DETERMINATION: u8 = 5;
    /// CDMA position determination (second value).
    pub const CDMA_POSITION_DETERMINATION_2: u8 = 6;
}

/// ActionCode values used with OTASP/OTAPA.
pub mod action_code {
    /// Attach MSC to OTAF.
    pub const ATTACH_MSC_TO_OTAF: u8 = 8;
    /// Initiate RegistrationNotification.
    pub const INITIATE_REGISTRATION_NOTIFICATION: u8 = 9;
    /// Generate public encryption values.
    pub const GENERATE_PUBLIC_ENCRYPTION_VALUES: u8 = 10;
    /// Generate A-key.
    pub const GENERATE_A_KEY: u8 = 11;
    /// Perform SSD update.
    pub const PERFORM_SSD_UPDATE: u8 = 12;
    /// Perform re-authentication.
    pub const PERFORM_REAUTHENTICATION: u8 = 13;
    /// Release TRN.
    pub const RELEASE_TRN: u8 = 14;
    /// Commit A-key.
    pub const COMMIT_A_KEY: u8 = 15;
    /// Release resources.
    pub const RELEASE_RESOURCES: u8 = 16;
    /// Record NEWMSID.
    pub const RECORD_NEWMSID: u8 = 17;
    /// Allocate resources.
    pub const ALLOCATE_RESOURCES: u8 = 18;
    /// Generate authentication signature.
    pub const GENERATE_AUTHENTICATION_SIGNATURE: u8 = 19;
    /// Do not wait for MS user response.
    pub const DO_NOT_WAIT_FOR_MS_USER_RESPONSE: u8 = 21;
}

/// SMS_TeleserviceIdentifier values.
pub mod teleservice {
    /// 0, "Not used": the SMDPP carries no teleservice. IS-725-A's SMDPPs between the OTAF and
    /// the MSC (the TRN attach and release, and each relayed IS-683 message) carry OTASP data,
    /// which is no teleservice: their ServiceIndicator (1 CDMA OTASP, 3 CDMA OTAPA) says what
    /// SMS_BearerData holds. SMS_TeleserviceIdentifier is still mandatory in the SMDPP SET, so
    /// it is present, with this value.
    pub const NOT_USED: u16 = 0;
    /// CDMA Cellular Messaging Teleservice (CMT-95): text messages.
    pub const CMT_95: u16 = 4098;
    /// Wireless Application Protocol (WAP, WDP datagrams).
    pub const WAP: u16 = 4100;
    /// Wireless Enhanced Messaging Teleservice (WEMT).
    pub const WEMT: u16 = 4101;
}

/// ANSI-41 ReturnError codes (private TCAP error codes 0x81-0x8C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnErrorCode {
    /// 0x81.
    UnrecognizedMin,
    /// 0x82.
    UnrecognizedEsn,
    /// 0x83: MIN/HLR mismatch.
    MinHlrMismatch,
    /// 0x84.
    OperationSequenceProblem,
    /// 0x85.
    ResourceShortage,
    /// 0x86.
    OperationNotSupported,
    /// 0x87.
    TrunkUnavailable,
    /// 0x88.
    ParameterError,
    /// 0x89.
    SystemFailure,
    /// 0x8A.
    UnrecognizedParameterValue,
    /// 0x8B.
    FeatureInactive,
    /// 0x8C.
    MissingParameter,
}

impl ReturnErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ReturnErrorCode; 12] = [
        ReturnErrorCode::UnrecognizedMin,
        ReturnErrorCode::UnrecognizedEsn,
        ReturnErrorCode::MinHlrMismatch,
        ReturnErrorCode::OperationSequenceProblem,
        ReturnErrorCode::ResourceShortage,
        ReturnErrorCode::OperationNotSupported,
        ReturnErrorCode::TrunkUnavailable,
        ReturnErrorCode::ParameterError,
        ReturnErrorCode::SystemFailure,
        ReturnErrorCode::UnrecognizedParameterValue,
        ReturnErrorCode::FeatureInactive,
        ReturnErrorCode::MissingParameter,
    ];

    /// The error code octet.
    pub fn code(self) -> u8 {
        let i = Self::ALL.iter().position(|c| *c == self).unwrap_or(0);
        0x81 + i as u8
    }

    /// The code for this octet, if it is one of 0x81-0x8C.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code.checked_sub(0x81)?)).copied()
    }

    /// The TCAP error code (private).
    pub fn error_code(self) -> ErrorCode {
        ErrorCode {
            kind: CodeKind::Private,
            code: self.code(),
        }
    }

    /// The name as in the standard.
    pub const fn name(self) -> &'static str {
        match self {
            ReturnErrorCode::UnrecognizedMin => "UnrecognizedMIN",
            ReturnErrorCode::UnrecognizedEsn => "UnrecognizedESN",
            ReturnErrorCode::MinHlrMismatch => "MIN/HLRMismatch",
            ReturnErrorCode::OperationSequenceProblem => "OperationSequenceProblem",
            ReturnErrorCode::ResourceShortage => "ResourceShortage",
            ReturnErrorCode::OperationNotSupported => "OperationNotSupported",
            ReturnErrorCode::TrunkUnavailable => "TrunkUnavailable",
            ReturnErrorCode::ParameterError => "ParameterError",
            ReturnErrorCode::SystemFailure => "SystemFailure",
            ReturnErrorCode::UnrecognizedParameterValue => "UnrecognizedParameterValue",
            ReturnErrorCode::FeatureInactive => "FeatureInactive",
            ReturnErrorCode::MissingParameter => "MissingParameter",
        }
    }
}

/// A failure to decode or encode ANSI-41 parameters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Ansi41Error {
    /// A mandatory parameter is absent.
    #[error("ANSI-41 {operation}: mandatory {parameter} is missing")]
    Missing {
        /// The operation (e.g. "OTASPRequest").
        operation: &'static str,
        /// The parameter's name and tag.
        parameter: String,
    },
    /// A known parameter appears more than once.
    #[error("ANSI-41 {operation}: {parameter} appears more than once")]
    Duplicate {
        /// The operation.
        operation: &'static str,
        /// The parameter's name and tag.
        parameter: String,
    },
    /// A parameter's value is malformed or out of range.
    #[error("ANSI-41 {operation}: {parameter}: {problem}")]
    BadValue {
        /// The operation.
        operation: &'static str,
        /// The parameter's name and tag.
        parameter: String,
        /// What is wrong.
        problem: String,
    },
}

/// MSID: the mobile's MIN or IMSI (an untagged CHOICE).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Msid {
    /// MIN (tag 8, or 184 as MobileStationMIN).
    Min(Min),
    /// IMSI (tag 242, or 286 as MobileStationIMSI).
    Imsi(Imsi),
}

/// MSCID: identifies an MSC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mscid {
    /// Market ID (SID of the home system).
    pub market_id: u16,
    /// Switch number within the market.
    pub switch_number: u8,
}

/// How a DigitsType carries its digits (low nibble of its third octet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigitsEncoding {
    /// 1: BCD, two digits an octet, first digit in the low nibble, `F` filler.
    Bcd,
    /// 2: IA5, one character an octet.
    Ia5,
}

/// DigitsType (TRN, SMS addresses, MobileDirectoryNumber ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digits {
    /// Type of digits (e.g. 0 not used, 1 dialed, 2 destination ...).
    pub type_of_digits: u8,
    /// Nature of number (bit field: international, presentation ...).
    pub nature_of_number: u8,
    /// Numbering plan (4 bits: 0 unknown, 1 ISDN, 2 telephony (E.164/E.163), 3 data (X.121),
    /// 13 ANSI SS7 point code and subsystem, 14 IP address ...).
    pub numbering_plan: u8,
    /// Encoding of the digits.
    pub encoding: DigitsEncoding,
    /// The digits: `0`-`9` for BCD; printable ASCII for IA5.
    pub digits: String,
}

impl Digits {
    /// BCD digits with type of digits 0, nature of number 0 (national) and numbering plan 2
    /// (telephony).
    pub fn bcd(digits: &str) -> Self {
        Self {
            type_of_digits: 0,
            nature_of_number: 0,
            numbering_plan: 2,
            encoding: DigitsEncoding::Bcd,
            digits: digits.to_owned(),
        }
    }

    /// The DigitsType octets.
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        if self.numbering_plan > 0x0F {
            return Err(format!(
                "numbering plan {} does not fit 4 bits",
                self.numbering_plan
            ));
        }
        let n = self.digits.len();
        let count =
            u8::try_from(n).map_err(|_| format!("{n} digits: at most 255 can be counted"))?;
        let enc = match self.encoding {
            DigitsEncoding::Bcd => 1,
            DigitsEncoding::Ia5 => 2,
        };
        let mut out = vec![
            self.type_of_digits,
            self.nature_of_number,
            (self.numbering_plan << 4) | enc,
            count,
        ];
        match self.encoding {
            DigitsEncoding::Bcd => out.extend(pack_bcd(&self.digits)?),
            DigitsEncoding::Ia5 => {
                if let Some(c) = self.digits.chars().find(|c| !(' '..='~').contains(c)) {
                    return Err(format!("{c:?} is not a printable IA5 character"));
                }
                out.extend_from_slice(self.digits.as_bytes());
            }
        }
        Ok(out)
    }

    /// Reads DigitsType octets.
    pub fn decode(v: &[u8]) -> Result<Self, String> {
        let [type_of_digits, nature_of_number, plan_enc, count, rest @ ..] = v else {
            return Err(format!(
                "DigitsType needs at least 4 octets, got {}",
                v.len()
            ));
        };
        let count = usize::from(*count);
        let encoding = match plan_enc & 0x0F {
            1 => DigitsEncoding::Bcd,
            2 => DigitsEncoding::Ia5,
            e => {
                return Err(format!(
                    "digit encoding {e} is not supported (1 BCD, 2 IA5)"
                ))
            }
        };
        let digits = match encoding {
            DigitsEncoding::Bcd => {
                if rest.len() != count.div_ceil(2) {
                    return Err(format!(
                        "{count} BCD digits need {} octets, got {}",
                        count.div_ceil(2),
                        rest.len()
                    ));
                }
                unpack_bcd(rest, count)?
            }
            DigitsEncoding::Ia5 => {
                if rest.len() != count {
                    return Err(format!(
                        "{count} IA5 digits need {count} octets, got {}",
                        rest.len()
                    ));
                }
                if let Some(b) = rest.iter().find(|b| !(0x20..=0x7E).contains(*b)) {
                    return Err(format!("octet {b:#04x} is not a printable IA5 character"));
                }
                rest.iter().map(|b| char::from(*b)).collect()
            }
        };
        Ok(Self {
            type_of_digits: *type_of_digits,
            nature_of_number: *nature_of_number,
            numbering_plan: plan_enc >> 4,
            encoding,
            digits,
        })
    }
}

/// Packs decimal digits two an octet, first digit in the low nibble, `F` filling an odd count.
fn pack_bcd(digits: &str) -> Result<Vec<u8>, String> {
    let mut nibbles = Vec::with_capacity(digits.len() + 1);
    for c in digits.chars() {
        let d = c
            .to_digit(10)
            .ok_or_else(|| format!("{c:?} is not a decimal digit"))?;
        nibbles.push(d as u8);
    }
    if nibbles.len() % 2 == 1 {
        nibbles.push(0x0F);
    }
    Ok(nibbles.chunks(2).map(|p| (p[1] << 4) | p[0]).collect())
}

/// Unpacks `count` BCD digits (low nibble first); the filler nibble is not checked.
fn unpack_bcd(octets: &[u8], count: usize) -> Result<String, String> {
    let mut out = String::with_capacity(count);
    for i in 0..count {
        let b = octets.get(i / 2).copied().unwrap_or(0xFF);
        let d = if i % 2 == 0 { b & 0x0F } else { b >> 4 };
        if d > 9 {
            return Err(format!("digit {} is nibble {d:#x}, not 0-9", i + 1));
        }
        out.push(char::from(b'0' + d));
    }
    Ok(out)
}

/// The 5 MIN octets (10 BCD digits, first digit in the low nibble).
pub fn encode_min(min: &Min) -> Vec<u8> {
    // A Min is 10 decimal digits by construction, so packing cannot fail.
    pack_bcd(min.as_str()).unwrap_or_default()
}

/// Reads the 5 MIN octets.
pub fn decode_min(v: &[u8]) -> Result<Min, String> {
    if v.len() != 5 {
        return Err(format!("MIN must be 5 octets, got {}", v.len()));
    }
    unpack_bcd(v, 10)?.parse().map_err(|e| format!("{e}"))
}

/// The IMSI in TBCD (low nibble first, `F` filler).
pub fn encode_imsi(imsi: &Imsi) -> Vec<u8> {
    pack_bcd(imsi.as_str()).unwrap_or_default()
}

/// Reads a TBCD IMSI: every nibble a digit except an `F` filler in the last high nibble.
pub fn decode_imsi(v: &[u8]) -> Result<Imsi, String> {
    let odd = v.last().is_some_and(|b| b >> 4 == 0x0F);
    let count = v.len() * 2 - usize::from(odd);
    unpack_bcd(v, count)?.parse().map_err(|e| format!("{e}"))
}

/// The TRN octets (MINType: BCD, first digit in the low nibble, `F` filler for an odd count).
pub fn encode_trn(trn: &str) -> Result<Vec<u8>, String> {
    if trn.is_empty() || trn.len() > 20 {
        return Err(format!("TRN must be 1 to 20 digits, got {}", trn.len()));
    }
    pack_bcd(trn)
}

/// Reads TRN octets: every nibble a digit except an `F` filler in the last high nibble.
pub fn decode_trn(v: &[u8]) -> Result<String, String> {
    if v.is_empty() || v.len() > 10 {
        return Err(format!("TRN must be 1 to 10 octets, got {}", v.len()));
    }
    let odd = v.last().is_some_and(|b| b >> 4 == 0x0F);
    unpack_bcd(v, v.len() * 2 - usize::from(odd))
}

/// Parameters being read: every element, taken out as the typed fields claim them.
struct Fields {
    operation: &'static str,
    elements: Vec<Option<Tlv>>,
}

impl Fields {
    fn new(operation: &'static str, p: Option<&Parameters>) -> Self {
        Self {
            operation,
            elements: p
                .map(|p| p.elements.iter().cloned().map(Some).collect())
                .unwrap_or_default(),
        }
    }

    fn bad(&self, t: u32, problem: impl Into<String>) -> Ansi41Error {
        Ansi41Error::BadValue {
            operation: self.operation,
            parameter: parameter_name(t),
            problem: problem.into(),
        }
    }

    /// The value of context-specific tag `t`, if present once; an error if present twice.
    fn take(&mut self, t: u32) -> Result<Option<Vec<u8>>, Ansi41Error> {
        let mut found = None;
        for slot in &mut self.elements {
            let hit = slot
                .as_ref()
                .is_some_and(|e| e.id.class == Class::ContextSpecific && e.id.tag == t);
            if hit {
                if found.is_some() {
                    return Err(Ansi41Error::Duplicate {
                        operation: self.operation,
                        parameter: parameter_name(t),
                    });
                }
                found = slot.take().map(|e| e.value);
            }
        }
        Ok(found)
    }

    fn need<T>(&self, t: u32, v: Option<T>) -> Result<T, Ansi41Error> {
        v.ok_or_else(|| Ansi41Error::Missing {
            operation: self.operation,
            parameter: parameter_name(t),
        })
    }

    fn map<T>(
        &mut self,
        t: u32,
        f: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Result<Option<T>, Ansi41Error> {
        match self.take(t)? {
            None => Ok(None),
            Some(v) => f(&v).map(Some).map_err(|p| self.bad(t, p)),
        }
    }

    fn u8(&mut self, t: u32) -> Result<Option<u8>, Ansi41Error> {
        self.map(t, |v| match v {
            [b] => Ok(*b),
            _ => Err(format!("must be 1 octet, got {}", v.len())),
        })
    }

    fn octets(&mut self, t: u32) -> Result<Option<Vec<u8>>, Ansi41Error> {
        self.take(t)
    }

    fn esn(&mut self) -> Result<Option<Esn>, Ansi41Error> {
        self.map(tag::ESN, |v| {
            <[u8; 4]>::try_from(v)
                .map(|a| Esn::new(u32::from_be_bytes(a)))
                .map_err(|_| format!("must be 4 octets, got {}", v.len()))
        })
    }

    fn meid(&mut self) -> Result<Option<Meid>, Ansi41Error> {
        self.map(tag::MEID, |v| {
            if v.len() != 7 {
                return Err(format!("must be 7 octets, got {}", v.len()));
            }
            let n = v.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
            Meid::new(n).map_err(|e| e.to_string())
        })
    }

    fn mscid(&mut self) -> Result<Option<Mscid>, Ansi41Error> {
        self.map(tag::MSCID, |v| match v {
            [a, b, c] => Ok(Mscid {
                market_id: u16::from_be_bytes([*a, *b]),
                switch_number: *c,
            }),
            _ => Err(format!("must be 3 octets, got {}", v.len())),
        })
    }

    fn digits(&mut self, t: u32) -> Result<Option<Digits>, Ansi41Error> {
        self.map(t, Digits::decode)
    }

    fn teleservice(&mut self) -> Result<Option<u16>, Ansi41Error> {
        self.map(tag::SMS_TELESERVICE_IDENTIFIER, |v| match v {
            [a, b] => Ok(u16::from_be_bytes([*a, *b])),
            _ => Err(format!("must be 2 octets, got {}", v.len())),
        })
    }

    /// MIN or IMSI under these two tags; both at once is an error.
    fn msid_pair(&mut self, min_tag: u32, imsi_tag: u32) -> Result<Option<Msid>, Ansi41Error> {
        let min = self.map(min_tag, decode_min)?;
        let imsi = self.map(imsi_tag, decode_imsi)?;
        match (min, imsi) {
            (Some(_), Some(_)) => Err(self.bad(
                imsi_tag,
                format!("{} and IMSI are both present", parameter_name(min_tag)),
            )),
            (Some(m), None) => Ok(Some(Msid::Min(m))),
            (None, Some(i)) => Ok(Some(Msid::Imsi(i))),
            (None, None) => Ok(None),
        }
    }

    fn msid(&mut self) -> Result<Option<Msid>, Ansi41Error> {
        self.msid_pair(tag::MIN, tag::IMSI)
    }

    fn mobile_station_msid(&mut self) -> Result<Option<Msid>, Ansi41Error> {
        self.msid_pair(tag::MOBILE_STATION_MIN, tag::MOBILE_STATION_IMSI)
    }

    /// The elements no field claimed.
    fn rest(self) -> Vec<Tlv> {
        self.elements.into_iter().flatten().collect()
    }
}

/// Parameters being written; sorted by tag when finished.
struct Out {
    operation: &'static str,
    elements: Vec<Tlv>,
}

impl Out {
    fn new(operation: &'static str) -> Self {
        Self {
            operation,
            elements: Vec::new(),
        }
    }

    fn put(&mut self, t: u32, v: Vec<u8>) {
        self.elements.push(Tlv::new(Identifier::context(t), v));
    }

    fn opt_u8(&mut self, t: u32, v: Option<u8>) {
        if let Some(v) = v {
            self.put(t, vec![v]);
        }
    }

    fn esn(&mut self, v: Option<Esn>) {
        if let Some(e) = v {
            self.put(tag::ESN, e.as_u32().to_be_bytes().to_vec());
        }
    }

    fn meid(&mut self, v: Option<Meid>) {
        if let Some(m) = v {
            self.put(tag::MEID, m.octets().to_vec());
        }
    }

    fn mscid(&mut self, v: Option<Mscid>) {
        if let Some(m) = v {
            let [a, b] = m.market_id.to_be_bytes();
            self.put(tag::MSCID, vec![a, b, m.switch_number]);
        }
    }

    fn digits(&mut self, t: u32, v: Option<&Digits>) -> Result<(), Ansi41Error> {
        if let Some(d) = v {
            let octets = d.encode().map_err(|problem| Ansi41Error::BadValue {
                operation: self.operation,
                parameter: parameter_name(t),
                problem,
            })?;
            self.put(t, octets);
        }
        Ok(())
    }

    fn trn(&mut self, v: Option<&str>) -> Result<(), Ansi41Error> {
        if let Some(t) = v {
            let octets = encode_trn(t).map_err(|problem| Ansi41Error::BadValue {
                operation: self.operation,
                parameter: parameter_name(tag::TEMPORARY_REFERENCE_NUMBER),
                problem,
            })?;
            self.put(tag::TEMPORARY_REFERENCE_NUMBER, octets);
        }
        Ok(())
    }

    fn msid_pair(&mut self, min_tag: u32, imsi_tag: u32, v: Option<&Msid>) {
        match v {
            Some(Msid::Min(m)) => self.put(min_tag, encode_min(m)),
            Some(Msid::Imsi(i)) => self.put(imsi_tag, encode_imsi(i)),
            None => {}
        }
    }

    fn finish(mut self, extra: &[Tlv]) -> Parameters {
        self.elements.extend(extra.iter().cloned());
        self.elements.sort_by_key(|e| (e.id.class, e.id.tag));
        Parameters {
            kind: ParameterKind::Set,
            elements: self.elements,
        }
    }
}

/// Typed parameters of one ANSI-41 operation's Invoke or ReturnResult.
pub trait Ansi41Parameters: Sized {
    /// The operation they belong to.
    const OPERATION: Operation;

    /// The parameter SET, elements in ascending tag order.
    fn to_parameters(&self) -> Result<Parameters, Ansi41Error>;

    /// Reads the parameters (absent parameters read as an empty SET).
    fn from_parameters(p: Option<&Parameters>) -> Result<Self, Ansi41Error>;
}

/// An InvokeLast component carrying these Invoke parameters.
pub fn invoke<P: Ansi41Parameters>(params: &P, invoke_id: u8) -> Result<Component, Ansi41Error> {
    Ok(Component::Invoke {
        last: true,
        invoke_id: Some(invoke_id),
        correlation_id: None,
        operation: P::OPERATION.code(),
        parameters: Some(params.to_parameters()?),
    })
}

/// A ReturnResultLast component carrying these result parameters.
pub fn return_result<P: Ansi41Parameters>(
    params: &P,
    correlation_id: u8,
) -> Result<Component, Ansi41Error> {
    Ok(Component::ReturnResult {
        last: true,
        correlation_id,
        parameters: Some(params.to_parameters()?),
    })
}

/// A ReturnError component with an ANSI-41 error code and an empty parameter SET.
pub fn return_error(code: ReturnErrorCode, correlation_id: u8) -> Component {
    Component::ReturnError {
        correlation_id,
        error: code.error_code(),
        parameters: Some(Parameters::empty_set()),
    }
}

/// OTASPRequest Invoke: the OTAF's operation towards the HLR/AC for the A-key procedures
/// (ActionCodes 10-13 and 15). The TRN attach and release are SMDPPs, see
/// [`SmdppInvoke::otasp_action`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OtaspRequest {
    /// ActionCode (mandatory), see [`action_code`].
    pub action_code: u8,
    /// TemporaryReferenceNumber: 1 to 20 decimal digits (MINType encoding).
    pub trn: Option<String>,
    /// ESN.
    pub esn: Option<Esn>,
    /// MEID.
    pub meid: Option<Meid>,
    /// MSID (MIN or IMSI).
    pub msid: Option<Msid>,
    /// MSCID.
    pub mscid: Option<Mscid>,
    /// ServiceIndicator, see [`service_indicator`].
    pub service_indicator: Option<u8>,
    /// Parameters not typed here, raw.
    pub extra: Vec<Tlv>,
}

impl Ansi41Parameters for OtaspRequest {
    const OPERATION: Operation = Operation::OtaspRequest;

    fn to_parameters(&self) -> Result<Parameters, Ansi41Error> {
        let mut o = Out::new(Self::OPERATION.name());
        o.put(tag::ACTION_CODE, vec![self.action_code]);
        o.trn(self.trn.as_deref())?;
        o.esn(self.esn);
        o.meid(self.meid);
        o.msid_pair(tag::MIN, tag::IMSI, self.msid.as_ref());
        o.mscid(self.mscid);
        o.opt_u8(tag::SERVICE_INDICATOR, self.service_indicator);
        Ok(o.finish(&self.extra))
    }

    fn from_parameters(p: Option<&Parameters>) -> Result<Self, Ansi41Error> {
        let mut f = Fields::new(Self::OPERATION.name(), p);
        let action_code = f.u8(tag::ACTION_CODE)?;
        Ok(Self {
            action_code: f.need(tag::ACTION_CODE, action_code)?,
            trn: f.map(tag::TEMPORARY_REFERENCE_NUMBER, decode_trn)?,
            esn: f.esn()?,
            meid: f.meid()?,
            msid: f.msid()?,
            mscid: f.mscid()?,
            service_indicator: f.u8(tag::SERVICE_INDICATOR)?,
            extra: f.rest(),
        })
    }
}

/// OTASPRequest ReturnResult (HLR/AC -> OTAF): the outcome and identities.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OtaspRequestResult {
    /// ESN.
    pub esn: Option<Esn>,
    /// MEID.
    pub meid: Option<Meid>,
    /// MSID (MIN 8 or IMSI 242).
    pub msid: Option<Msid>,
    /// MobileStationMSID (MobileStationMIN 184 or MobileStationIMSI 286).
    pub mobile_station_msid: Option<Msid>,
    /// OTASP_ResultCode (0 accepted/successful).
    pub otasp_result_code: Option<u8>,
    /// Parameters not typed here, raw.
    pub extra: Vec<Tlv>,
}

impl Ansi41Parameters for OtaspRequestResult {
    const OPERATION: Operation = Operation::OtaspRequest;

    fn to_parameters(&self) -> Result<Parameters, Ansi41Error> {
        let mut o = Out::new("OTASPRequest result");
        o.esn(self.esn);
        o.meid(self.meid);
        o.msid_pair(tag::MIN, tag::IMSI, self.msid.as_ref());
        o.msid_pair(
            tag::MOBILE_STATION_MIN,
            tag::MOBILE_STATION_IMSI,
            self.mobile_station_msid.as_ref(),
        );
        o.opt_u8(tag::OTASP_RESULT_CODE, self.otasp_result_code);
        Ok(o.finish(&self.extra))
    }

    fn from_parameters(p: Option<&Parameters>) -> Result<Self, Ansi41Error> {
        let mut f = Fields::new("OTASPRequest result", p);
        Ok(Self {
            esn: f.esn()?,
            meid: f.meid()?,
            msid: f.msid()?,
            mobile_station_msid: f.mobile_station_msid()?,
            otasp_result_code: f.u8(tag::OTASP_RESULT_CODE)?,
            extra: f.rest(),
        })
    }
}

/// SMSDeliveryPointToPoint (SMDPP) Invoke: an IS-683 message (ServiceIndicator 1 or 3) or an
/// IS-637 message in SMS_BearerData; or, with an ActionCode, an IS-725-A request to the MSC
/// (8 "Attach MSC to OTAF" and 14 "Release TRN" with the TemporaryReferenceNumber).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmdppInvoke {
    /// SMS_BearerData (mandatory).
    pub bearer_data: Vec<u8>,
    /// SMS_TeleserviceIdentifier (mandatory), see [`teleservice`].
    pub teleservice_id: u16,
    /// ServiceIndicator, see [`service_indicator`].
    pub service_indicator: Option<u8>,
    /// ActionCode.
    pub action_code: Option<u8>,
    /// ESN.
    pub esn: Option<Esn>,
    /// MEID.
    pub meid: Option<Meid>,
    /// MSID (MIN or IMSI).
    pub msid: Option<Msid>,
    /// MSCID.
    pub mscid: Option<Mscid>,
    /// TemporaryReferenceNumber: 1 to 20 decimal digits (MINType encoding).
    pub trn: Option<String>,
    /// SMS_DestinationAddress.
    pub destination_address: Option<Digits>,
    /// SMS_OriginatingAddress.
    pub originating_address: Option<Digits>,
    /// SMS_OriginalDestinationAddress.
    pub original_destination_address: Option<Digits>,
    /// SMS_OriginalOriginatingAddress.
    pub original_originating_address: Option<Digits>,
    /// Parameters not typed here, raw.
    pub extra: Vec<Tlv>,
}

impl SmdppInvoke {
    /// An SMDPP with only the two mandatory parameters.
    pub fn new(bearer_data: Vec<u8>, teleservice_id: u16) -> Self {
        Self {
            bearer_data,
            teleservice_id,
            service_indicator: None,
            action_code: None,
            esn: None,
            meid: None,
            msid: None,
            mscid: None,
            trn: None,
            destination_address: None,
            originating_address: None,
            original_destination_address: None,
            original_originating_address: None,
            extra: Vec::new(),
        }
    }

    /// An IS-725-A request to the MSC: ActionCode `action` (e.g.
    /// [`action_code::ATTACH_MSC_TO_OTAF`], [`action_code::RELEASE_TRN`]) for the OTASP call
    /// `trn`, with ServiceIndicator `service_indicator`. The mandatory SMS_BearerData is empty
    /// (no IS-683 message rides on it) and SMS_TeleserviceIdentifier is
    /// [`teleservice::NOT_USED`].
    pub fn otasp_action(action: u8, trn: Option<String>, service_indicator: u8) -> Self {
        let mut s = Self::new(Vec::new(), teleservice::NOT_USED);
        s.action_code = Some(action);
        s.trn = trn;
        s.service_indicator = Some(service_indicator);
        s
    }
}

impl Ansi41Parameters for SmdppInvoke {
    const OPERATION: Operation = Operation::SmsDeliveryPointToPoint;

    fn to_parameters(&self) -> Result<Parameters, Ansi41Error> {
        let mut o = Out::new(Self::OPERATION.name());
        o.put(tag::SMS_BEARER_DATA, self.bearer_data.clone());
        o.put(
            tag::SMS_TELESERVICE_IDENTIFIER,
            self.teleservice_id.to_be_bytes().to_vec(),
        );
        o.opt_u8(tag::SERVICE_INDICATOR, self.service_indicator);
        o.opt_u8(tag::ACTION_CODE, self.action_code);
        o.esn(self.esn);
        o.meid(self.meid);
        o.msid_pair(tag::MIN, tag::IMSI, self.msid.as_ref());
        o.mscid(self.mscid);
        o.trn(self.trn.as_deref())?;
        o.digits(
            tag::SMS_DESTINATION_ADDRESS,
            self.destination_address.as_ref(),
        )?;
        o.digits(
            tag::SMS_ORIGINATING_ADDRESS,
            self.originating_address.as_ref(),
        )?;
        o.digits(
            tag::SMS_ORIGINAL_DESTINATION_ADDRESS,
            self.original_destination_address.as_ref(),
        )?;
        o.digits(
            tag::SMS_ORIGINAL_ORIGINATING_ADDRESS,
            self.original_originating_address.as_ref(),
        )?;
        Ok(o.finish(&self.extra))
    }

    fn from_parameters(p: Option<&Parameters>) -> Result<Self, Ansi41Error> {
        let mut f = Fields::new(Self::OPERATION.name(), p);
        let bearer_data = f.octets(tag::SMS_BEARER_DATA)?;
        let teleservice_id = f.teleservice()?;
        Ok(Self {
            bearer_data: f.need(tag::SMS_BEARER_DATA, bearer_data)?,
            teleservice_id: f.need(tag::SMS_TELESERVICE_IDENTIFIER, teleservice_id)?,
            service_indicator: f.u8(tag::SERVICE_INDICATOR)?,
            action_code: f.u8(tag::ACTION_CODE)?,
            esn: f.esn()?,
            meid: f.meid()?,
            msid: f.msid()?,
            mscid: f.mscid()?,
            trn: f.map(tag::TEMPORARY_REFERENCE_NUMBER, decode_trn)?,
            destination_address: f.digits(tag::SMS_DESTINATION_ADDRESS)?,
            originating_address: f.digits(tag::SMS_ORIGINATING_ADDRESS)?,
            original_destination_address: f.digits(tag::SMS_ORIGINAL_DESTINATION_ADDRESS)?,
            original_originating_address: f.digits(tag::SMS_ORIGINAL_ORIGINATING_ADDRESS)?,
            extra: f.rest(),
        })
    }
}

/// SMDPP ReturnResult: the mobile's reply (e.g. an IS-683 response) or a cause code; to an
/// "Attach MSC to OTAF", the mobile's identities and the serving MSC.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SmdppResult {
    /// SMS_BearerData.
    pub bearer_data: Option<Vec<u8>>,
    /// SMS_CauseCode.
    pub cause_code: Option<u8>,
    /// ActionCode.
    pub action_code: Option<u8>,
    /// ESN.
    pub esn: Option<Esn>,
    /// MEID.
    pub meid: Option<Meid>,
    /// MobileStationMSID (MobileStationMIN 184 or MobileStationIMSI 286).
    pub mobile_station_msid: Option<Msid>,
    /// MSCID (of the serving MSC).
    pub mscid: Option<Mscid>,
    /// Parameters not typed here, raw.
    pub extra: Vec<Tlv>,
}

impl Ansi41Parameters for SmdppResult {
    const OPERATION: Operation = Operation::SmsDeliveryPointToPoint;

    fn to_parameters(&self) -> Result<Parameters, Ansi41Error> {
        let mut o = Out::new("SMSDeliveryPointToPoint result");
        if let Some(b) = &self.bearer_data {
            o.put(tag::SMS_BEARER_DATA, b.clone());
        }
        o.opt_u8(tag::SMS_CAUSE_CODE, self.cause_code);
        o.opt_u8(tag::ACTION_CODE, self.action_code);
        o.esn(self.esn);
        o.meid(self.meid);
        o.msid_pair(
            tag::MOBILE_STATION_MIN,
            tag::MOBILE_STATION_IMSI,
            self.mobile_station_msid.as_ref(),
        );
        o.mscid(self.mscid);
        Ok(o.finish(&self.extra))
    }

    fn from_parameters(p: Option<&Parameters>) -> Result<Self, Ansi41Error> {
        let mut f = Fields::new("SMSDeliveryPointToPoint result", p);
        Ok(Self {
            bearer_data: f.octets(tag::SMS_BEARER_DATA)?,
            cause_code: f.u8(tag::SMS_CAUSE_CODE)?,
            action_code: f.u8(tag::ACTION_CODE)?,
            esn: f.esn()?,
            meid: f.meid()?,
            mobile_station_msid: f.mobile_station_msid()?,
            mscid: f.mscid()?,
            extra: f.rest(),
        })
    }
}

/// SMSRequest Invoke (OTAF -> HLR): where is this mobile?
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmsRequest {
    /// MSID (mandatory; normally the MIN).
    pub msid: Msid,
    /// ESN.
    pub esn: Option<Esn>,
    /// MEID.
    pub meid: Option<Meid>,
    /// ServiceIndicator.
    pub service_indicator: Option<u8>,
    /// Parameters not typed here, raw.
    pub extra: Vec<Tlv>,
}

impl Ansi41Parameters for SmsRequest {
    const OPERATION: Operation = Operation::SmsRequest;

    fn to_parameters(&self) -> Result<Parameters, Ansi41Error> {
        let mut o = Out::new(Self::OPERATION.name());
        o.msid_pair(tag::MIN, tag::IMSI, Some(&self.msid));
        o.esn(self.esn);
        o.meid(self.meid);
        o.opt_u8(tag::SERVICE_INDICATOR, self.service_indicator);
        Ok(o.finish(&self.extra))
    }

    fn from_parameters(p: Option<&Parameters>) -> Result<Self, Ansi41Error> {
        let mut f = Fields::new(Self::OPERATION.name(), p);
        let msid = f.msid()?;
        Ok(Self {
            msid: f.need(tag::MIN, msid)?,
            esn: f.esn()?,
            meid: f.meid()?,
            service_indicator: f.u8(tag::SERVICE_INDICATOR)?,
            extra: f.rest(),
        })
    }
}

/// SMSRequest ReturnResult (HLR -> OTAF): the serving MSC's SMS_Address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SmsRequestResult {
    /// ESN.
    pub esn: Option<Esn>,
    /// SMS_Address: where to send SMDPPs for this mobile.
    pub sms_address: Option<Digits>,
    /// Parameters not typed here, raw.
    pub extra: Vec<Tlv>,
}

impl Ansi41Parameters for SmsRequestResult {
    const OPERATION: Operation = Operation::SmsRequest;

    fn to_parameters(&self) -> Result<Parameters, Ansi41Error> {
        let mut o = Out::new("SMSRequest result");
        o.esn(self.esn);
        o.digits(tag::SMS_ADDRESS, self.sms_address.as_ref())?;
        Ok(o.finish(&self.extra))
    }

    fn from_parameters(p: Option<&Parameters>) -> Result<Self, Ansi41Error> {
        let mut f = Fields::new("SMSRequest result", p);
        Ok(Self {
            esn: f.esn()?,
            sms_address: f.digits(tag::SMS_ADDRESS)?,
            extra: f.rest(),
        })
    }
}

/// RegistrationNotification Invoke (MSC -> HLR): a mobile registered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistrationNotification {
    /// ESN (mandatory).
    pub esn: Esn,
    /// MSID (mandatory).
    pub msid: Msid,
    /// MSCID of the serving MSC (mandatory).
    pub mscid: Mscid,
    /// QualificationInformationCode.
    pub qualification_information_code: Option<u8>,
    /// SystemMyTypeCode (the MSC's vendor).
    pub system_my_type_code: Option<u8>,
    /// MEID.
    pub meid: Option<Meid>,
    /// Parameters not typed here, raw.
    pub extra: Vec<Tlv>,
}

impl Ansi41Parameters for RegistrationNotification {
    const OPERATION: Operation = Operation::RegistrationNotification;

    fn to_parameters(&self) -> Result<Parameters, Ansi41Error> {
        let mut o = Out::new(Self::OPERATION.name());
        o.esn(Some(self.esn));
        o.msid_pair(tag::MIN, tag::IMSI, Some(&self.msid));
        o.mscid(Some(self.mscid));
        o.opt_u8(
            tag::QUALIFICATION_INFORMATION_CODE,
            self.qualification_information_code,
        );
        o.opt_u8(tag::SYSTEM_MY_TYPE_CODE, self.system_my_type_code);
        o.meid(self.meid);
        Ok(o.finish(&self.extra))
    }

    fn from_parameters(p: Option<&Parameters>) -> Result<Self, Ansi41Error> {
        let mut f = Fields::new(Self::OPERATION.name(), p);
        let esn = f.esn()?;
        let msid = f.msid()?;
        let mscid = f.mscid()?;
        Ok(Self {
            esn: f.need(tag::ESN, esn)?,
            msid: f.need(tag::MIN, msid)?,
            mscid: f.need(tag::MSCID, mscid)?,
            qualification_information_code: f.u8(tag::QUALIFICATION_INFORMATION_CODE)?,
            system_my_type_code: f.u8(tag::SYSTEM_MY_TYPE_CODE)?,
            meid: f.meid()?,
            extra: f.rest(),
        })
    }
}

/// RegistrationNotification ReturnResult (HLR -> MSC).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RegistrationNotificationResult {
    /// SystemMyTypeCode of the HLR.
    pub system_my_type_code: Option<u8>,
    /// Parameters not typed here (the subscriber profile ...), raw.
    pub extra: Vec<Tlv>,
}

impl Ansi41Parameters for RegistrationNotificationResult {
    const OPERATION: Operation = Operation::RegistrationNotification;

    fn to_parameters(&self) -> Result<Parameters, Ansi41Error> {
        let mut o = Out::new("RegistrationNotification result");
        o.opt_u8(tag::SYSTEM_MY_TYPE_CODE, self.system_my_type_code);
        Ok(o.finish(&self.extra))
    }

    fn from_parameters(p: Option<&Parameters>) -> Result<Self, Ansi41Error> {
        let mut f = Fields::new("RegistrationNotification result", p);
        Ok(Self {
            system_my_type_code: f.u8(tag::SYSTEM_MY_TYPE_CODE)?,
            extra: f.rest(),
        })
    }
}

#[cfg(test)]
mod tests;

//! OSPP: otagw's profile of the provisioning messages IVRs and OTAP tools carry in SMPP
//! (`docs/ospp.md`). One ASCII line, `OSPP/1 VERB key=value ...`, whose session type is the
//! SMPP protocol_id it travels with.

use thiserror::Error;

use crate::identity::{Esn, Mdn, Meid};

/// Protocol version token that starts every message.
pub const VERSION: &str = "OSPP/1";

/// The session types, by SMPP protocol_id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionType {
    /// 0x7A: OTASP over SS7 (legacy star code).
    OtaspSs7,
    /// 0x7B: IOTA activation (IVR-assisted star code).
    IotaActivation,
    /// 0x7C: IOTA PRL download (OTAPA).
    IotaPrlDownload,
    /// 0x7D: status queries.
    Status,
}

impl SessionType {
    /// The SMPP protocol_id.
    pub fn protocol_id(self) -> u8 {
        match self {
            Self::OtaspSs7 => 0x7A,
            Self::IotaActivation => 0x7B,
            Self::IotaPrlDownload => 0x7C,
            Self::Status => 0x7D,
        }
    }

    /// The session type of a protocol_id.
    pub fn from_protocol_id(pid: u8) -> Option<Self> {
        match pid {
            0x7A => Some(Self::OtaspSs7),
            0x7B => Some(Self::IotaActivation),
            0x7C => Some(Self::IotaPrlDownload),
            0x7D => Some(Self::Status),
            _ => None,
        }
    }
}

/// SMPP command_status for a submit_sm that carries no OSPP message.
pub mod status {
    /// ESME_RINVMSGLEN: empty short_message.
    pub const EMPTY: u32 = 0x0000_0001;
    /// ESME_RSUBMITFAIL: not a valid OSPP message for its protocol_id.
    pub const INVALID: u32 = 0x0000_0045;
}

/// Whom a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscriber {
    /// The TRN of the handset's call.
    Trn(String),
    /// MDN.
    Mdn(Mdn),
    /// ESN.
    Esn(Esn),
    /// MEID.
    Meid(Meid),
}

/// A message from a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Start an activation (PID 0x7A or 0x7B).
    StartActivation {
        /// The tool's reference.
        tref: String,
        /// The handset.
        subscriber: Subscriber,
    },
    /// Start a PRL download (PID 0x7C).
    StartPrlDownload {
        /// The tool's reference.
        tref: String,
        /// PRL library id.
        prl: u32,
        /// The handset (not by TRN).
        subscriber: Subscriber,
    },
    /// Ask how a request is going (PID 0x7D).
    Status {
        /// The tool's reference.
        tref: String,
        /// The gateway's reference.
        reference: String,
    },
}

/// A message from the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Running as `reference`.
    Accepted {
        /// The tool's reference.
        tref: String,
        /// The gateway's reference.
        reference: String,
    },
    /// Nothing was started.
    Rejected {
        /// The tool's reference.
        tref: String,
        /// Short cause.
        cause: String,
        /// Words.
        detail: String,
    },
    /// The session ended.
    Result {
        /// The tool's reference.
        tref: String,
        /// The gateway's reference.
        reference: String,
        /// Whether it succeeded.
        success: bool,
        /// Cause of a failure.
        cause: Option<String>,
        /// Words.
        detail: Option<String>,
    },
}

/// Why a message is not valid OSPP.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OsppError {
    /// Empty.
    #[error("empty OSPP message")]
    Empty,
    /// Not ASCII text.
    #[error("OSPP messages are ASCII text")]
    NotText,
    /// Wrong version token.
    #[error("an OSPP message starts with {VERSION}, got {0:?}")]
    Version(String),
    /// Unknown protocol_id.
    #[error("protocol_id {0:#04x} is no OSPP session type (0x7A-0x7D)")]
    UnknownProtocolId(u8),
    /// Verb not valid here.
    #[error("verb {verb:?} is not valid with protocol_id {pid:#04x}")]
    Verb {
        /// The verb.
        verb: String,
        /// The protocol_id.
        pid: u8,
    },
    /// A key is missing.
    #[error("{verb} needs {key}=")]
    Missing {
        /// Verb.
        verb: &'static str,
        /// Key.
        key: &'static str,
    },
    /// A value is malformed.
    #[error("{key}={value:?}: {reason}")]
    Value {
        /// Key.
        key: String,
        /// Value.
        value: String,
        /// Why.
        reason: String,
    },
    /// A key that means nothing here.
    #[error("unknown key {0:?}")]
    UnknownKey(String),
    /// A value contains a space or is empty.
    #[error("{0} must be one word")]
    NotOneWord(&'static str),
}

/// Splits `OSPP/1 VERB k=v ...`; `detail=` runs to the end of the line.
fn fields(text: &str) -> Result<(String, Vec<(String, String)>), OsppError> {
    let text = text.trim_end_matches(['\r', '\n', '\0']);
    let (head, rest) = text
        .split_once("detail=")
        .map_or((text, None), |(h, d)| (h, Some(d)));
    let mut words = head.split_whitespace();
    let version = words.next().ok_or(OsppError::Empty)?;
    if version != VERSION {
        return Err(OsppError::Version(version.to_string()));
    }
    let verb = words
        .next()
        .ok_or_else(|| OsppError::Version(text.to_string()))?
        .to_string();
    let mut kv = Vec::new();
    for w in words {
        let (k, v) = w.split_once('=').ok_or_else(|| OsppError::Value {
            key: w.to_string(),
            value: String::new(),
            reason: "expected key=value".into(),
        })?;
        kv.push((k.to_string(), v.to_string()));
    }
    if let Some(d) = rest {
        kv.push(("detail".to_string(), d.trim().to_string()));
    }
    Ok((verb, kv))
}

fn text_of(bytes: &[u8]) -> Result<&str, OsppError> {
    if bytes.is_empty() {
        return Err(OsppError::Empty);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| OsppError::NotText)?;
    // ASCII text: no control characters but the line end and the C string's NULs at the end.
    let body = text.trim_end_matches(['\r', '\n', '\0']);
    if !text.is_ascii() || body.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err(OsppError::NotText);
    }
    Ok(text)
}

fn parse_subscriber(
    verb: &'static str,
    kv: &mut Vec<(String, String)>,
    allow_trn: bool,
) -> Result<Subscriber, OsppError> {
    let mut found = None;
    let mut rest = Vec::new();
    for (k, v) in kv.drain(..) {
        let bad = |reason: String| OsppError::Value {
            key: k.clone(),
            value: v.clone(),
            reason,
        };
        let s = match k.as_str() {
            "trn" if allow_trn => {
                if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("a TRN is 1 to 20 digits".into()));
                }
                Some(Subscriber::Trn(v.clone()))
            }
            "mdn" => Some(Subscriber::Mdn(v.parse().map_err(|e| bad(format!("{e}")))?)),
            "esn" => Some(Subscriber::Esn(v.parse().map_err(|e| bad(format!("{e}")))?)),
            "meid" => Some(Subscriber::Meid(
                v.parse().map_err(|e| bad(format!("{e}")))?,
            )),
            _ => None,
        };
        match s {
            Some(s) if found.is_none() => found = Some(s),
            Some(_) => {
                return Err(OsppError::Value {
                    key: k,
                    value: v,
                    reason: "give exactly one subscriber identity".into(),
                })
            }
            None => rest.push((k, v)),
        }
    }
    *kv = rest;
    found.ok_or(OsppError::Missing {
        verb,
        key: if allow_trn {
            "trn|mdn|esn|meid"
        } else {
            "mdn|esn|meid"
        },
    })
}

fn take(kv: &mut Vec<(String, String)>, key: &str) -> Option<String> {
    let i = kv.iter().position(|(k, _)| k == key)?;
    Some(kv.remove(i).1)
}

fn word(name: &'static str, v: &str) -> Result<(), OsppError> {
    if v.is_empty() || v.contains(char::is_whitespace) || !v.is_ascii() {
        Err(OsppError::NotOneWord(name))
    } else {
        Ok(())
    }
}

fn no_more(kv: Vec<(String, String)>) -> Result<(), OsppError> {
    match kv.into_iter().next() {
        Some((k, _)) => Err(OsppError::UnknownKey(k)),
        None => Ok(()),
    }
}

impl Request {
    /// Decodes a tool's message carried with `protocol_id`.
    pub fn decode(protocol_id: u8, bytes: &[u8]) -> Result<Self, OsppError> {
        let pid = SessionType::from_protocol_id(protocol_id)
            .ok_or(OsppError::UnknownProtocolId(protocol_id))?;
        let (verb, mut kv) = fields(text_of(bytes)?)?;
        let tref = take(&mut kv, "tref").ok_or(OsppError::Missing {
            verb: "every request",
            key: "tref",
        })?;
        word("tref", &tref)?;
        let request = match (verb.as_str(), pid) {
            ("START", SessionType::OtaspSs7 | SessionType::IotaActivation) => {
                let subscriber = parse_subscriber("START", &mut kv, true)?;
                if pid == SessionType::OtaspSs7 && !matches!(subscriber, Subscriber::Trn(_)) {
                    return Err(OsppError::Missing {
                        verb: "START (OTASP over SS7)",
                        key: "trn",
                    });
                }
                Request::StartActivation { tref, subscriber }
            }
            ("START", SessionType::IotaPrlDownload) => {
                let prl = take(&mut kv, "prl").ok_or(OsppError::Missing {
                    verb: "START",
                    key: "prl",
                })?;
                let prl = prl.parse::<u32>().map_err(|_| OsppError::Value {
                    key: "prl".into(),
                    value: prl.clone(),
                    reason: "a PRL library id is a number".into(),
                })?;
                let subscriber = parse_subscriber("START", &mut kv, false)?;
                Request::StartPrlDownload {
                    tref,
                    prl,
                    subscriber,
                }
            }
            ("STATUS", SessionType::Status) => {
                let reference = take(&mut kv, "ref").ok_or(OsppError::Missing {
                    verb: "STATUS",
                    key: "ref",
                })?;
                word("ref", &reference)?;
                Request::Status { tref, reference }
            }
            _ => {
                return Err(OsppError::Verb {
                    verb,
                    pid: protocol_id,
                })
            }
        };
        no_more(kv)?;
        Ok(request)
    }

    /// The session type (protocol_id) this request travels with.
    pub fn session_type(&self) -> SessionType {
        match self {
            Self::StartActivation {
                subscriber: Subscriber::Trn(_),
                ..
            } => SessionType::OtaspSs7,
            Self::StartActivation { .. } => SessionType::IotaActivation,
            Self::StartPrlDownload { .. } => SessionType::IotaPrlDownload,
            Self::Status { .. } => SessionType::Status,
        }
    }

    /// Encodes the message text.
    pub fn encode(&self) -> Result<Vec<u8>, OsppError> {
        let subscriber = |s: &Subscriber| match s {
            Subscriber::Trn(t) => format!("trn={t}"),
            Subscriber::Mdn(m) => format!("mdn={m}"),
            Subscriber::Esn(e) => format!("esn={e}"),
            Subscriber::Meid(m) => format!("meid={m}"),
        };
        let text = match self {
            Self::StartActivation {
                tref,
                subscriber: s,
            } => {
                word("tref", tref)?;
                format!("{VERSION} START tref={tref} {}", subscriber(s))
            }
            Self::StartPrlDownload {
                tref,
                prl,
                subscriber: s,
            } => {
                word("tref", tref)?;
                format!("{VERSION} START tref={tref} prl={prl} {}", subscriber(s))
            }
            Self::Status { tref, reference } => {
                word("tref", tref)?;
                word("ref", reference)?;
                format!("{VERSION} STATUS tref={tref} ref={reference}")
            }
        };
        Ok(text.into_bytes())
    }
}

impl Reply {
    /// Decodes a gateway's message.
    pub fn decode(bytes: &[u8]) -> Result<Self, OsppError> {
        let (verb, mut kv) = fields(text_of(bytes)?)?;
        let tref = take(&mut kv, "tref").ok_or(OsppError::Missing {
            verb: "every reply",
            key: "tref",
        })?;
        let need = |kv: &mut Vec<(String, String)>, verb: &'static str, key: &'static str| {
            take(kv, key).ok_or(OsppError::Missing { verb, key })
        };
        let reply = match verb.as_str() {
            "ACCEPTED" => Reply::Accepted {
                tref,
                reference: need(&mut kv, "ACCEPTED", "ref")?,
            },
            "REJECTED" => Reply::Rejected {
                tref,
                cause: need(&mut kv, "REJECTED", "cause")?,
                detail: take(&mut kv, "detail").unwrap_or_default(),
            },
            "RESULT" => {
                let reference = need(&mut kv, "RESULT", "ref")?;
                let outcome = need(&mut kv, "RESULT", "outcome")?;
                let success = match outcome.as_str() {
                    "success" => true,
                    "failure" => false,
                    _ => {
                        return Err(OsppError::Value {
                            key: "outcome".into(),
                            value: outcome,
                            reason: "success or failure".into(),
                        })
                    }
                };
                Reply::Result {
                    tref,
                    reference,
                    success,
                    cause: take(&mut kv, "cause"),
                    detail: take(&mut kv, "detail"),
                }
            }
            _ => {
                return Err(OsppError::Verb {
                    verb,
                    pid: SessionType::Status.protocol_id(),
                })
            }
        };
        no_more(kv)?;
        Ok(reply)
    }

    /// Encodes the message text. The detail (free text) goes last, on one line.
    pub fn encode(&self) -> Result<Vec<u8>, OsppError> {
        let clean = |d: &str| d.replace(['\r', '\n'], " ");
        let text = match self {
            Self::Accepted { tref, reference } => {
                word("tref", tref)?;
                word("ref", reference)?;
                format!("{VERSION} ACCEPTED tref={tref} ref={reference}")
            }
            Self::Rejected {
                tref,
                cause,
                detail,
            } => {
                word("tref", tref)?;
                word("cause", cause)?;
                format!(
                    "{VERSION} REJECTED tref={tref} cause={cause} detail={}",
                    clean(detail)
                )
            }
            Self::Result {
                tref,
                reference,
                success,
                cause,
                detail,
            } => {
                word("tref", tref)?;
                word("ref", reference)?;
                let mut t = format!(
                    "{VERSION} RESULT tref={tref} ref={reference} outcome={}",
                    if *success { "success" } else { "failure" }
                );
                if let Some(c) = cause {
                    word("cause", c)?;
                    t.push_str(&format!(" cause={c}"));
                }
                if let Some(d) = detail {
                    t.push_str(&format!(" detail={}", clean(d)));
                }
                t
            }
        };
        if !text.is_ascii() {
            return Err(OsppError::NotText);
        }
        Ok(text.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_documented_exchange() {
        let r = Request::decode(0x7B, b"OSPP/1 START tref=42 trn=5550001").unwrap();
        assert_eq!(
            r,
            Request::StartActivation {
                tref: "42".into(),
                subscriber: Subscriber::Trn("5550001".into())
            }
        );
        let a = Reply::Accepted {
            tref: "42".into(),
            reference: "1093".into(),
        };
        assert_eq!(a.encode().unwrap(), b"OSPP/1 ACCEPTED tref=42 ref=1093");
        let res = Reply::decode(b"OSPP/1 RESULT tref=42 ref=1093 outcome=failure cause=timeout detail=no answer before the deadline").unwrap();
        assert_eq!(
            res,
            Reply::Result {
                tref: "42".into(),
                reference: "1093".into(),
                success: false,
                cause: Some("timeout".into()),
                detail: Some("no answer before the deadline".into())
            }
        );
    }

    #[test]
    fn prl_downloads_and_status() {
        let r = Request::decode(0x7C, b"OSPP/1 START tref=7 prl=3 mdn=6195550101").unwrap();
        assert!(matches!(
            r,
            Request::StartPrlDownload {
                prl: 3,
                subscriber: Subscriber::Mdn(_),
                ..
            }
        ));
        assert_eq!(r.session_type(), SessionType::IotaPrlDownload);
        let s = Request::decode(0x7D, b"OSPP/1 STATUS tref=8 ref=99\r\n").unwrap();
        assert_eq!(Request::decode(0x7D, &s.encode().unwrap()).unwrap(), s);
    }

    #[test]
    fn bad_messages_say_what_is_wrong() {
        assert_eq!(Request::decode(0x7B, b""), Err(OsppError::Empty));
        assert!(matches!(
            Request::decode(0x10, b"OSPP/1 START tref=1 trn=1"),
            Err(OsppError::UnknownProtocolId(0x10))
        ));
        assert!(matches!(
            Request::decode(0x7B, b"OSPP/2 START tref=1 trn=1"),
            Err(OsppError::Version(_))
        ));
        assert!(matches!(
            Request::decode(0x7C, b"OSPP/1 START tref=1 trn=555"),
            Err(OsppError::Missing { key: "prl", .. })
        ));
        assert!(matches!(
            Request::decode(0x7A, b"OSPP/1 START tref=1 esn=1A2B3C4D"),
            Err(OsppError::Missing { key: "trn", .. })
        ));
        assert!(matches!(
            Request::decode(0x7B, b"OSPP/1 START tref=1 esn=XYZ"),
            Err(OsppError::Value { .. })
        ));
        assert!(matches!(
            Request::decode(0x7B, b"OSPP/1 START tref=1 trn=1 colour=red"),
            Err(OsppError::UnknownKey(_))
        ));
        assert!(matches!(
            Request::decode(0x7B, b"OSPP/1 START tref=1 trn=1 mdn=2"),
            Err(OsppError::Value { .. })
        ));
        assert!(matches!(
            Request::decode(0x7D, b"OSPP/1 START tref=1 trn=1"),
            Err(OsppError::Verb { .. })
        ));
        assert!(matches!(
            Request::decode(0x7B, "OSPP/1 START tref=1 trn=1 \u{e9}".as_bytes()),
            Err(OsppError::NotText)
        ));
    }

    proptest! {
        #[test]
        fn never_panics(pid in any::<u8>(), bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Request::decode(pid, &bytes);
            let _ = Reply::decode(&bytes);
        }

        #[test]
        fn requests_round_trip(tref in "[A-Za-z0-9_-]{1,12}", trn in "[0-9]{1,15}", prl in any::<u32>(), esn in any::<u32>()) {
            for r in [
                Request::StartActivation { tref: tref.clone(), subscriber: Subscriber::Trn(trn.clone()) },
                Request::StartActivation { tref: tref.clone(), subscriber: Subscriber::Esn(Esn::new(esn)) },
                Request::StartPrlDownload { tref: tref.clone(), prl, subscriber: Subscriber::Esn(Esn::new(esn)) },
                Request::Status { tref: tref.clone(), reference: trn.clone() },
            ] {
                let pid = match &r {
                    Request::StartActivation { .. } => SessionType::IotaActivation.protocol_id(),
                    _ => r.session_type().protocol_id(),
                };
                prop_assert_eq!(Request::decode(pid, &r.encode().unwrap()).unwrap(), r);
            }
        }

        #[test]
        fn replies_round_trip(tref in "[a-z0-9]{1,8}", reference in "[0-9]{1,8}", cause in "[a-z-]{1,12}", detail in "[ -~]{0,40}") {
            let detail = detail.trim().to_string();
            for r in [
                Reply::Accepted { tref: tref.clone(), reference: reference.clone() },
                Reply::Rejected { tref: tref.clone(), cause: cause.clone(), detail: detail.clone() },
                Reply::Result { tref: tref.clone(), reference: reference.clone(), success: false, cause: Some(cause.clone()), detail: Some(detail.clone()).filter(|d| !d.is_empty()) },
                Reply::Result { tref: tref.clone(), reference: reference.clone(), success: true, cause: None, detail: None },
            ] {
                prop_assert_eq!(Reply::decode(&r.encode().unwrap()).unwrap(), r);
            }
        }
    }

    /// Found by the `ospp` fuzz target: a value with NUL and BEL inside decoded, and lost its
    /// trailing NULs on the way back. OSPP is ASCII text without control characters.
    #[test]
    fn control_characters_inside_a_message_are_refused() {
        let mut text = b"OSPP/1 ACCEPTED tref=42 ref=g\x001093\x07".to_vec();
        text.extend([0u8; 10]);
        text.push(b' ');
        assert_eq!(Reply::decode(&text), Err(OsppError::NotText));
        // A C string's terminating NULs and a line end are still fine.
        let ok = b"OSPP/1 ACCEPTED tref=42 ref=g1093\r\n\x00\x00";
        assert!(Reply::decode(ok).is_ok());
    }
}

//! Delivery receipts (SMPP 3.4 §4.6.1.1 and appendix B): a `deliver_sm` whose esm_class
//! message type is "SMSC delivery receipt" (0x04). The receipted message's id and its state
//! come from the `receipted_message_id` (0x001E) and `message_state` (0x0427) TLVs when
//! present, else from the text "id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done
//! date:YYMMDDhhmm stat:DDDDDDD err:E text:...".
//!
//! The text is read as SMSCs write it, not only as appendix B spells it: the field names in any
//! case (`Id:`, `Stat:`, `Text:`), the id as the SMSC made it (hex or decimal, kept exactly: it
//! is matched against the submit_sm_resp's message_id as is), dates of 10 or 12 digits, `err:`
//! of any width, and nothing read after `text:` (the message's first characters, which may
//! contain anything, "stat:" included).

use rusmpp::pdus::DeliverSm;
use rusmpp::tlvs::TlvValue;

/// The final (or intermediate) state a receipt reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiptState {
    /// DELIVRD.
    Delivered,
    /// EXPIRED.
    Expired,
    /// DELETED.
    Deleted,
    /// UNDELIV.
    Undeliverable,
    /// ACCEPTD.
    Accepted,
    /// REJECTD.
    Rejected,
    /// ENROUTE (intermediate).
    Enroute,
    /// UNKNOWN or anything else.
    Unknown,
}

impl ReceiptState {
    /// The receipt text's spelling (also the metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "DELIVRD",
            Self::Expired => "EXPIRED",
            Self::Deleted => "DELETED",
            Self::Undeliverable => "UNDELIV",
            Self::Accepted => "ACCEPTD",
            Self::Rejected => "REJECTD",
            Self::Enroute => "ENROUTE",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// From the `stat:` word of a receipt text.
    pub fn from_text(s: &str) -> Self {
        match s {
            "DELIVRD" => Self::Delivered,
            "EXPIRED" => Self::Expired,
            "DELETED" => Self::Deleted,
            "UNDELIV" => Self::Undeliverable,
            "ACCEPTD" => Self::Accepted,
            "REJECTD" => Self::Rejected,
            "ENROUTE" => Self::Enroute,
            _ => Self::Unknown,
        }
    }

    /// From the message_state TLV value (SMPP 3.4 §5.2.28).
    pub fn from_message_state(v: u8) -> Self {
        match v {
            1 => Self::Enroute,
            2 => Self::Delivered,
            3 => Self::Expired,
            4 => Self::Deleted,
            5 => Self::Undeliverable,
            6 => Self::Accepted,
            8 => Self::Rejected,
            _ => Self::Unknown,
        }
    }

    /// Whether the message's fate is settled: delivered, or failed for good.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Enroute | Self::Accepted | Self::Unknown)
    }
}

/// A delivery receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The SMSC's message_id of the receipted message (as in its submit_sm_resp).
    pub message_id: String,
    /// Its state.
    pub state: ReceiptState,
    /// The `err:` field of the text (network-specific error code), when given.
    pub error: Option<String>,
}

/// Whether an esm_class says "SMSC delivery receipt" (message type bits 2-5 = 0001).
pub fn is_receipt_esm_class(esm_class: u8) -> bool {
    esm_class & 0x3C == 0x04
}

/// The value of `word` if it is the field `name` ("id:", "stat:", ...), whatever the case.
fn field<'a>(word: &'a str, name: &str) -> Option<&'a str> {
    let head = word.get(..name.len())?;
    head.eq_ignore_ascii_case(name)
        .then(|| word.get(name.len()..))
        .flatten()
}

/// Parses the standard receipt text. `None` when it has no `id:`.
pub fn parse_text(text: &str) -> Option<Receipt> {
    let mut id = None;
    let mut stat = None;
    let mut error = None;
    for w in text.split_ascii_whitespace() {
        if field(w, "text:").is_some() {
            break;
        } else if let Some(v) = field(w, "id:") {
            id = Some(v.to_string());
        } else if let Some(v) = field(w, "stat:") {
            stat = Some(ReceiptState::from_text(&v.to_ascii_uppercase()));
        } else if let Some(v) = field(w, "err:") {
            error = Some(v.to_string()).filter(|e| !e.is_empty());
        }
    }
    let message_id = id.filter(|i| !i.is_empty())?;
    Some(Receipt {
        message_id,
        state: stat.unwrap_or(ReceiptState::Unknown),
        error,
    })
}

/// The receipt a `deliver_sm` carries, if it is one.
pub fn from_deliver_sm(sm: &DeliverSm) -> Option<Receipt> {
    if !is_receipt_esm_class(u8::from(sm.esm_class)) {
        return None;
    }
    let mut id = None;
    let mut state = None;
    for tlv in sm.tlvs() {
        match tlv.value() {
            Some(TlvValue::ReceiptedMessageId(v)) => id = Some(v.as_str().to_string()),
            Some(TlvValue::MessageState(s)) => {
                state = Some(ReceiptState::from_message_state(u8::from(*s)))
            }
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(sm.short_message().as_ref()).into_owned();
    let from_text = parse_text(&text);
    let message_id = id
        .filter(|i| !i.is_empty())
        .or_else(|| from_text.as_ref().map(|r| r.message_id.clone()))?;
    let error = from_text.as_ref().and_then(|r| r.error.clone());
    let state = state
        .or_else(|| from_text.map(|r| r.state))
        .unwrap_or(ReceiptState::Unknown);
    Some(Receipt {
        message_id,
        state,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_text() {
        let r = parse_text(
            "id:0000001234 sub:001 dlvrd:001 submit date:2611261200 done date:2611261201 \
             stat:DELIVRD err:000 text:",
        );
        assert_eq!(
            r,
            Some(Receipt {
                message_id: "0000001234".into(),
                state: ReceiptState::Delivered,
                error: Some("000".into()),
            })
        );
        assert_eq!(parse_text("stat:DELIVRD"), None);
        assert_eq!(
            parse_text("id:7 stat:UNDELIV").map(|r| r.state),
            Some(ReceiptState::Undeliverable)
        );
    }

    fn parsed(text: &str) -> (String, ReceiptState, Option<String>) {
        parse_text(text).map_or_else(
            || {
                (
                    String::new(),
                    ReceiptState::Unknown,
                    Some("no receipt".into()),
                )
            },
            |r| (r.message_id, r.state, r.error),
        )
    }

    #[test]
    fn receipts_as_kannel_and_smscs_write_them() {
        // Kannel's fake SMSC and bearerbox-style text: decimal id, appendix B dates, a text.
        assert_eq!(
            parsed(
                "id:1234567890 sub:001 dlvrd:001 submit date:2611261200 done date:2611261201 \
                 stat:DELIVRD err:000 text:Hello world"
            ),
            (
                "1234567890".into(),
                ReceiptState::Delivered,
                Some("000".into())
            )
        );
        // A hex id as many SMSCs issue them (kept as written: it is matched against the
        // submit_sm_resp's message_id), and a failure with its network error.
        assert_eq!(
            parsed(
                "id:4C1F2A9B sub:001 dlvrd:000 submit date:2611261200 done date:2611261230 \
                 stat:UNDELIV err:0B3 text:"
            ),
            (
                "4C1F2A9B".into(),
                ReceiptState::Undeliverable,
                Some("0B3".into())
            )
        );
        // A UUID-like id, 12-digit dates (with seconds), capitalised field names.
        assert_eq!(
            parsed(
                "Id:c449ab9744f47b6af1879e49e75e4f40 Sub:001 Dlvrd:001 Submit date:261126120059 \
                 Done date:261126120102 Stat:EXPIRED Err:027 Text:"
            ),
            (
                "c449ab9744f47b6af1879e49e75e4f40".into(),
                ReceiptState::Expired,
                Some("027".into())
            )
        );
        // The text after `text:` is the message's start: nothing in it is read.
        assert_eq!(
            parsed("id:77 sub:001 dlvrd:001 stat:DELIVRD err:000 text:stat:UNDELIV id:99"),
            ("77".into(), ReceiptState::Delivered, Some("000".into()))
        );
        assert_eq!(
            parsed("id:77 stat:REJECTD err:1 Text: id:99"),
            ("77".into(), ReceiptState::Rejected, Some("1".into()))
        );
        // Without err: and with a state we do not know.
        assert_eq!(
            parsed("id:0A stat:WHATEVR"),
            ("0A".into(), ReceiptState::Unknown, None)
        );
        assert_eq!(parse_text("id: stat:DELIVRD"), None);
        assert_eq!(parse_text("text:id:5 stat:DELIVRD"), None);
    }

    #[test]
    fn receipts_of_the_smsc_simulator_parse() {
        // What simulators/src/smsc writes (appendix B dates in UTC).
        let text = "id:6150F0D3A1B2C sub:001 dlvrd:001 submit date:2611261200 \
                    done date:2611261200 stat:DELIVRD err:000 text:";
        assert_eq!(
            parsed(text),
            (
                "6150F0D3A1B2C".into(),
                ReceiptState::Delivered,
                Some("000".into())
            )
        );
    }

    #[test]
    fn esm_class_receipt_bits() {
        assert!(is_receipt_esm_class(0x04));
        assert!(is_receipt_esm_class(0x44));
        assert!(!is_receipt_esm_class(0x00));
        assert!(!is_receipt_esm_class(0x08));
    }
}

//! Delivery receipts (SMPP 3.4 §4.6.1.1 and appendix B): a `deliver_sm` whose esm_class
//! message type is "SMSC delivery receipt" (0x04). The receipted message's id and its state
//! come from the `receipted_message_id` (0x001E) and `message_state` (0x0427) TLVs when
//! present, else from the text "id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done
//! date:YYMMDDhhmm stat:DDDDDDD err:E text:...".

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
}

/// Whether an esm_class says "SMSC delivery receipt" (message type bits 2-5 = 0001).
pub fn is_receipt_esm_class(esm_class: u8) -> bool {
    esm_class & 0x3C == 0x04
}

/// Parses the standard receipt text. `None` when it has no `id:`.
pub fn parse_text(text: &str) -> Option<Receipt> {
    let mut id = None;
    let mut stat = None;
    for w in text.split_ascii_whitespace() {
        if let Some(v) = w.strip_prefix("id:") {
            id = Some(v.to_string());
        } else if let Some(v) = w.strip_prefix("stat:") {
            stat = Some(ReceiptState::from_text(v));
        } else if w.eq_ignore_ascii_case("text:") || w.starts_with("text:") {
            break;
        }
    }
    let message_id = id.filter(|i| !i.is_empty())?;
    Some(Receipt {
        message_id,
        state: stat.unwrap_or(ReceiptState::Unknown),
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
    let state = state
        .or_else(|| from_text.map(|r| r.state))
        .unwrap_or(ReceiptState::Unknown);
    Some(Receipt { message_id, state })
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
                state: ReceiptState::Delivered
            })
        );
        assert_eq!(parse_text("stat:DELIVRD"), None);
        assert_eq!(
            parse_text("id:7 stat:UNDELIV").map(|r| r.state),
            Some(ReceiptState::Undeliverable)
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

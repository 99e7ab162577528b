//! [`peek_transaction`]: what the transaction portion of a TCAP message says, read without
//! decoding the rest, so a message too broken to decode can still be answered (an Abort to
//! its sender) or matched to the transaction it belongs to (a message SCCP returned).
//!
//! It reads the package identifier and length (BER short or long form, X.690 8.1.3), then the
//! first element inside, which must be the transaction ID (`C7`, any length form). The package
//! contents may be cut short or broken after that element: only the identifier, the lengths
//! and the transaction ID octets themselves must be there.

use crate::ber::{self, Class, Identifier};

use super::{tags, TransactionId};

/// An ANSI TCAP package type, by its identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackageType {
    /// `E1`.
    Unidirectional,
    /// `E2`.
    QueryWithPermission,
    /// `E3`.
    QueryWithoutPermission,
    /// `E4`.
    Response,
    /// `E5`.
    ConversationWithPermission,
    /// `E6`.
    ConversationWithoutPermission,
    /// `F6`.
    Abort,
}

impl PackageType {
    /// The package type of identifier `id`, if it is one.
    pub fn from_identifier(id: Identifier) -> Option<Self> {
        if id.class != Class::Private || !id.constructed {
            return None;
        }
        Some(match id.tag {
            tags::UNIDIRECTIONAL => Self::Unidirectional,
            tags::QUERY_WITH_PERMISSION => Self::QueryWithPermission,
            tags::QUERY_WITHOUT_PERMISSION => Self::QueryWithoutPermission,
            tags::RESPONSE => Self::Response,
            tags::CONVERSATION_WITH_PERMISSION => Self::ConversationWithPermission,
            tags::CONVERSATION_WITHOUT_PERMISSION => Self::ConversationWithoutPermission,
            tags::ABORT => Self::Abort,
            _ => return None,
        })
    }

    /// Whether the package opens or continues a transaction the sender named (a Query or a
    /// Conversation: its first transaction ID is the sender's).
    pub fn carries_originating_id(self) -> bool {
        matches!(
            self,
            Self::QueryWithPermission
                | Self::QueryWithoutPermission
                | Self::ConversationWithPermission
                | Self::ConversationWithoutPermission
        )
    }
}

/// The transaction portion of a message, as far as it could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeekedTransaction {
    /// The package type; `None` for an identifier that is not an ANSI TCAP package type.
    pub package: Option<PackageType>,
    /// The sender's transaction ID: a Query's or Conversation's first ID, or the first four
    /// octets of an unknown package's transaction ID.
    pub originating: Option<TransactionId>,
    /// The receiver's transaction ID: a Response's or Abort's ID, or a Conversation's second.
    pub responding: Option<TransactionId>,
}

/// Reads the package type and transaction IDs at the start of `bytes`. `None` when the
/// package identifier, its length or the transaction ID element cannot be read, or the
/// transaction ID is neither 4 nor 8 octets (nor empty, for a Unidirectional).
pub fn peek_transaction(bytes: &[u8]) -> Option<PeekedTransaction> {
    let (id, id_len) = Identifier::read(bytes).ok()?;
    let rest = bytes.get(id_len..)?;
    let (len, len_len) = ber::read_length(rest).ok()?;
    let contents = rest.get(len_len..)?;
    // The contents may be cut short; the transaction ID must fit what there is.
    let contents = &contents[..len.min(contents.len())];
    let (tid, _) = ber::TlvRef::read(contents).ok()?;
    if tid.id != Identifier::private(false, tags::TRANSACTION_ID) {
        return None;
    }
    let package = PackageType::from_identifier(id);
    let first = |v: &[u8]| -> Option<TransactionId> { v.get(..4)?.try_into().ok() };
    let second = |v: &[u8]| -> Option<TransactionId> { v.get(4..8)?.try_into().ok() };
    let v = tid.value;
    if !matches!(v.len(), 0 | 4 | 8) {
        return None;
    }
    let (originating, responding) = match package {
        Some(PackageType::Unidirectional) => (None, None),
        Some(p) if p.carries_originating_id() => (first(v), second(v)),
        Some(_) => (None, first(v)),
        None => (first(v), None),
    };
    if package != Some(PackageType::Unidirectional) && originating.is_none() && responding.is_none()
    {
        return None;
    }
    Some(PeekedTransaction {
        package,
        originating,
        responding,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::tcap::{Component, OperationCode, Package, Parameters, TcapMessage};

    fn query(otid: [u8; 4], params: usize) -> Vec<u8> {
        TcapMessage {
            package: Package::Query {
                with_permission: true,
                otid,
            },
            components: vec![Component::Invoke {
                last: true,
                invoke_id: Some(1),
                correlation_id: None,
                operation: OperationCode::private(9, 53),
                parameters: Some(Parameters {
                    kind: crate::tcap::ParameterKind::Set,
                    elements: vec![crate::ber::Tlv::new(
                        Identifier::context(105),
                        vec![0xAB; params],
                    )],
                }),
            }],
            dialogue: None,
        }
        .encode()
        .unwrap()
    }

    #[test]
    fn short_form_length() {
        let bytes = query([1, 2, 3, 4], 10);
        assert!(bytes[1] < 0x80, "short form");
        let p = peek_transaction(&bytes).unwrap();
        assert_eq!(p.package, Some(PackageType::QueryWithPermission));
        assert_eq!(p.originating, Some([1, 2, 3, 4]));
        assert_eq!(p.responding, None);
    }

    #[test]
    fn long_form_length() {
        // 200 octets of parameters: the package length takes the long form (81 xx).
        let bytes = query([9, 8, 7, 6], 200);
        assert_eq!(bytes[1], 0x81, "long form, one length octet");
        let p = peek_transaction(&bytes).unwrap();
        assert_eq!(p.originating, Some([9, 8, 7, 6]));
        // Two length octets (82 xx xx), the message cut short.
        let mut bytes = query([5, 5, 5, 5], 300);
        assert_eq!(bytes[1], 0x82);
        bytes.truncate(bytes.len() - 1);
        assert!(TcapMessage::decode(&bytes).is_err());
        assert_eq!(peek_transaction(&bytes).unwrap().originating, Some([5; 4]));
        // A long form with leading zeros, and a transaction ID element in the long form too.
        let bytes = [0xE2, 0x83, 0, 0, 7, 0xC7, 0x81, 4, 1, 1, 2, 2];
        assert_eq!(
            peek_transaction(&bytes).unwrap().originating,
            Some([1, 1, 2, 2])
        );
    }

    #[test]
    fn truncated_after_the_transaction_id_still_peeks() {
        let bytes = query([1, 2, 3, 4], 200);
        assert_eq!(
            peek_transaction(&bytes[..12]).unwrap().originating,
            Some([1, 2, 3, 4])
        );
        assert_eq!(peek_transaction(&bytes[..7]), None, "the ID itself is cut");
    }

    #[test]
    fn each_package_type() {
        let conv = [0xE5, 0x0A, 0xC7, 0x08, 1, 1, 1, 1, 2, 2, 2, 2];
        let p = peek_transaction(&conv).unwrap();
        assert_eq!(p.package, Some(PackageType::ConversationWithPermission));
        assert_eq!((p.originating, p.responding), (Some([1; 4]), Some([2; 4])));
        let resp = [0xE4, 0x06, 0xC7, 0x04, 3, 3, 3, 3];
        let p = peek_transaction(&resp).unwrap();
        assert_eq!((p.originating, p.responding), (None, Some([3; 4])));
        let abort = [0xF6, 0x06, 0xC7, 0x04, 4, 4, 4, 4];
        assert_eq!(
            peek_transaction(&abort).unwrap().package,
            Some(PackageType::Abort)
        );
        let uni = [0xE1, 0x02, 0xC7, 0x00];
        let p = peek_transaction(&uni).unwrap();
        assert_eq!((p.originating, p.responding), (None, None));
        // An unknown package type: its first four transaction ID octets are the sender's.
        let unknown = [0xE7, 0x06, 0xC7, 0x04, 6, 6, 6, 6];
        let p = peek_transaction(&unknown).unwrap();
        assert_eq!(p.package, None);
        assert_eq!(p.originating, Some([6; 4]));
    }

    #[test]
    fn unreadable_transaction_portions() {
        for bad in [
            &[][..],
            &[0xE2],
            &[0xE2, 0x80],                            // indefinite length
            &[0xE2, 0x06, 0xC8, 0x04, 1, 2, 3, 4],    // not C7
            &[0xE2, 0x05, 0xC7, 0x03, 1, 2, 3],       // 3 octets
            &[0xE4, 0x02, 0xC7, 0x00],                // a Response without its ID
            &[0xE2, 0x85, 1, 1, 1, 1, 1, 0xC7, 0x04], // 5 length octets
        ] {
            assert_eq!(peek_transaction(bad), None, "{bad:02X?}");
        }
    }
}

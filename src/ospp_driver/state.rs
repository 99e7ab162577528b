//! A session row's state, typed: the plan, and the bearer's own part of the exchange.
//!
//! Stored in the row's `state` column as JSON:
//! `{"plan": {...}, "link": {"bearer": "iota", "seq": 3, "last_reply": "<mmc ...>"}}`. What SQL
//! filters on (status, when the plan started, the SS7 fallback, the deadline) are columns of
//! the row, not keys of this document.

use serde::{Deserialize, Serialize};

use super::plan::PlanState;
use crate::mniu::tcap::Endpoint;
use crate::store::models::Session;
use crate::store::sessions::Bearer;
use crate::store::StoreError;

/// Everything the session core keeps of a session besides the row's columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SessionState {
    /// The programming plan.
    pub plan: PlanState,
    /// The bearer's part.
    pub link: Link,
}

/// The bearer's part of a session's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "bearer", rename_all = "snake_case")]
pub(crate) enum Link {
    /// IOTA: the handset drives, one MMC document per request.
    Iota(IotaLink),
    /// SS7: the gateway drives, one SMDPP per request.
    Ss7(Ss7Link),
}

/// The IOTA bearer's part of a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IotaLink {
    /// `seq` of the last document sent (0: none yet); the handset's next POST answers it.
    pub seq: u32,
    /// The last document sent, replayed to a POST that answers `seq - 1` again.
    pub last_reply: String,
}

/// The SS7 bearer's part of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Ss7Link {
    /// The TRN of the handset's call (none for network-initiated OTAPA).
    pub trn: Option<String>,
    /// The MSC serving the handset.
    pub msc: Endpoint,
}

impl Link {
    /// The bearer this part belongs to.
    pub(crate) fn bearer(&self) -> Bearer {
        match self {
            Self::Iota(_) => Bearer::Iota,
            Self::Ss7(_) => Bearer::Ss7,
        }
    }
}

impl SessionState {
    /// The typed state of a session row.
    pub(crate) fn of(session: &Session) -> Result<Self, StoreError> {
        serde_json::from_value(session.state.clone()).map_err(|e| StoreError::InvalidValue {
            field: "ota_sessions.state",
            reason: format!("session {}: {e}", session.id),
        })
    }

    /// The JSON stored in the row.
    pub(crate) fn to_json(&self) -> Result<serde_json::Value, StoreError> {
        serde_json::to_value(self).map_err(|e| StoreError::InvalidValue {
            field: "ota_sessions.state",
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ospp_driver::plan::Programme;

    #[test]
    fn the_link_is_tagged_by_bearer() {
        let state = SessionState {
            plan: PlanState::new(Programme::default()),
            link: Link::Ss7(Ss7Link {
                trn: Some("2125550001".into()),
                msc: Endpoint {
                    point_code: 0x010102,
                    ssn: 8,
                },
            }),
        };
        let json = state.to_json().unwrap();
        assert_eq!(json["link"]["bearer"], "ss7");
        assert_eq!(json["link"]["trn"], "2125550001");
        let back: SessionState = serde_json::from_value(json).unwrap();
        assert_eq!(back, state);
        assert_eq!(back.link.bearer(), Bearer::Ss7);
    }

    #[test]
    fn an_iota_link_round_trips() {
        let state = SessionState {
            plan: PlanState::new(Programme::default()),
            link: Link::Iota(IotaLink {
                seq: 3,
                last_reply: "<mmc/>".into(),
            }),
        };
        let json = state.to_json().unwrap();
        assert_eq!(
            json["link"],
            serde_json::json!({"bearer": "iota", "seq": 3, "last_reply": "<mmc/>"})
        );
        assert_eq!(serde_json::from_value::<SessionState>(json).unwrap(), state);
    }
}

//! PRL campaigns: one PRL pushed to many subscribers, a list (a CSV from the OTAP admin) or
//! every activated profile of a make/model.
//!
//! A campaign is a row; each subscriber gets its own PRL push ([`super::prl_push`]), in its own
//! transaction and tagged with the campaign, so one bad subscriber (unknown, not activated, no
//! MDN) is reported with its cause and does not stop the others. The pushes are paced by the
//! SMPP sender (its windows and rate) because they all go through the outbox; a restarted
//! gateway carries on from the outbox and the session rows. Progress is read back from the
//! sessions and outbox rows of the campaign.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::prl_push::{self, PrlPushSettings};
use crate::store::profiles::Lookup;
use crate::store::schema::{ota_sessions, outbox, prl_campaigns, profiles};
use crate::store::{prl_library, StoreError};

/// Who a campaign targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// These subscribers (MDN, ESN or MEID, as an operator types them).
    Subscribers(Vec<String>),
    /// Every activated profile of this make and model.
    MakeModel {
        /// Make.
        make: String,
        /// Model.
        model: String,
    },
}

/// A subscriber the campaign could not push to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// As given (or the profile id for a make/model target).
    pub subscriber: String,
    /// Short cause.
    pub cause: String,
}

/// What creating a campaign did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignStarted {
    /// The campaign.
    pub campaign_id: i64,
    /// Subscribers targeted.
    pub total: usize,
    /// Pushes queued.
    pub queued: usize,
    /// Subscribers skipped, with why.
    pub skipped: Vec<Skipped>,
}

/// Where a campaign stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignProgress {
    /// The campaign.
    pub campaign_id: i64,
    /// The PRL pushed.
    pub prl_id: i32,
    /// Subscribers targeted.
    pub total: i32,
    /// Sessions waiting for the handset or running.
    pub active: i64,
    /// Sessions that loaded the PRL.
    pub completed: i64,
    /// Sessions that failed, by cause.
    pub failed: std::collections::BTreeMap<String, i64>,
    /// Push segments by outbox state (queued, submitting, submitted, delivered, failed).
    pub pushes: std::collections::BTreeMap<String, i64>,
}

/// Why a campaign was not created.
#[derive(Debug, Error)]
pub enum CampaignError {
    /// No such PRL.
    #[error("PRL {0} is not in the PRL library")]
    UnknownPrl(i32),
    /// No such campaign.
    #[error("no PRL campaign {0}")]
    UnknownCampaign(i64),
    /// The target names nobody.
    #[error("the campaign targets no subscriber")]
    Empty,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for CampaignError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Creates a campaign pushing library PRL `prl_id` to `target`.
pub async fn start(
    conn: &mut AsyncPgConnection,
    settings: &PrlPushSettings,
    prl_id: i32,
    target: &Target,
) -> Result<CampaignStarted, CampaignError> {
    match prl_library::get(conn, prl_id).await {
        Ok(_) => {}
        Err(StoreError::PrlNotFound(id)) => return Err(CampaignError::UnknownPrl(id)),
        Err(e) => return Err(e.into()),
    }
    let subscribers: Vec<(String, Result<Lookup, String>)> = match target {
        Target::Subscribers(list) => list.iter().map(|s| (s.clone(), Lookup::parse(s))).collect(),
        Target::MakeModel { make, model } => profiles::table
            .filter(profiles::make.eq(make))
            .filter(profiles::model.eq(model))
            .filter(profiles::activation_state.eq("activated"))
            .select(profiles::id)
            .order(profiles::id)
            .load::<i64>(conn)
            .await?
            .into_iter()
            .map(|id| (format!("profile {id}"), Ok(Lookup::Id(id))))
            .collect(),
    };
    if subscribers.is_empty() {
        return Err(CampaignError::Empty);
    }
    let target_json = serde_json::to_value(target).map_err(|e| StoreError::InvalidValue {
        field: "target",
        reason: e.to_string(),
    })?;
    let campaign_id: i64 = diesel::insert_into(prl_campaigns::table)
        .values((
            prl_campaigns::prl_id.eq(prl_id),
            prl_campaigns::target.eq(target_json),
            prl_campaigns::total.eq(i32::try_from(subscribers.len()).unwrap_or(i32::MAX)),
        ))
        .returning(prl_campaigns::id)
        .get_result(conn)
        .await?;
    let mut queued = 0;
    let mut skipped = Vec::new();
    for (subscriber, lookup) in subscribers {
        let lookup = match lookup {
            Ok(l) => l,
            Err(_) => {
                skipped.push(Skipped {
                    subscriber,
                    cause: "bad-identity".into(),
                });
                continue;
            }
        };
        match prl_push::start_in(conn, settings, prl_id, &lookup, Some(campaign_id)).await {
            Ok(_) => queued += 1,
            Err(e) => skipped.push(Skipped {
                subscriber,
                cause: e.cause().to_string(),
            }),
        }
    }
    metrics::counter!("otagw_prl_campaign_pushes_total").increment(queued as u64);
    tracing::info!(
        campaign_id,
        prl_id,
        queued,
        skipped = skipped.len(),
        "PRL campaign created"
    );
    Ok(CampaignStarted {
        campaign_id,
        total: queued + skipped.len(),
        queued,
        skipped,
    })
}

/// Where campaign `campaign_id` stands.
pub async fn progress(
    conn: &mut AsyncPgConnection,
    campaign_id: i64,
) -> Result<CampaignProgress, CampaignError> {
    let (prl_id, total): (i32, i32) = prl_campaigns::table
        .find(campaign_id)
        .select((prl_campaigns::prl_id, prl_campaigns::total))
        .first(conn)
        .await
        .optional()?
        .ok_or(CampaignError::UnknownCampaign(campaign_id))?;
    let sessions: Vec<(String, Option<String>, i64)> = ota_sessions::table
        .filter(ota_sessions::campaign_id.eq(campaign_id))
        .group_by((ota_sessions::status, ota_sessions::cause))
        .select((
            ota_sessions::status,
            ota_sessions::cause,
            diesel::dsl::count_star(),
        ))
        .load(conn)
        .await?;
    let pushes: Vec<(String, i64)> = outbox::table
        .filter(outbox::campaign_id.eq(campaign_id))
        .group_by(outbox::state)
        .select((outbox::state, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    let mut progress = CampaignProgress {
        campaign_id,
        prl_id,
        total,
        active: 0,
        completed: 0,
        failed: Default::default(),
        pushes: pushes.into_iter().collect(),
    };
    for (status, cause, n) in sessions {
        match status.as_str() {
            "active" => progress.active += n,
            "completed" => progress.completed += n,
            _ => {
                *progress
                    .failed
                    .entry(cause.unwrap_or_else(|| "failed".into()))
                    .or_default() += n
            }
        }
    }
    Ok(progress)
}

//! PRL campaigns: one PRL pushed to many subscribers, a list (a CSV from the OTAP admin) or
//! every activated profile of a make/model.
//!
//! - **Creating** a campaign ([`create`]) checks the PRL, resolves who is targeted (the list as
//!   given, or the activated profiles of the make/model at that moment) and writes the campaign
//!   and every target in one transaction ([`crate::store::campaigns`]), then answers with the
//!   campaign id: the list is durable before anything is pushed. A malformed identity or a
//!   repeat of an earlier one is skipped at once, with its cause.
//! - **Working through** the targets ([`work_one`]): one target per transaction: the first
//!   pending target no one else holds is claimed (`FOR UPDATE SKIP LOCKED`), its PRL push is
//!   created ([`super::prl_push::start_in`]: session, pending PRL and WAP push in the outbox, in
//!   a savepoint) and the target is marked queued, or skipped with the push's cause (unknown,
//!   not activated, no MDN); both commit together. A gateway that dies part-way loses no target
//!   and pushes none twice, and several instances share a campaign. The gateway's
//!   [`worker`] resumes every campaign with pending targets when it starts.
//! - **Pacing**: pushes go through the outbox, which the SMPP sender drains at its windows and
//!   rate. Creating pushes is faster than sending them, so the worker keeps at most
//!   `prl_campaign.max_queued` outbox rows of a campaign waiting to be sent before it creates
//!   more (a push's call-back deadline starts when its session is created, so running far ahead
//!   of the sender would let deadlines run out before the pushes leave).
//! - **Pause, resume, cancel** ([`control`]): an OTAP admin's pause stops the creation of
//!   pushes (the pending targets wait; pushes already in the outbox still go out), resume
//!   starts it again, and cancel ends the campaign at once: pending targets are skipped, the
//!   outbox rows no sender holds yet fail, and the sessions whose handset has not called back
//!   end, all with cause `cancelled`. Sessions a handset has started run to their end. The
//!   worker checks the campaign is pushing, under a share lock of its row, in the transaction
//!   that creates each push, so no push is created after a pause or cancel commits.
//! - **Progress** ([`progress`], [`list`]) is read back from the target, session and outbox
//!   rows; the [`gauges`] export it per campaign while the campaign has not ended.

pub mod gauges;
pub mod worker;

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::prl_push::{self, PrlPushError, PrlPushSettings};
use crate::ospp_driver::apply::{apply_locked, ApplyError, NoBearer};
use crate::ospp_driver::plan::Event;
use crate::refusal::{Refusal, RefusalKind};
use crate::store::campaigns::{
    self, CampaignAction, CampaignState, NewTarget, SessionCounts, TargetCounts,
};
use crate::store::profiles::Lookup;
use crate::store::schema::profiles;
use crate::store::{prl_library, StoreError};

/// Skipped targets listed by [`progress`] (all of them are counted by cause).
pub const SKIPPED_LISTED: i64 = 1000;

/// Finished campaigns [`list`] shows besides every unfinished one.
pub const FINISHED_LISTED: i64 = 100;

/// Cause of a target whose identity is neither an ESN, a MEID nor an MDN.
pub const CAUSE_BAD_IDENTITY: &str = "bad-identity";

/// Cause of a target that repeats an earlier one of the same campaign.
pub const CAUSE_DUPLICATE: &str = "duplicate";

/// Cause of the targets, pushes and sessions a cancel ended.
pub const CAUSE_CANCELLED: &str = "cancelled";

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

impl Target {
    /// What the campaign row keeps of the target (the list itself is in the target rows).
    fn describe(&self) -> serde_json::Value {
        match self {
            Self::Subscribers(list) => serde_json::json!({"subscribers": list.len()}),
            Self::MakeModel { make, model } => {
                serde_json::json!({"make_model": {"make": make, "model": model}})
            }
        }
    }
}

/// A subscriber the campaign could not push to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// As given (or `profile N` for a make/model target).
    pub subscriber: String,
    /// Short cause.
    pub cause: String,
}

/// What creating a campaign did: the campaign and its targets are written; pushes follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignStarted {
    /// The campaign.
    pub campaign_id: i64,
    /// The PRL pushed.
    pub prl_id: i32,
    /// `pushing`, or `finished` when no target can be pushed to.
    pub state: CampaignState,
    /// Subscribers targeted.
    pub total: usize,
    /// Targets waiting for their push.
    pub pending: usize,
    /// Pushes queued so far (none yet: the worker creates them; see [`progress`]).
    pub queued: usize,
    /// Subscribers skipped so far (malformed or repeated), with why.
    pub skipped: Vec<Skipped>,
}

/// Where a campaign stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignProgress {
    /// The campaign.
    pub campaign_id: i64,
    /// The PRL pushed.
    pub prl_id: i32,
    /// pushing, paused, waiting, finished or cancelled.
    pub state: CampaignState,
    /// Who was asked for (`{"subscribers": N}` or `{"make_model": {...}}`).
    pub target: serde_json::Value,
    /// Subscribers targeted.
    pub total: i32,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Targets by state.
    pub targets: TargetCounts,
    /// Skipped targets by cause.
    pub skipped_by_cause: BTreeMap<String, i64>,
    /// The first [`SKIPPED_LISTED`] skipped targets, in list order.
    pub skipped: Vec<Skipped>,
    /// Sessions waiting for the handset or running.
    pub active: i64,
    /// Sessions that loaded the PRL.
    pub completed: i64,
    /// Sessions that failed, by cause.
    pub failed: BTreeMap<String, i64>,
    /// Push segments by outbox state (queued, submitting, submitted, delivered, failed).
    pub pushes: BTreeMap<String, i64>,
}

/// One campaign in [`list`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignSummary {
    /// The campaign.
    pub campaign_id: i64,
    /// The PRL pushed.
    pub prl_id: i32,
    /// pushing, paused, waiting, finished or cancelled.
    pub state: CampaignState,
    /// Who was asked for.
    pub target: serde_json::Value,
    /// Subscribers targeted.
    pub total: i32,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Targets by state.
    pub targets: TargetCounts,
    /// Sessions by status.
    pub sessions: SessionCounts,
}

/// Why a campaign was not created or read. Nothing was written.
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
    /// The campaign's state does not allow what was asked (resuming a finished campaign).
    #[error("PRL campaign {campaign_id} is {}: it cannot be {}", state.as_str(), action.done())]
    NotAllowed {
        /// The campaign.
        campaign_id: i64,
        /// Where it stands.
        state: CampaignState,
        /// What was asked.
        action: CampaignAction,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A session of the campaign could not be ended.
    #[error(transparent)]
    Session(#[from] ApplyError),
}

impl Refusal for CampaignError {
    fn kind(&self) -> RefusalKind {
        match self {
            Self::UnknownPrl(_) | Self::UnknownCampaign(_) => RefusalKind::NotFound,
            Self::Empty => RefusalKind::Unprocessable,
            Self::NotAllowed { .. } => RefusalKind::Conflict,
            Self::Store(_) | Self::Session(_) => RefusalKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::UnknownPrl(_) => "unknown-prl",
            Self::UnknownCampaign(_) => "unknown-campaign",
            Self::Empty => "no-subscriber",
            Self::NotAllowed { .. } => "not-allowed",
            Self::Store(_) | Self::Session(_) => "internal-error",
        }
    }
}

impl From<diesel::result::Error> for CampaignError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Creates a campaign pushing library PRL `prl_id` to `target`: the campaign and all its
/// targets in one transaction. The pushes are created afterwards ([`work_one`]).
pub async fn create(
    conn: &mut AsyncPgConnection,
    prl_id: i32,
    target: &Target,
) -> Result<CampaignStarted, CampaignError> {
    match prl_library::get(conn, prl_id).await {
        Ok(_) => {}
        Err(StoreError::PrlNotFound(id)) => return Err(CampaignError::UnknownPrl(id)),
        Err(e) => return Err(e.into()),
    }
    let targets: Vec<NewTarget> = match target {
        Target::Subscribers(list) => {
            let mut seen = HashSet::new();
            list.iter()
                .map(|s| {
                    let skipped = match Lookup::parse(s) {
                        Err(_) => Some(CAUSE_BAD_IDENTITY.to_string()),
                        Ok(lookup) if !seen.insert(lookup.to_string()) => {
                            Some(CAUSE_DUPLICATE.to_string())
                        }
                        Ok(_) => None,
                    };
                    NewTarget {
                        subscriber: s.clone(),
                        profile_id: None,
                        skipped,
                    }
                })
                .collect()
        }
        Target::MakeModel { make, model } => profiles::table
            .filter(profiles::make.eq(make))
            .filter(profiles::model.eq(model))
            .filter(profiles::activation_state.eq("activated"))
            .select(profiles::id)
            .order(profiles::id)
            .load::<i64>(conn)
            .await?
            .into_iter()
            .map(|id| NewTarget {
                subscriber: format!("profile {id}"),
                profile_id: Some(id),
                skipped: None,
            })
            .collect(),
    };
    if targets.is_empty() {
        return Err(CampaignError::Empty);
    }
    let campaign_id = campaigns::create(conn, prl_id, &target.describe(), &targets).await?;
    let skipped: Vec<Skipped> = targets
        .iter()
        .filter_map(|t| {
            t.skipped.as_ref().map(|cause| Skipped {
                subscriber: t.subscriber.clone(),
                cause: cause.clone(),
            })
        })
        .collect();
    let pending = targets.len() - skipped.len();
    tracing::info!(
        campaign_id,
        prl_id,
        total = targets.len(),
        pending,
        skipped = skipped.len(),
        "PRL campaign created"
    );
    Ok(CampaignStarted {
        campaign_id,
        prl_id,
        state: if pending > 0 {
            CampaignState::Pushing
        } else {
            CampaignState::Finished
        },
        total: targets.len(),
        pending,
        queued: 0,
        skipped,
    })
}

/// What [`work_one`] did with a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Worked {
    /// Its push is queued.
    Queued {
        /// Its place in the list.
        position: i32,
        /// The push session.
        session_id: i64,
    },
    /// It cannot be pushed to.
    Skipped {
        /// Its place in the list.
        position: i32,
        /// Why.
        cause: String,
    },
}

/// Whether campaign `campaign_id` already has a push for the profile `lookup` names (another
/// identity of the same subscriber earlier in the list).
async fn already_pushed(
    conn: &mut AsyncPgConnection,
    campaign_id: i64,
    lookup: &Lookup,
) -> Result<bool, StoreError> {
    use crate::store::schema::ota_sessions;
    let profile = match crate::store::profiles::find(conn, lookup).await {
        Ok(p) => p,
        Err(StoreError::ProfileNotFound(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(diesel::select(diesel::dsl::exists(
        ota_sessions::table
            .filter(ota_sessions::campaign_id.eq(campaign_id))
            .filter(ota_sessions::profile_id.eq(profile.id)),
    ))
    .get_result(conn)
    .await?)
}

/// Works on the next pending target of campaign `campaign_id` (pushing library PRL `prl_id`)
/// in one transaction: claim it, create its push, mark it. `None` when no pending target is
/// left that another worker does not hold.
///
/// A push refused because of the subscriber (unknown, not activated, no MDN, a profile whose
/// programme cannot be built) skips the target with that cause; a profile changed meanwhile
/// or a database failure rolls everything back and leaves the target pending for a later try.
pub async fn work_one(
    conn: &mut AsyncPgConnection,
    settings: &PrlPushSettings,
    campaign_id: i64,
    prl_id: i32,
) -> Result<Option<Worked>, CampaignError> {
    let settings = settings.clone();
    let worked = conn
        .transaction::<_, CampaignError, _>(async move |conn| {
            // Paused or cancelled meanwhile: create nothing more.
            if !campaigns::pushing_shared(conn, campaign_id).await? {
                return Ok(None);
            }
            let Some(target) = campaigns::claim_pending(conn, campaign_id).await? else {
                return Ok(None);
            };
            let lookup = match target.profile_id {
                Some(id) => Ok(Lookup::Id(id)),
                None => Lookup::parse(&target.subscriber),
            };
            let pushed = match lookup {
                Err(_) => Err(CAUSE_BAD_IDENTITY.to_string()),
                Ok(lookup) if already_pushed(conn, campaign_id, &lookup).await? => {
                    Err(CAUSE_DUPLICATE.to_string())
                }
                Ok(lookup) => {
                    match prl_push::start_in(conn, &settings, prl_id, &lookup, Some(campaign_id))
                        .await
                    {
                        Ok(started) => Ok(started.session_id),
                        // A profile changed meanwhile, or the database failed: not the
                        // subscriber's fault; roll back and leave the target pending.
                        Err(PrlPushError::Store(e)) => return Err(e.into()),
                        Err(e) => {
                            if e.kind() == RefusalKind::Internal {
                                tracing::warn!(
                                    campaign_id,
                                    position = target.position,
                                    error = %e,
                                    "PRL campaign target skipped"
                                );
                            }
                            Err(e.code().to_string())
                        }
                    }
                }
            };
            let position = target.position;
            Ok(Some(match pushed {
                Ok(session_id) => {
                    campaigns::mark_queued(conn, campaign_id, position, session_id).await?;
                    Worked::Queued {
                        position,
                        session_id,
                    }
                }
                Err(cause) => {
                    campaigns::mark_skipped(conn, campaign_id, position, &cause).await?;
                    Worked::Skipped { position, cause }
                }
            }))
        })
        .await?;
    if let Some(Worked::Queued { .. }) = worked {
        metrics::counter!(crate::telemetry::names::PRL_CAMPAIGN_PUSHES).increment(1);
    }
    Ok(worked)
}

/// What [`control`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Controlled {
    /// The campaign.
    pub campaign_id: i64,
    /// What was asked.
    pub action: CampaignAction,
    /// Where it stood.
    pub was: CampaignState,
    /// Where it stands now.
    pub state: CampaignState,
    /// Pending targets skipped (cancel).
    pub targets_skipped: usize,
    /// Outbox rows failed before any sender took them (cancel).
    pub pushes_dropped: usize,
    /// Sessions ended before their handset called back (cancel).
    pub sessions_ended: usize,
}

/// Pauses, resumes or cancels campaign `campaign_id`, in one transaction (see the module
/// documentation for what each does). Asking for the state the campaign is already in changes
/// nothing; a move its state does not allow ([`CampaignState::after`]) is refused with
/// [`CampaignError::NotAllowed`] and changes nothing either.
pub async fn control(
    conn: &mut AsyncPgConnection,
    campaign_id: i64,
    action: CampaignAction,
) -> Result<Controlled, CampaignError> {
    let (controlled, ended) = conn
        .transaction::<_, CampaignError, _>(async move |conn| {
            let was = campaigns::lock(conn, campaign_id)
                .await?
                .ok_or(CampaignError::UnknownCampaign(campaign_id))?;
            let state = was.after(action).ok_or(CampaignError::NotAllowed {
                campaign_id,
                state: was,
                action,
            })?;
            let mut controlled = Controlled {
                campaign_id,
                action,
                was,
                state,
                targets_skipped: 0,
                pushes_dropped: 0,
                sessions_ended: 0,
            };
            let mut ended = Vec::new();
            if state == was {
                return Ok((controlled, ended));
            }
            campaigns::set_state(conn, campaign_id, state).await?;
            if state == CampaignState::Cancelled {
                controlled.targets_skipped =
                    campaigns::skip_pending(conn, campaign_id, CAUSE_CANCELLED).await?;
                controlled.pushes_dropped =
                    campaigns::fail_unsent_pushes(conn, campaign_id, CAUSE_CANCELLED).await?;
                for session in campaigns::unstarted_sessions_for_update(conn, campaign_id).await? {
                    let applied =
                        apply_locked(conn, session, vec![Event::Cancelled], &mut NoBearer).await?;
                    ended.push(applied.record);
                }
                controlled.sessions_ended = ended.len();
            }
            Ok((controlled, ended))
        })
        .await?;
    for record in &ended {
        record.count();
    }
    if controlled.was != controlled.state {
        tracing::info!(
            campaign_id,
            action = action.as_str(),
            was = controlled.was.as_str(),
            state = controlled.state.as_str(),
            targets_skipped = controlled.targets_skipped,
            pushes_dropped = controlled.pushes_dropped,
            sessions_ended = controlled.sessions_ended,
            "PRL campaign {}",
            controlled.state.as_str()
        );
    }
    Ok(controlled)
}

/// What [`work`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkSummary {
    /// Pushes queued.
    pub queued: usize,
    /// Targets skipped.
    pub skipped: usize,
    /// No pending target was left to claim.
    pub ran_out: bool,
}

/// Works on up to `limit` targets of a campaign, one transaction each.
pub async fn work(
    conn: &mut AsyncPgConnection,
    settings: &PrlPushSettings,
    campaign_id: i64,
    prl_id: i32,
    limit: usize,
) -> Result<WorkSummary, CampaignError> {
    let mut summary = WorkSummary::default();
    for _ in 0..limit {
        match work_one(conn, settings, campaign_id, prl_id).await? {
            Some(Worked::Queued { .. }) => summary.queued += 1,
            Some(Worked::Skipped { .. }) => summary.skipped += 1,
            None => {
                summary.ran_out = true;
                break;
            }
        }
    }
    Ok(summary)
}

/// How many more pushes campaign `campaign_id` may create now (at most `batch`): with
/// `max_queued` above 0, its outbox rows still waiting to be sent count against that bound.
pub async fn room(
    conn: &mut AsyncPgConnection,
    campaign_id: i64,
    max_queued: u64,
    batch: usize,
) -> Result<usize, CampaignError> {
    if max_queued == 0 {
        return Ok(batch);
    }
    let waiting = u64::try_from(campaigns::backlog(conn, campaign_id).await?).unwrap_or(0);
    Ok(usize::try_from(max_queued.saturating_sub(waiting))
        .unwrap_or(usize::MAX)
        .min(batch))
}

/// Works through campaign `campaign_id` until no target is pending, or until `max_queued`
/// outbox rows of it wait to be sent (0: no bound); then moves campaign states on. What the
/// command line does after creating a campaign.
pub async fn work_campaign(
    conn: &mut AsyncPgConnection,
    settings: &PrlPushSettings,
    campaign_id: i64,
    prl_id: i32,
    max_queued: u64,
) -> Result<WorkSummary, CampaignError> {
    const BATCH: usize = 100;
    let mut total = WorkSummary::default();
    loop {
        let room = room(conn, campaign_id, max_queued, BATCH).await?;
        if room == 0 {
            break;
        }
        let done = work(conn, settings, campaign_id, prl_id, room).await?;
        total.queued += done.queued;
        total.skipped += done.skipped;
        if done.ran_out {
            total.ran_out = true;
            break;
        }
    }
    campaigns::advance_states(conn).await?;
    Ok(total)
}

/// Where campaign `campaign_id` stands.
pub async fn progress(
    conn: &mut AsyncPgConnection,
    campaign_id: i64,
) -> Result<CampaignProgress, CampaignError> {
    let row = campaigns::get(conn, campaign_id)
        .await?
        .ok_or(CampaignError::UnknownCampaign(campaign_id))?;
    let counts = campaigns::counts(conn, &[campaign_id])
        .await?
        .remove(&campaign_id)
        .unwrap_or_default();
    let skipped = campaigns::skipped(conn, campaign_id, SKIPPED_LISTED)
        .await?
        .into_iter()
        .map(|(subscriber, cause)| Skipped { subscriber, cause })
        .collect();
    Ok(CampaignProgress {
        campaign_id,
        prl_id: row.prl_id,
        state: row.state,
        target: row.target,
        total: row.total,
        created_at: row.created_at,
        finished_at: row.finished_at,
        targets: counts.targets,
        skipped_by_cause: counts.skipped_by_cause,
        skipped,
        active: counts.sessions.active,
        completed: counts.sessions.completed,
        failed: counts.failed_by_cause,
        pushes: counts.pushes,
    })
}

/// Every campaign not ended and the [`FINISHED_LISTED`] newest ended ones, newest first.
pub async fn list(conn: &mut AsyncPgConnection) -> Result<Vec<CampaignSummary>, CampaignError> {
    let rows = campaigns::list(conn, FINISHED_LISTED).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut counts = campaigns::counts(conn, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let c = counts.remove(&row.id).unwrap_or_default();
            Ok(CampaignSummary {
                campaign_id: row.id,
                prl_id: row.prl_id,
                state: row.state,
                target: row.target,
                total: row.total,
                created_at: row.created_at,
                finished_at: row.finished_at,
                targets: c.targets,
                sessions: c.sessions,
            })
        })
        .collect()
}

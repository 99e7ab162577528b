//! Repository of PRL campaigns (`prl_campaigns`) and their targets (`prl_campaign_targets`).
//!
//! A campaign is written with every one of its targets in one transaction ([`create`]), so the
//! list is durable before anything is pushed. Workers then claim pending targets one at a time
//! ([`claim_pending`], `FOR UPDATE SKIP LOCKED`: two instances never hold the same target) and
//! mark each ([`mark_queued`], [`mark_skipped`]) in the transaction that created its push.
//! [`advance_states`] moves campaigns on (pushing -> waiting -> finished) from what the rows say,
//! so it is idempotent and any instance may run it. An operator may pause, resume and cancel a
//! campaign ([`CampaignState::after`] says which move is allowed from where; [`lock`],
//! [`set_state`], [`skip_pending`] and [`fail_unsent_pushes`] carry it out).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::enums::OutboxState;
use super::enums::SessionStatus;
pub use super::enums::{CampaignAction, CampaignState, TargetState};
use super::models::Session;
use super::schema::{ota_sessions, outbox, prl_campaign_targets, prl_campaigns};
use super::StoreError;

impl CampaignAction {
    /// Its past participle, for messages ("cannot be paused").
    pub fn done(self) -> &'static str {
        match self {
            Self::Pause => "paused",
            Self::Resume => "resumed",
            Self::Cancel => "cancelled",
        }
    }
}

impl CampaignState {
    /// The states of a campaign that has ended.
    pub const ENDED: [Self; 2] = [Self::Finished, Self::Cancelled];

    /// Whether the campaign has ended (finished or cancelled).
    pub fn is_ended(self) -> bool {
        Self::ENDED.contains(&self)
    }

    /// The state `action` moves a campaign to from this one, or `None` when it cannot be done
    /// from here. Asking for the state a campaign is already in is allowed and changes nothing
    /// (pausing a paused campaign, cancelling a cancelled one).
    ///
    /// | from, action | pause | resume | cancel |
    /// |---|---|---|---|
    /// | pushing | paused | pushing | cancelled |
    /// | paused | paused | pushing | cancelled |
    /// | waiting | - | - | cancelled |
    /// | finished | - | - | - |
    /// | cancelled | - | - | cancelled |
    pub fn after(self, action: CampaignAction) -> Option<Self> {
        use CampaignAction::*;
        match (self, action) {
            (Self::Pushing | Self::Paused, Pause) => Some(Self::Paused),
            (Self::Pushing | Self::Paused, Resume) => Some(Self::Pushing),
            (Self::Pushing | Self::Paused | Self::Waiting | Self::Cancelled, Cancel) => {
                Some(Self::Cancelled)
            }
            (Self::Waiting | Self::Finished | Self::Cancelled, Pause | Resume)
            | (Self::Finished, Cancel) => None,
        }
    }
}

/// A campaign row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = prl_campaigns, check_for_backend(diesel::pg::Pg))]
pub struct CampaignRow {
    /// Row id.
    pub id: i64,
    /// The PRL pushed.
    pub prl_id: i32,
    /// Who, as asked (JSON).
    pub target: serde_json::Value,
    /// Targets.
    pub total: i32,
    /// Where it stands.
    pub state: CampaignState,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A target to write with its campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTarget {
    /// The subscriber as given (or "profile N").
    pub subscriber: String,
    /// The profile, when the campaign resolved it (make/model).
    pub profile_id: Option<i64>,
    /// Skipped from the start, with this cause (a malformed identity, a repeat).
    pub skipped: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = prl_campaign_targets)]
struct InsertTarget<'a> {
    campaign_id: i64,
    position: i32,
    subscriber: &'a str,
    profile_id: Option<i64>,
    state: TargetState,
    cause: Option<&'a str>,
}

/// Targets per INSERT statement (Postgres takes at most 65535 bind parameters per statement).
const INSERT_CHUNK: usize = 5_000;

/// Writes a campaign pushing library PRL `prl_id` and every one of its targets, in one
/// transaction; returns the campaign's id. A campaign with no pending target is finished from
/// the start.
pub async fn create(
    conn: &mut AsyncPgConnection,
    prl_id: i32,
    target: &serde_json::Value,
    targets: &[NewTarget],
) -> Result<i64, StoreError> {
    let total = i32::try_from(targets.len()).map_err(|_| StoreError::InvalidValue {
        field: "prl_campaigns.total",
        reason: format!("{} targets is too many for one campaign", targets.len()),
    })?;
    let state = if targets.iter().any(|t| t.skipped.is_none()) {
        CampaignState::Pushing
    } else {
        CampaignState::Finished
    };
    let target = target.clone();
    let targets = targets.to_vec();
    conn.transaction::<_, StoreError, _>(async move |conn| {
        let now = Utc::now();
        let campaign_id: i64 = diesel::insert_into(prl_campaigns::table)
            .values((
                prl_campaigns::prl_id.eq(prl_id),
                prl_campaigns::target.eq(&target),
                prl_campaigns::total.eq(total),
                prl_campaigns::state.eq(state),
                prl_campaigns::finished_at.eq((state == CampaignState::Finished).then_some(now)),
            ))
            .returning(prl_campaigns::id)
            .get_result(conn)
            .await?;
        let rows: Vec<InsertTarget<'_>> = targets
            .iter()
            .zip(0..)
            .map(|(t, position)| InsertTarget {
                campaign_id,
                position,
                subscriber: &t.subscriber,
                profile_id: t.profile_id,
                state: if t.skipped.is_some() {
                    TargetState::Skipped
                } else {
                    TargetState::Pending
                },
                cause: t.skipped.as_deref(),
            })
            .collect();
        for chunk in rows.chunks(INSERT_CHUNK) {
            diesel::insert_into(prl_campaign_targets::table)
                .values(chunk)
                .execute(conn)
                .await?;
        }
        Ok(campaign_id)
    })
    .await
}

/// Reads a campaign.
pub async fn get(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<CampaignRow>, StoreError> {
    Ok(prl_campaigns::table
        .find(id)
        .select(CampaignRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The stored spellings of the ended states.
fn ended() -> [&'static str; 2] {
    CampaignState::ENDED.map(CampaignState::as_str)
}

/// Every campaign not ended, and the `recent` newest ended ones (finished or cancelled);
/// newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    recent: i64,
) -> Result<Vec<CampaignRow>, StoreError> {
    let mut rows: Vec<CampaignRow> = prl_campaigns::table
        .filter(prl_campaigns::state.ne_all(ended()))
        .select(CampaignRow::as_select())
        .load(conn)
        .await?;
    rows.extend(
        prl_campaigns::table
            .filter(prl_campaigns::state.eq_any(ended()))
            .order(prl_campaigns::id.desc())
            .limit(recent)
            .select(CampaignRow::as_select())
            .load(conn)
            .await?,
    );
    rows.sort_by_key(|r| std::cmp::Reverse(r.id));
    Ok(rows)
}

/// The ids of the campaigns that have not ended.
pub async fn live(conn: &mut AsyncPgConnection) -> Result<Vec<i64>, StoreError> {
    Ok(prl_campaigns::table
        .filter(prl_campaigns::state.ne_all(ended()))
        .select(prl_campaigns::id)
        .load(conn)
        .await?)
}

/// Reads campaign `id`'s state and locks its row until the transaction ends: an operator's
/// pause, resume or cancel ([`CampaignState::after`]) takes the row exclusively, a worker
/// creating a push shares it ([`pushing_shared`]), so the two take turns. `None` when there is
/// no such campaign.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> Result<Option<CampaignState>, StoreError> {
    Ok(prl_campaigns::table
        .find(id)
        .select(prl_campaigns::state)
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Whether campaign `id` is pushing, holding a share lock on its row until the transaction
/// ends (so a pause or cancel waits for the push being created, and no push is created after
/// one of them commits).
pub async fn pushing_shared(conn: &mut AsyncPgConnection, id: i64) -> Result<bool, StoreError> {
    let state: Option<CampaignState> = prl_campaigns::table
        .find(id)
        .select(prl_campaigns::state)
        .for_share()
        .first(conn)
        .await
        .optional()?;
    Ok(state == Some(CampaignState::Pushing))
}

/// Sets campaign `id`'s state (an ended state also sets `finished_at`). Call with the row
/// locked ([`lock`]), after checking the move with [`CampaignState::after`].
pub async fn set_state(
    conn: &mut AsyncPgConnection,
    id: i64,
    state: CampaignState,
) -> Result<(), StoreError> {
    let now = Utc::now();
    diesel::update(prl_campaigns::table.find(id))
        .set((
            prl_campaigns::state.eq(state),
            prl_campaigns::updated_at.eq(now),
            prl_campaigns::finished_at.eq(state.is_ended().then_some(now)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Skips every pending target of campaign `id` with `cause`; returns how many.
pub async fn skip_pending(
    conn: &mut AsyncPgConnection,
    id: i64,
    cause: &str,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        prl_campaign_targets::table
            .filter(prl_campaign_targets::campaign_id.eq(id))
            .filter(prl_campaign_targets::state.eq(TargetState::Pending)),
    )
    .set((
        prl_campaign_targets::state.eq(TargetState::Skipped),
        prl_campaign_targets::cause.eq(cause),
        prl_campaign_targets::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await?)
}

/// Fails, with `cause`, every outbox row of campaign `id` that no sender has claimed
/// (`queued`, including those waiting for a retry); returns how many. Rows a sender holds
/// (`submitting`) are in flight and left to it.
pub async fn fail_unsent_pushes(
    conn: &mut AsyncPgConnection,
    id: i64,
    cause: &str,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        outbox::table
            .filter(outbox::campaign_id.eq(id))
            .filter(outbox::state.eq(OutboxState::Queued)),
    )
    .set((
        outbox::state.eq(OutboxState::Failed),
        outbox::cause.eq(cause),
        outbox::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await?)
}

/// The active PRL-push sessions of campaign `id` whose handset has not called back (the plan
/// not started, not handed to the SS7 fallback), locked until the transaction ends. The lock
/// waits for a handset's call-back being answered; a session it started is not returned.
pub async fn unstarted_sessions_for_update(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> Result<Vec<Session>, StoreError> {
    // The whole condition is in SQL: a row locked by a call-back being answered is re-checked
    // once that commits, so a session the handset has just started is skipped, and sessions a
    // handset is running are never locked here at all.
    Ok(ota_sessions::table
        .filter(ota_sessions::campaign_id.eq(id))
        .filter(ota_sessions::status.eq(SessionStatus::Active))
        .filter(ota_sessions::started_at.is_null())
        .filter(ota_sessions::fallback.eq(false))
        .order(ota_sessions::id)
        .select(Session::as_select())
        .for_update()
        .load(conn)
        .await?)
}

/// The campaigns whose targets are still being worked through, oldest first, with their PRL.
pub async fn pushing(conn: &mut AsyncPgConnection) -> Result<Vec<(i64, i32)>, StoreError> {
    Ok(prl_campaigns::table
        .filter(prl_campaigns::state.eq(CampaignState::Pushing))
        .order(prl_campaigns::id)
        .select((prl_campaigns::id, prl_campaigns::prl_id))
        .load(conn)
        .await?)
}

/// Campaigns by state.
pub async fn count_by_state(
    conn: &mut AsyncPgConnection,
) -> Result<BTreeMap<CampaignState, i64>, StoreError> {
    let rows: Vec<(CampaignState, i64)> = prl_campaigns::table
        .group_by(prl_campaigns::state)
        .select((prl_campaigns::state, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    let mut out: BTreeMap<CampaignState, i64> =
        CampaignState::ALL.into_iter().map(|s| (s, 0)).collect();
    for (state, n) in rows {
        out.insert(state, n);
    }
    Ok(out)
}

/// A pending target, claimed (its row locked until the transaction ends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedTarget {
    /// The campaign.
    pub campaign_id: i64,
    /// Its place in the list.
    pub position: i32,
    /// The subscriber as given.
    pub subscriber: String,
    /// The profile, when the campaign resolved it.
    pub profile_id: Option<i64>,
}

/// Claims the first pending target of campaign `campaign_id` that no other transaction holds
/// (`FOR UPDATE SKIP LOCKED`). Call inside a transaction; the claim lasts until it ends.
pub async fn claim_pending(
    conn: &mut AsyncPgConnection,
    campaign_id: i64,
) -> Result<Option<ClaimedTarget>, StoreError> {
    let row: Option<(i64, i32, String, Option<i64>)> = prl_campaign_targets::table
        .filter(prl_campaign_targets::campaign_id.eq(campaign_id))
        .filter(prl_campaign_targets::state.eq(TargetState::Pending))
        .order(prl_campaign_targets::position)
        .limit(1)
        .select((
            prl_campaign_targets::campaign_id,
            prl_campaign_targets::position,
            prl_campaign_targets::subscriber,
            prl_campaign_targets::profile_id,
        ))
        .for_update()
        .skip_locked()
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(
        |(campaign_id, position, subscriber, profile_id)| ClaimedTarget {
            campaign_id,
            position,
            subscriber,
            profile_id,
        },
    ))
}

/// Marks a pending target queued with its push session.
pub async fn mark_queued(
    conn: &mut AsyncPgConnection,
    campaign_id: i64,
    position: i32,
    session_id: i64,
) -> Result<(), StoreError> {
    mark(
        conn,
        campaign_id,
        position,
        TargetState::Queued,
        None,
        Some(session_id),
    )
    .await
}

/// Marks a pending target skipped with `cause`.
pub async fn mark_skipped(
    conn: &mut AsyncPgConnection,
    campaign_id: i64,
    position: i32,
    cause: &str,
) -> Result<(), StoreError> {
    mark(
        conn,
        campaign_id,
        position,
        TargetState::Skipped,
        Some(cause),
        None,
    )
    .await
}

async fn mark(
    conn: &mut AsyncPgConnection,
    campaign_id: i64,
    position: i32,
    state: TargetState,
    cause: Option<&str>,
    session_id: Option<i64>,
) -> Result<(), StoreError> {
    let n = diesel::update(
        prl_campaign_targets::table
            .find((campaign_id, position))
            .filter(prl_campaign_targets::state.eq(TargetState::Pending)),
    )
    .set((
        prl_campaign_targets::state.eq(state),
        prl_campaign_targets::cause.eq(cause),
        prl_campaign_targets::session_id.eq(session_id),
        prl_campaign_targets::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::InvalidValue {
            field: "prl_campaign_targets.state",
            reason: format!("target {position} of campaign {campaign_id} is not pending"),
        })
    }
}

/// Outbox rows of campaign `campaign_id` not yet handed to the SMSC (queued or submitting).
pub async fn backlog(conn: &mut AsyncPgConnection, campaign_id: i64) -> Result<i64, StoreError> {
    Ok(outbox::table
        .filter(outbox::campaign_id.eq(campaign_id))
        .filter(outbox::state.eq_any([OutboxState::Queued, OutboxState::Submitting]))
        .count()
        .get_result(conn)
        .await?)
}

/// What [`advance_states`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advanced {
    /// Campaigns whose every target is now queued or skipped.
    pub waiting: Vec<i64>,
    /// Campaigns now finished.
    pub finished: Vec<i64>,
}

/// Moves campaigns on: `pushing` (or `paused`: paused after its last push was created, it has
/// nothing left to pause) with no pending target -> `waiting`; `waiting` with no active session
/// -> `finished`. Idempotent; several instances may run it at once.
pub async fn advance_states(conn: &mut AsyncPgConnection) -> Result<Advanced, StoreError> {
    let now = Utc::now();
    let waiting = diesel::update(
        prl_campaigns::table
            .filter(prl_campaigns::state.eq_any([CampaignState::Pushing, CampaignState::Paused]))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                prl_campaign_targets::table
                    .filter(prl_campaign_targets::campaign_id.eq(prl_campaigns::id))
                    .filter(prl_campaign_targets::state.eq(TargetState::Pending)),
            ))),
    )
    .set((
        prl_campaigns::state.eq(CampaignState::Waiting),
        prl_campaigns::updated_at.eq(now),
    ))
    .returning(prl_campaigns::id)
    .get_results(conn)
    .await?;
    let finished = diesel::update(
        prl_campaigns::table
            .filter(prl_campaigns::state.eq(CampaignState::Waiting))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                ota_sessions::table
                    .filter(ota_sessions::campaign_id.eq(prl_campaigns::id.nullable()))
                    .filter(ota_sessions::status.eq(SessionStatus::Active)),
            ))),
    )
    .set((
        prl_campaigns::state.eq(CampaignState::Finished),
        prl_campaigns::updated_at.eq(now),
        prl_campaigns::finished_at.eq(Some(now)),
    ))
    .returning(prl_campaigns::id)
    .get_results(conn)
    .await?;
    Ok(Advanced { waiting, finished })
}

/// Targets of a campaign by state, and skipped ones by cause.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TargetCounts {
    /// Not worked on yet.
    pub pending: i64,
    /// Push queued.
    pub queued: i64,
    /// Skipped.
    pub skipped: i64,
}

/// Sessions of a campaign by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SessionCounts {
    /// Waiting for the handset, or running.
    pub active: i64,
    /// Loaded the PRL.
    pub completed: i64,
    /// Failed.
    pub failed: i64,
}

/// What a campaign's rows add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignCounts {
    /// Targets by state.
    pub targets: TargetCounts,
    /// Skipped targets by cause.
    pub skipped_by_cause: BTreeMap<String, i64>,
    /// Sessions by status.
    pub sessions: SessionCounts,
    /// Failed sessions by cause.
    pub failed_by_cause: BTreeMap<String, i64>,
    /// Push segments (outbox rows) by state.
    pub pushes: BTreeMap<String, i64>,
}

/// Counts the targets, sessions and outbox rows of campaigns `ids` (two grouped queries and
/// one more for the outbox, whatever the number of campaigns).
pub async fn counts(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> Result<BTreeMap<i64, CampaignCounts>, StoreError> {
    let mut out: BTreeMap<i64, CampaignCounts> = ids
        .iter()
        .map(|id| (*id, CampaignCounts::default()))
        .collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let targets: Vec<(i64, TargetState, Option<String>, i64)> = prl_campaign_targets::table
        .filter(prl_campaign_targets::campaign_id.eq_any(ids))
        .group_by((
            prl_campaign_targets::campaign_id,
            prl_campaign_targets::state,
            prl_campaign_targets::cause,
        ))
        .select((
            prl_campaign_targets::campaign_id,
            prl_campaign_targets::state,
            prl_campaign_targets::cause,
            diesel::dsl::count_star(),
        ))
        .load(conn)
        .await?;
    for (id, state, cause, n) in targets {
        let c = out.entry(id).or_default();
        match state {
            TargetState::Pending => c.targets.pending += n,
            TargetState::Queued => c.targets.queued += n,
            TargetState::Skipped => {
                c.targets.skipped += n;
                *c.skipped_by_cause
                    .entry(cause.unwrap_or_else(|| "unknown".into()))
                    .or_default() += n;
            }
        }
    }
    let sessions: Vec<(Option<i64>, SessionStatus, Option<String>, i64)> = ota_sessions::table
        .filter(ota_sessions::campaign_id.eq_any(ids))
        .group_by((
            ota_sessions::campaign_id,
            ota_sessions::status,
            ota_sessions::cause,
        ))
        .select((
            ota_sessions::campaign_id,
            ota_sessions::status,
            ota_sessions::cause,
            diesel::dsl::count_star(),
        ))
        .load(conn)
        .await?;
    for (id, status, cause, n) in sessions {
        let Some(id) = id else { continue };
        let c = out.entry(id).or_default();
        match status {
            SessionStatus::Active => c.sessions.active += n,
            SessionStatus::Completed => c.sessions.completed += n,
            SessionStatus::Failed => {
                c.sessions.failed += n;
                *c.failed_by_cause
                    .entry(cause.unwrap_or_else(|| "failed".into()))
                    .or_default() += n;
            }
        }
    }
    let pushes: Vec<(Option<i64>, OutboxState, i64)> = outbox::table
        .filter(outbox::campaign_id.eq_any(ids))
        .group_by((outbox::campaign_id, outbox::state))
        .select((
            outbox::campaign_id,
            outbox::state,
            diesel::dsl::count_star(),
        ))
        .load(conn)
        .await?;
    for (id, state, n) in pushes {
        let Some(id) = id else { continue };
        *out.entry(id)
            .or_default()
            .pushes
            .entry(state.to_string())
            .or_default() += n;
    }
    Ok(out)
}

/// The first `limit` skipped targets of a campaign, in list order: (subscriber, cause).
pub async fn skipped(
    conn: &mut AsyncPgConnection,
    campaign_id: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    let rows: Vec<(String, Option<String>)> = prl_campaign_targets::table
        .filter(prl_campaign_targets::campaign_id.eq(campaign_id))
        .filter(prl_campaign_targets::state.eq(TargetState::Skipped))
        .order(prl_campaign_targets::position)
        .limit(limit)
        .select((
            prl_campaign_targets::subscriber,
            prl_campaign_targets::cause,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(s, c)| (s, c.unwrap_or_default()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_moves_follow_the_table() {
        use CampaignAction::*;
        use CampaignState::*;
        let table = [
            (Pushing, [Some(Paused), Some(Pushing), Some(Cancelled)]),
            (Paused, [Some(Paused), Some(Pushing), Some(Cancelled)]),
            (Waiting, [None, None, Some(Cancelled)]),
            (Finished, [None, None, None]),
            (Cancelled, [None, None, Some(Cancelled)]),
        ];
        assert_eq!(table.len(), CampaignState::ALL.len());
        for (from, expected) in table {
            for (action, want) in [Pause, Resume, Cancel].into_iter().zip(expected) {
                assert_eq!(from.after(action), want, "{from:?} {action:?}");
            }
        }
    }

    #[test]
    fn only_finished_and_cancelled_are_ended_and_spellings_round_trip() {
        for state in CampaignState::ALL {
            assert_eq!(state.as_str().parse::<CampaignState>().ok(), Some(state));
            assert_eq!(
                state.is_ended(),
                matches!(state, CampaignState::Finished | CampaignState::Cancelled)
            );
        }
        assert!("stopped".parse::<CampaignState>().is_err());
    }
}

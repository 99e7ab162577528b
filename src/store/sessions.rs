//! Repository of OTA sessions. A session is a row, so any gateway instance can continue it; every
//! change goes through [`advance`], which checks the version the caller read.
//!
//! The row's `state` column is JSON the session core reads and writes as one typed value
//! (`crate::ospp_driver::state::SessionState`); what SQL filters on is a column of its own
//! (`status`, `started_at`, `fallback`, `deadline`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::enums::OutboxState;
pub use super::enums::{Bearer, Flow, SessionStatus};
use super::models::Session;
use super::schema::ota_sessions;
use super::StoreError;

/// The token of the pending OTAPA for the subscriber with MDN `mdn` (the patent's pending-OTAPA
/// cache keyed by MDN): the newest active PRL-push session of the profile with that MDN whose
/// push has been delivered (every outbox row of the session `delivered`, by its receipt or the
/// MSC's ReturnResult), still on the IOTA bearer, before its call-back deadline and not handed
/// to the SS7 fallback. `None` when there is none.
pub async fn pending_otapa_token(
    conn: &mut AsyncPgConnection,
    mdn: &str,
) -> Result<Option<String>, StoreError> {
    use super::schema::{outbox, profiles};
    use diesel::dsl::{exists, not};
    let pushed = outbox::table
        .filter(outbox::session_id.eq(ota_sessions::id.nullable()))
        .filter(outbox::state.eq(OutboxState::Delivered));
    let undelivered = outbox::table
        .filter(outbox::session_id.eq(ota_sessions::id.nullable()))
        .filter(outbox::state.ne(OutboxState::Delivered));
    Ok(ota_sessions::table
        .inner_join(profiles::table)
        .filter(profiles::mdn.eq(mdn))
        .filter(ota_sessions::flow.eq(Flow::PrlPush))
        .filter(ota_sessions::status.eq(SessionStatus::Active))
        .filter(ota_sessions::bearer.eq(Bearer::Iota))
        .filter(ota_sessions::deadline.gt(Utc::now()))
        .filter(ota_sessions::fallback.eq(false))
        .filter(exists(pushed))
        .filter(not(exists(undelivered)))
        .order(ota_sessions::id.desc())
        .select(ota_sessions::token)
        .first(conn)
        .await
        .optional()?)
}

/// Removes the secrets a session's programme carried (the SPC and the SPASM key) from its
/// state once the session has ended: the row stays for the record, the secrets stay in the
/// profile only.
pub async fn scrub_secrets(conn: &mut AsyncPgConnection, id: i64) -> Result<(), StoreError> {
    diesel::sql_query(
        "UPDATE ota_sessions \
         SET state = state #- '{plan,programme,spc}' #- '{plan,programme,spasm}' \
         WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A session to open.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = ota_sessions)]
pub struct NewSession {
    /// Unguessable token.
    pub token: String,
    /// Profile to program.
    pub profile_id: i64,
    /// The call flow.
    pub flow: Flow,
    /// The bearer.
    pub bearer: Bearer,
    /// Initial state.
    pub state: serde_json::Value,
    /// When it times out.
    pub deadline: Option<DateTime<Utc>>,
    /// The PRL campaign it belongs to.
    pub campaign_id: Option<i64>,
    /// When the plan started (none: it waits for a call-back).
    pub started_at: Option<DateTime<Utc>>,
    /// The handset's identity.
    pub device: Option<String>,
}

/// Opens a session.
pub async fn create(conn: &mut AsyncPgConnection, new: &NewSession) -> Result<Session, StoreError> {
    Ok(diesel::insert_into(ota_sessions::table)
        .values(new)
        .returning(Session::as_returning())
        .get_result(conn)
        .await?)
}

/// Reads a session by its token.
pub async fn by_token(conn: &mut AsyncPgConnection, token: &str) -> Result<Session, StoreError> {
    ota_sessions::table
        .filter(ota_sessions::token.eq(token))
        .select(Session::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| StoreError::SessionNotFound(token.to_string()))
}

/// Reads a session by its id.
pub async fn by_id(conn: &mut AsyncPgConnection, id: i64) -> Result<Session, StoreError> {
    ota_sessions::table
        .find(id)
        .select(Session::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| StoreError::SessionNotFound(id.to_string()))
}

/// The newest `limit` sessions of a profile, newest first (the API's subscriber view).
pub async fn for_profile(
    conn: &mut AsyncPgConnection,
    profile_id: i64,
    limit: i64,
) -> Result<Vec<Session>, StoreError> {
    Ok(ota_sessions::table
        .filter(ota_sessions::profile_id.eq(profile_id))
        .order(ota_sessions::id.desc())
        .limit(limit)
        .select(Session::as_select())
        .load(conn)
        .await?)
}

/// The part of a session row a step changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// New state.
    pub state: serde_json::Value,
    /// New status.
    pub status: SessionStatus,
    /// Cause (for a failure).
    pub cause: Option<String>,
    /// New deadline.
    pub deadline: Option<DateTime<Utc>>,
    /// The bearer (a fallback moves a session to another).
    pub bearer: Bearer,
    /// When the plan started.
    pub started_at: Option<DateTime<Utc>>,
}

/// Applies a transition if the session is still at `expected_version`; returns the new row.
pub async fn advance(
    conn: &mut AsyncPgConnection,
    id: i64,
    expected_version: i64,
    transition: &Transition,
) -> Result<Session, StoreError> {
    let updated = diesel::update(
        ota_sessions::table
            .filter(ota_sessions::id.eq(id))
            .filter(ota_sessions::version.eq(expected_version)),
    )
    .set((
        ota_sessions::state.eq(&transition.state),
        ota_sessions::status.eq(transition.status),
        ota_sessions::cause.eq(&transition.cause),
        ota_sessions::deadline.eq(transition.deadline),
        ota_sessions::bearer.eq(transition.bearer),
        ota_sessions::started_at.eq(transition.started_at),
        ota_sessions::updated_at.eq(Utc::now()),
        ota_sessions::version.eq(ota_sessions::version + 1),
    ))
    .returning(Session::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    match updated {
        Some(session) => Ok(session),
        None => Err(stale_or_missing(conn, id, expected_version).await),
    }
}

async fn stale_or_missing(conn: &mut AsyncPgConnection, id: i64, expected: i64) -> StoreError {
    let exists = ota_sessions::table
        .filter(ota_sessions::id.eq(id))
        .count()
        .get_result::<i64>(conn)
        .await;
    match exists {
        Ok(0) => StoreError::SessionNotFound(id.to_string()),
        Ok(_) => StoreError::StaleVersion {
            what: "session",
            id,
            expected,
        },
        Err(e) => e.into(),
    }
}

/// Hands a PRL push whose handset never called back to the SS7 fallback: marks it and moves its
/// deadline, if it is still at `expected_version`.
pub async fn mark_fallback(
    conn: &mut AsyncPgConnection,
    id: i64,
    expected_version: i64,
    deadline: DateTime<Utc>,
) -> Result<Session, StoreError> {
    let updated = diesel::update(
        ota_sessions::table
            .filter(ota_sessions::id.eq(id))
            .filter(ota_sessions::version.eq(expected_version)),
    )
    .set((
        ota_sessions::fallback.eq(true),
        ota_sessions::deadline.eq(deadline),
        ota_sessions::updated_at.eq(Utc::now()),
        ota_sessions::version.eq(ota_sessions::version + 1),
    ))
    .returning(Session::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    match updated {
        Some(session) => Ok(session),
        None => Err(stale_or_missing(conn, id, expected_version).await),
    }
}

/// Ends session `id` as failed with `cause`, whatever its state (a session the session core
/// cannot step any more). Call with the row locked.
pub async fn abandon(
    conn: &mut AsyncPgConnection,
    id: i64,
    cause: &str,
) -> Result<Session, StoreError> {
    diesel::update(ota_sessions::table.find(id))
        .set((
            ota_sessions::status.eq(SessionStatus::Failed),
            ota_sessions::cause.eq(cause),
            ota_sessions::deadline.eq(None::<DateTime<Utc>>),
            ota_sessions::updated_at.eq(Utc::now()),
            ota_sessions::version.eq(ota_sessions::version + 1),
        ))
        .returning(Session::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| StoreError::SessionNotFound(id.to_string()))
}

/// Reads a session by its token and locks its row until the transaction ends, so that two
/// instances answering the same handset take turns.
pub async fn by_token_for_update(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> Result<Session, StoreError> {
    ota_sessions::table
        .filter(ota_sessions::token.eq(token))
        .select(Session::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| StoreError::SessionNotFound(token.to_string()))
}

/// Reads a session by id and locks its row until the transaction ends.
pub async fn by_id_for_update(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> Result<Session, StoreError> {
    ota_sessions::table
        .find(id)
        .select(Session::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| StoreError::SessionNotFound(id.to_string()))
}

/// Claims up to `limit` active sessions whose deadline has passed, locking them and skipping
/// rows another instance has locked (`FOR UPDATE SKIP LOCKED`). Call inside a transaction.
pub async fn claim_expired(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Session>, StoreError> {
    Ok(ota_sessions::table
        .filter(ota_sessions::status.eq(SessionStatus::Active))
        .filter(ota_sessions::deadline.lt(now))
        .order(ota_sessions::deadline)
        .limit(limit)
        .select(Session::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
        .await?)
}

/// Ends every active session of a profile (a handset that starts over supersedes them).
pub async fn supersede_active(
    conn: &mut AsyncPgConnection,
    profile_id: i64,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        ota_sessions::table
            .filter(ota_sessions::profile_id.eq(profile_id))
            .filter(ota_sessions::status.eq(SessionStatus::Active)),
    )
    .set((
        ota_sessions::status.eq(SessionStatus::Failed),
        ota_sessions::cause.eq("superseded"),
        ota_sessions::updated_at.eq(Utc::now()),
        ota_sessions::version.eq(ota_sessions::version + 1),
    ))
    .execute(conn)
    .await?)
}

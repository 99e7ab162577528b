//! Repository of the outbox: every push and text SMS is a row before it is a PDU.
//!
//! A row leaves by one of two bearers ([`OutboxBearer`]): `smsc`, one `submit_sm` (one
//! short_message) claimed by the SMPP sender; or `ss7`, one SMDPP with IS-637 bearer data
//! (teleservice 4100) to the serving MSC, claimed by the SS7 sender
//! (`crate::mniu::sms_sender`). A push that needs several segments is enqueued with
//! [`enqueue_all`] as several rows in one statement, each with its own segment header.
//!
//! ## Claims and leases
//!
//! [`claim_due`] picks due rows with `FOR UPDATE SKIP LOCKED` (so several senders, in one
//! instance or many, never pick the same row at the same time), moves them to `submitting`,
//! counts the attempt and sets `lease_until`. The claimant then has until the lease ends to
//! record the outcome ([`mark_submitted`], [`reschedule`], [`mark_failed`]). If it dies first,
//! the lease expires and the row is claimed again; a row whose lease expires with its attempts
//! used up fails with a cause instead. Nothing is lost, and no row is retried without bound.
//!
//! Claims, responses and receipts are written in batches: [`claim_due`] takes many rows in one
//! transaction, [`mark_submitted_all`] records the submit_sm_resps of a batch in one
//! `UPDATE ... FROM unnest(...)`, [`apply_receipts`] the receipts of a batch likewise, and
//! [`release`] hands claimed rows that were never sent back to the queue (a sender that stops
//! cleanly). Each answers per row exactly as its one-row counterpart ([`mark_submitted`],
//! [`apply_receipt`]) would.
//!
//! ## The at-least-once window
//!
//! A row can be sent twice only when a `submit_sm` reached the SMSC but its `submit_sm_resp`
//! was not recorded: the gateway died between the two (with batches, that includes responses
//! already received and waiting in the batch being written: at most the rows `submitting` when
//! it died, which are the binds' windows, the answers not yet written and the jobs claimed but
//! not yet sent, these last never sent twice), the bind dropped while the request was in the
//! window, or the response came after the response timeout. The outbox cannot tell these from
//! a request that never arrived, so it sends again. Everything else (rows not yet claimed, rows
//! recorded `submitted`) is sent exactly once.
//!
//! A receipt is acknowledged to the SMSC (`deliver_sm_resp`) only once [`apply_receipts`] has
//! recorded it, so a gateway that dies with receipts unrecorded leaves them unanswered and the
//! SMSC sends them again: no receipt is lost in a crash.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

pub use super::enums::{OutboxBearer, OutboxKind, OutboxState};
use super::schema::outbox;
use super::StoreError;

/// An outbox row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = outbox)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// What it carries.
    pub kind: OutboxKind,
    /// Destination address.
    pub destination: String,
    /// short_message octets.
    pub payload: Vec<u8>,
    /// esm_class.
    pub esm_class: i16,
    /// data_coding.
    pub data_coding: i16,
    /// Where it is in its life.
    pub state: OutboxState,
    /// Claims so far.
    pub attempts: i32,
    /// Not claimed before this.
    pub next_attempt_at: DateTime<Utc>,
    /// End of the current claim.
    pub lease_until: Option<DateTime<Utc>>,
    /// The SMSC's message_id.
    pub message_id: Option<String>,
    /// Failure cause.
    pub cause: Option<String>,
    /// Correlation: OTA session.
    pub session_id: Option<i64>,
    /// Correlation: campaign.
    pub campaign_id: Option<i64>,
    /// When enqueued.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
    /// Which way it leaves.
    pub bearer: OutboxBearer,
}

impl OutboxRow {
    /// The row's state (always known: the column is typed).
    pub fn state(&self) -> Option<OutboxState> {
        Some(self.state)
    }
}

/// A message to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbox {
    /// What it is.
    pub kind: OutboxKind,
    /// Destination address (digits, optionally a leading '+').
    pub destination: String,
    /// short_message octets, UDH included for a push (at most 255).
    pub payload: Vec<u8>,
    /// esm_class: 0x40 (UDHI) for a WAP push, 0x00 for text.
    pub esm_class: u8,
    /// data_coding: 0x04 (8-bit) for a WAP push.
    pub data_coding: u8,
    /// OTA session that asked for it.
    pub session_id: Option<i64>,
    /// Campaign that asked for it.
    pub campaign_id: Option<i64>,
    /// Which way it leaves.
    pub bearer: OutboxBearer,
}

impl NewOutbox {
    /// A WAP push segment: `short_message` = UDH + WSP, esm_class 0x40, data_coding 0x04.
    pub fn wap_push(destination: impl Into<String>, short_message: Vec<u8>) -> Self {
        Self {
            kind: OutboxKind::WapPush,
            destination: destination.into(),
            payload: short_message,
            esm_class: 0x40,
            data_coding: 0x04,
            session_id: None,
            campaign_id: None,
            bearer: OutboxBearer::Smsc,
        }
    }

    /// A WAP push segment for the SS7 bearer: `bearer_data` = IS-637 SMS_BearerData
    /// (teleservice 4100) for the handset with MIN `min`. esm_class and data_coding are SMPP's
    /// and stay 0.
    pub fn wap_push_ss7(min: impl Into<String>, bearer_data: Vec<u8>) -> Self {
        Self {
            kind: OutboxKind::WapPush,
            destination: min.into(),
            payload: bearer_data,
            esm_class: 0,
            data_coding: 0,
            session_id: None,
            campaign_id: None,
            bearer: OutboxBearer::Ss7,
        }
    }

    /// A text SMS in the SMSC's default alphabet: esm_class 0x00, data_coding 0x00.
    pub fn sms(destination: impl Into<String>, text: &str) -> Self {
        Self {
            kind: OutboxKind::Sms,
            destination: destination.into(),
            payload: text.as_bytes().to_vec(),
            esm_class: 0x00,
            data_coding: 0x00,
            session_id: None,
            campaign_id: None,
            bearer: OutboxBearer::Smsc,
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        let digits = self
            .destination
            .strip_prefix('+')
            .unwrap_or(&self.destination);
        if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StoreError::InvalidValue {
                field: "destination",
                reason: format!("{:?} is not an address of 1 to 20 digits", self.destination),
            });
        }
        if self.payload.len() > 255 {
            return Err(StoreError::InvalidValue {
                field: "payload",
                reason: format!(
                    "{} octets, at most 255 fit a short_message",
                    self.payload.len()
                ),
            });
        }
        Ok(())
    }
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
struct InsertRow<'a> {
    kind: OutboxKind,
    destination: &'a str,
    payload: &'a [u8],
    esm_class: i16,
    data_coding: i16,
    session_id: Option<i64>,
    campaign_id: Option<i64>,
    bearer: OutboxBearer,
}

impl<'a> From<&'a NewOutbox> for InsertRow<'a> {
    fn from(n: &'a NewOutbox) -> Self {
        Self {
            kind: n.kind,
            destination: &n.destination,
            payload: &n.payload,
            esm_class: i16::from(n.esm_class),
            data_coding: i16::from(n.data_coding),
            session_id: n.session_id,
            campaign_id: n.campaign_id,
            bearer: n.bearer,
        }
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Enqueues one message, due now.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    new: &NewOutbox,
) -> Result<OutboxRow, StoreError> {
    new.check()?;
    Ok(diesel::insert_into(outbox::table)
        .values(InsertRow::from(new))
        .returning(OutboxRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Enqueues several messages (the segments of one push, a batch of a campaign) all or nothing;
/// returns their ids in order.
pub async fn enqueue_all(
    conn: &mut AsyncPgConnection,
    new: &[NewOutbox],
) -> Result<Vec<i64>, StoreError> {
    for n in new {
        n.check()?;
    }
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<InsertRow<'_>> = new.iter().map(InsertRow::from).collect();
    Ok(diesel::insert_into(outbox::table)
        .values(&rows)
        .returning(outbox::id)
        .get_results(conn)
        .await?)
}

/// Reads a row.
pub async fn get(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<OutboxRow>, StoreError> {
    Ok(outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Which of `message_ids` some row has (whatever its state).
pub async fn known_message_ids(
    conn: &mut AsyncPgConnection,
    message_ids: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let found: Vec<Option<String>> = outbox::table
        .filter(outbox::message_id.eq_any(message_ids))
        .select(outbox::message_id)
        .load(conn)
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// Cause of a push that was not sent because its session had ended.
pub const CAUSE_SESSION_ENDED: &str = "session-ended";

/// Claims up to `limit` due rows of `bearer`: queued rows whose `next_attempt_at` has come, and rows whose
/// claim (lease) has expired. Each claimed row moves to `submitting`, its attempts go up by one
/// and its lease ends `lease` from now. A row whose lease expired with `max_attempts` already
/// used fails instead (cause "no answer ..."), and so does a push whose session has ended
/// (cause [`CAUSE_SESSION_ENDED`]: cancelled, superseded or timed out while the push waited or
/// was being retried; nobody would answer its call-back). Rows locked by another claimant are
/// skipped.
/// Runs its own transaction (a savepoint inside the caller's).
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    bearer: OutboxBearer,
    limit: i64,
    lease: Duration,
    max_attempts: i32,
) -> Result<Vec<OutboxRow>, StoreError> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    conn.transaction::<_, StoreError, _>(async move |conn| {
        let now = Utc::now();
        let due: Vec<(i64, OutboxState, i32, Option<i64>)> = outbox::table
            .filter(outbox::bearer.eq(bearer))
            .filter(
                outbox::state
                    .eq(OutboxState::Queued)
                    .and(outbox::next_attempt_at.le(now))
                    .or(outbox::state
                        .eq(OutboxState::Submitting)
                        .and(outbox::lease_until.le(now))),
            )
            .order(outbox::next_attempt_at)
            .limit(limit)
            .select((
                outbox::id,
                outbox::state,
                outbox::attempts,
                outbox::session_id,
            ))
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        let sessions: Vec<i64> = due.iter().filter_map(|(_, _, _, s)| *s).collect();
        let ended: Vec<i64> = if sessions.is_empty() {
            Vec::new()
        } else {
            use super::schema::ota_sessions;
            ota_sessions::table
                .filter(ota_sessions::id.eq_any(&sessions))
                .filter(ota_sessions::status.ne(super::sessions::SessionStatus::Active))
                .select(ota_sessions::id)
                .load(conn)
                .await?
        };
        let (orphans, due): (Vec<_>, Vec<_>) = due
            .into_iter()
            .partition(|(_, _, _, s)| s.is_some_and(|s| ended.contains(&s)));
        if !orphans.is_empty() {
            let ids: Vec<i64> = orphans.iter().map(|(id, _, _, _)| *id).collect();
            diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
                .set((
                    outbox::state.eq(OutboxState::Failed),
                    outbox::lease_until.eq(None::<DateTime<Utc>>),
                    outbox::cause.eq(CAUSE_SESSION_ENDED),
                    outbox::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
        }
        let (exhausted, claim): (Vec<_>, Vec<_>) = due
            .into_iter()
            .partition(|(_, state, n, _)| *state == OutboxState::Submitting && *n >= max_attempts);
        if !exhausted.is_empty() {
            let ids: Vec<i64> = exhausted.iter().map(|(id, _, _, _)| *id).collect();
            diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
                .set((
                    outbox::state.eq(OutboxState::Failed),
                    outbox::lease_until.eq(None::<DateTime<Utc>>),
                    outbox::cause.eq(format!(
                        "no answer recorded after {max_attempts} attempts ({} bearer)",
                        bearer.as_str()
                    )),
                    outbox::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
        }
        if claim.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = claim.iter().map(|(id, _, _, _)| *id).collect();
        let mut rows: Vec<OutboxRow> =
            diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
                .set((
                    outbox::state.eq(OutboxState::Submitting),
                    outbox::attempts.eq(outbox::attempts + 1),
                    outbox::lease_until.eq(Some(now + chrono_duration(lease))),
                    outbox::updated_at.eq(now),
                ))
                .returning(OutboxRow::as_returning())
                .get_results(conn)
                .await?;
        rows.sort_by_key(|r| (r.next_attempt_at, r.id));
        Ok(rows)
    })
    .await
}

/// Records the SMSC's acceptance: `submitting` (or `queued`, when a late response beats a
/// reschedule) -> `submitted` with `message_id`. Returns false when the row is gone or already
/// past that point (it then keeps its first message_id).
pub async fn mark_submitted(
    conn: &mut AsyncPgConnection,
    id: i64,
    message_id: &str,
) -> Result<bool, StoreError> {
    let from = [OutboxState::Submitting, OutboxState::Queued];
    accepted(conn, id, &from, OutboxState::Submitted, message_id).await
}

/// Records many submit_sm_resps in one statement (`UPDATE ... FROM unnest(...)`): each
/// `(id, message_id)` as [`mark_submitted`] would. Returns the ids recorded; an id missing from
/// the answer was gone or already past `submitting`/`queued` (it keeps its first message_id).
///
/// The statement is all or nothing: when it fails (a message_id another row already has, which
/// the unique index refuses), nothing of the batch is recorded and the caller may record the
/// rows one by one with [`mark_submitted`] to isolate the bad one.
pub async fn mark_submitted_all(
    conn: &mut AsyncPgConnection,
    accepted: &[(i64, String)],
) -> Result<Vec<i64>, StoreError> {
    use diesel::sql_types::{Array, BigInt, Text, Timestamptz};
    if accepted.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = accepted.iter().map(|(id, _)| *id).collect();
    let message_ids: Vec<&str> = accepted.iter().map(|(_, m)| m.as_str()).collect();
    let rows: Vec<IdRow> = diesel::sql_query(
        "UPDATE outbox AS o \
         SET state = 'submitted', message_id = u.message_id, lease_until = NULL, \
             cause = NULL, updated_at = $3 \
         FROM unnest($1::bigint[], $2::text[]) AS u(id, message_id) \
         WHERE o.id = u.id AND o.state IN ('submitting', 'queued') \
         RETURNING o.id",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<Text>, _>(&message_ids)
    .bind::<Timestamptz, _>(Utc::now())
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Hands claimed rows that were never sent back to the queue, due now, their attempt refunded
/// (jobs still waiting in a sender's queue when it stops). Only rows still `submitting` move.
/// Returns how many moved.
pub async fn release(conn: &mut AsyncPgConnection, ids: &[i64]) -> Result<usize, StoreError> {
    use diesel::sql_types::{Array, BigInt, Timestamptz};
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::sql_query(
        "UPDATE outbox \
         SET state = 'queued', attempts = GREATEST(attempts - 1, 0), lease_until = NULL, \
             next_attempt_at = $2, updated_at = $2 \
         WHERE id = ANY($1) AND state = 'submitting'",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Timestamptz, _>(Utc::now())
    .execute(conn)
    .await?)
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct ReceiptRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    message_id: String,
}

#[derive(QueryableByName)]
struct MessageIdRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    message_id: String,
}

/// Records a delivery the bearer confirmed itself (an SMDPP's ReturnResult on the SS7
/// bearer): `submitting` -> `delivered`, with `reference` (unique) as its message_id. Returns
/// false when the row is gone or was not claimed.
pub async fn mark_delivered(
    conn: &mut AsyncPgConnection,
    id: i64,
    reference: &str,
) -> Result<bool, StoreError> {
    let from = [OutboxState::Submitting];
    accepted(conn, id, &from, OutboxState::Delivered, reference).await
}

/// Row `id`, if in one of the states `from`, moves to `to` with `message_id`, its lease and
/// cause cleared.
async fn accepted(
    conn: &mut AsyncPgConnection,
    id: i64,
    from: &[OutboxState],
    to: OutboxState,
    message_id: &str,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::state.eq_any(from.to_vec())),
    )
    .set((
        outbox::state.eq(to),
        outbox::message_id.eq(message_id),
        outbox::lease_until.eq(None::<DateTime<Utc>>),
        outbox::cause.eq(None::<String>),
        outbox::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Applies a "delivered" receipt: the `submitted` row with this message_id -> `delivered`.
/// Returns the row id, or `None` when no submitted row has this message_id (unknown, or the
/// receipt came twice).
pub async fn mark_delivered_by_message_id(
    conn: &mut AsyncPgConnection,
    message_id: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(diesel::update(
        outbox::table
            .filter(outbox::message_id.eq(message_id))
            .filter(outbox::state.eq(OutboxState::Submitted)),
    )
    .set((
        outbox::state.eq(OutboxState::Delivered),
        outbox::updated_at.eq(Utc::now()),
    ))
    .returning(outbox::id)
    .get_result(conn)
    .await
    .optional()?)
}

/// Applies a final negative receipt (undeliverable, expired, rejected, deleted): the
/// `submitted` row with this message_id -> `failed` with `cause`.
pub async fn mark_failed_by_message_id(
    conn: &mut AsyncPgConnection,
    message_id: &str,
    cause: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(diesel::update(
        outbox::table
            .filter(outbox::message_id.eq(message_id))
            .filter(outbox::state.eq(OutboxState::Submitted)),
    )
    .set((
        outbox::state.eq(OutboxState::Failed),
        outbox::cause.eq(cause),
        outbox::updated_at.eq(Utc::now()),
    ))
    .returning(outbox::id)
    .get_result(conn)
    .await
    .optional()?)
}

/// What a final delivery receipt says of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptOutcome<'a> {
    /// Delivered (DELIVRD).
    Delivered,
    /// Failed for good (UNDELIV, EXPIRED, DELETED, REJECTD), with this cause.
    Failed(&'a str),
}

/// What [`apply_receipt`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptApplied {
    /// The submitted row with this message_id (its id) is now delivered or failed.
    Recorded(i64),
    /// Nothing to do: the row with this message_id already had its receipt (it is delivered or
    /// failed: a repeat).
    Repeated,
    /// Not recorded: no row has this message_id yet (its submit_sm_resp is not recorded yet,
    /// or it is not ours), or its submit_sm_resp was recorded while this ran. Try again later.
    Unknown,
}

/// Applies a final delivery receipt for `message_id`: the `submitted` row with this message_id
/// -> `delivered` ([`mark_delivered_by_message_id`]) or `failed` with the cause
/// ([`mark_failed_by_message_id`]).
///
/// When no submitted row matched, it is a repeat only if the row with this message_id is
/// already delivered or failed. A row that merely has it may have been recorded `submitted`
/// (by another gateway's worker, on another bind) just after the update looked; taking that
/// for a repeat would acknowledge a receipt that was never recorded, and the row would stay
/// `submitted` for ever.
pub async fn apply_receipt(
    conn: &mut AsyncPgConnection,
    message_id: &str,
    outcome: ReceiptOutcome<'_>,
) -> Result<ReceiptApplied, StoreError> {
    let id = match outcome {
        ReceiptOutcome::Delivered => mark_delivered_by_message_id(conn, message_id).await?,
        ReceiptOutcome::Failed(cause) => mark_failed_by_message_id(conn, message_id, cause).await?,
    };
    if let Some(id) = id {
        return Ok(ReceiptApplied::Recorded(id));
    }
    let settled: i64 = outbox::table
        .filter(outbox::message_id.eq(message_id))
        .filter(outbox::state.eq_any([OutboxState::Delivered, OutboxState::Failed]))
        .count()
        .get_result(conn)
        .await?;
    Ok(if settled > 0 {
        ReceiptApplied::Repeated
    } else {
        ReceiptApplied::Unknown
    })
}

/// Applies many final delivery receipts in two statements, each as [`apply_receipt`] would,
/// in order: the `submitted` rows with these message_ids move to `delivered` or `failed` in
/// one `UPDATE ... FROM unnest(...)`; for the others one query tells a repeat (the row is
/// already delivered or failed) from an unknown message_id. A message_id given twice is
/// recorded by its first receipt and is a repeat for the second. The answers are in the
/// order of `receipts`.
pub async fn apply_receipts(
    conn: &mut AsyncPgConnection,
    receipts: &[(&str, ReceiptOutcome<'_>)],
) -> Result<Vec<ReceiptApplied>, StoreError> {
    use diesel::sql_types::{Array, Nullable, Text, Timestamptz};
    if receipts.is_empty() {
        return Ok(Vec::new());
    }
    let message_ids: Vec<&str> = receipts.iter().map(|(m, _)| *m).collect();
    let causes: Vec<Option<&str>> = receipts
        .iter()
        .map(|(_, o)| match o {
            ReceiptOutcome::Delivered => None,
            ReceiptOutcome::Failed(cause) => Some(*cause),
        })
        .collect();
    // The first receipt of each message_id decides (as when applied one by one).
    let recorded: Vec<ReceiptRow> = diesel::sql_query(
        "UPDATE outbox AS o \
         SET state = CASE WHEN u.cause IS NULL THEN 'delivered' ELSE 'failed' END, \
             cause = COALESCE(u.cause, o.cause), updated_at = $3 \
         FROM (SELECT DISTINCT ON (t.message_id) t.message_id, t.cause \
               FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(message_id, cause, n) \
               ORDER BY t.message_id, t.n) AS u \
         WHERE o.message_id = u.message_id AND o.state = 'submitted' \
         RETURNING o.id, o.message_id",
    )
    .bind::<Array<Text>, _>(&message_ids)
    .bind::<Array<Nullable<Text>>, _>(&causes)
    .bind::<Timestamptz, _>(Utc::now())
    .load(conn)
    .await?;
    let recorded: std::collections::HashMap<String, i64> =
        recorded.into_iter().map(|r| (r.message_id, r.id)).collect();
    let rest: Vec<&str> = message_ids
        .iter()
        .copied()
        .filter(|m| !recorded.contains_key(*m))
        .collect();
    let settled: std::collections::HashSet<String> = if rest.is_empty() {
        std::collections::HashSet::new()
    } else {
        let rows: Vec<MessageIdRow> = diesel::sql_query(
            "SELECT message_id FROM outbox \
             WHERE message_id = ANY($1) AND state IN ('delivered', 'failed')",
        )
        .bind::<Array<Text>, _>(&rest)
        .load(conn)
        .await?;
        rows.into_iter().map(|r| r.message_id).collect()
    };
    let mut answered = std::collections::HashSet::new();
    Ok(message_ids
        .iter()
        .map(|m| match recorded.get(*m) {
            Some(id) if answered.insert(*m) => ReceiptApplied::Recorded(*id),
            // Recorded by an earlier receipt of this batch: a repeat.
            Some(_) => ReceiptApplied::Repeated,
            None if settled.contains(*m) => ReceiptApplied::Repeated,
            None => ReceiptApplied::Unknown,
        })
        .collect())
}

/// Gives up on a row that is not yet submitted (a permanent error). Returns false when the
/// row is gone or already past submission.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    id: i64,
    cause: &str,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::state.eq_any([OutboxState::Submitting, OutboxState::Queued])),
    )
    .set((
        outbox::state.eq(OutboxState::Failed),
        outbox::cause.eq(cause),
        outbox::lease_until.eq(None::<DateTime<Utc>>),
        outbox::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// What [`reschedule`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rescheduled {
    /// Queued again, due at this instant.
    Retry(DateTime<Utc>),
    /// Its attempts were used up: failed with this cause.
    Failed(String),
    /// The row was not `submitting` (gone, or another outcome was recorded first).
    NotClaimed,
}

/// Hands a claimed row back after a transient failure: `queued` again, due `backoff` from now,
/// unless its attempts have reached `max_attempts`, in which case it fails with a cause naming
/// the last failure. When `counted` is false the attempt is refunded (the SMSC asked us to slow
/// down: that is not the message's fault) and the row is always queued again.
pub async fn reschedule(
    conn: &mut AsyncPgConnection,
    id: i64,
    backoff: Duration,
    max_attempts: i32,
    cause: &str,
    counted: bool,
) -> Result<Rescheduled, StoreError> {
    let cause = cause.to_string();
    conn.transaction::<_, StoreError, _>(async move |conn| {
        let attempts: Option<i32> = outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::state.eq(OutboxState::Submitting))
            .select(outbox::attempts)
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some(attempts) = attempts else {
            return Ok(Rescheduled::NotClaimed);
        };
        let now = Utc::now();
        if counted && attempts >= max_attempts {
            let cause = format!("gave up after {attempts} attempts: {cause}");
            diesel::update(outbox::table.find(id))
                .set((
                    outbox::state.eq(OutboxState::Failed),
                    outbox::cause.eq(&cause),
                    outbox::lease_until.eq(None::<DateTime<Utc>>),
                    outbox::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
            return Ok(Rescheduled::Failed(cause));
        }
        let at = now + chrono_duration(backoff);
        let refund = if counted { 0 } else { 1 };
        diesel::update(outbox::table.find(id))
            .set((
                outbox::state.eq(OutboxState::Queued),
                outbox::attempts.eq((attempts - refund).max(0)),
                outbox::next_attempt_at.eq(at),
                outbox::lease_until.eq(None::<DateTime<Utc>>),
                outbox::cause.eq(&cause),
                outbox::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        Ok(Rescheduled::Retry(at))
    })
    .await
}

/// Rows per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxDepth {
    /// Waiting.
    pub queued: i64,
    /// Claimed, under lease.
    pub submitting: i64,
    /// Accepted by the SMSC, no final receipt yet.
    pub submitted: i64,
    /// Delivered.
    pub delivered: i64,
    /// Failed.
    pub failed: i64,
}

impl OutboxDepth {
    /// The count for one state.
    pub fn get(&self, state: OutboxState) -> i64 {
        match state {
            OutboxState::Queued => self.queued,
            OutboxState::Submitting => self.submitting,
            OutboxState::Submitted => self.submitted,
            OutboxState::Delivered => self.delivered,
            OutboxState::Failed => self.failed,
        }
    }

    /// Every row.
    pub fn total(&self) -> i64 {
        OutboxState::ALL.iter().map(|s| self.get(*s)).sum()
    }
}

/// Counts rows by state, whatever their bearer.
pub async fn depth(conn: &mut AsyncPgConnection) -> Result<OutboxDepth, StoreError> {
    count_by_state(conn, &[OutboxBearer::Smsc, OutboxBearer::Ss7]).await
}

/// Counts the rows of one bearer by state.
pub async fn depth_of(
    conn: &mut AsyncPgConnection,
    bearer: OutboxBearer,
) -> Result<OutboxDepth, StoreError> {
    count_by_state(conn, &[bearer]).await
}

async fn count_by_state(
    conn: &mut AsyncPgConnection,
    bearers: &[OutboxBearer],
) -> Result<OutboxDepth, StoreError> {
    let counts: Vec<(OutboxState, i64)> = outbox::table
        .filter(outbox::bearer.eq_any(bearers))
        .group_by(outbox::state)
        .select((outbox::state, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    let mut depth = OutboxDepth::default();
    for (state, n) in counts {
        match state {
            OutboxState::Queued => depth.queued = n,
            OutboxState::Submitting => depth.submitting = n,
            OutboxState::Submitted => depth.submitted = n,
            OutboxState::Delivered => depth.delivered = n,
            OutboxState::Failed => depth.failed = n,
        }
    }
    Ok(depth)
}

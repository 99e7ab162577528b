//! Deadlines: sessions whose handset (or network) went quiet are ended by the plan's own
//! reading of a timeout, whatever their bearer.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::apply::{apply_locked, ApplyError, NoBearer};
use super::end;
use super::plan::Event;
use crate::store::models::Session;
use crate::store::sessions::{self, Flow};
use crate::store::StoreError;
use crate::telemetry::names;

/// What [`expire_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Expired {
    /// Sessions closed by their deadline (with cause "timeout", or the outcome settled before
    /// an unanswered OTAPA stop).
    pub closed: usize,
    /// PRL pushes handed to the SS7 fallback.
    pub fallback: Vec<i64>,
}

/// Closes up to `limit` sessions whose deadline has passed: each is stepped with
/// [`Event::Timeout`], so the plan says what the silence means where it stands (a failure with
/// cause "timeout", or, with only the OTAPA stop outstanding, the outcome settled before it).
/// Safe to run on several instances at once: rows are claimed with `FOR UPDATE SKIP LOCKED`.
///
/// A PRL push whose handset never called back is handed to the SS7 fallback instead, once, when
/// `fallback` holds: its deadline is pushed back by that window, it is marked, and its id is
/// returned for the caller to run it over SS7.
pub(crate) async fn expire_due(
    conn: &mut AsyncPgConnection,
    limit: i64,
    fallback: Option<chrono::Duration>,
) -> Result<Expired, StoreError> {
    let (records, diverted) = conn
        .transaction::<_, StoreError, _>(async |conn| {
            let due = sessions::claim_expired(conn, Utc::now(), limit).await?;
            let mut records = Vec::new();
            let mut diverted = Vec::new();
            for session in due {
                if let (true, Some(window)) = (never_called_back(&session), fallback) {
                    let session =
                        sessions::mark_fallback(conn, session.id, session.version, Utc::now() + window)
                            .await?;
                    diverted.push(session.id);
                    continue;
                }
                // Each in a savepoint: a session the plan cannot close (its state does not
                // read, its plan had ended while the row stayed active) is abandoned with its
                // cause instead of blocking every deadline behind it.
                let locked = session.clone();
                let stepped = conn
                    .transaction::<_, ApplyError, _>(async |conn| {
                        apply_locked(conn, locked, vec![Event::Timeout], &mut NoBearer).await
                    })
                    .await;
                match stepped {
                    Ok(applied) => records.push(applied.record),
                    Err(ApplyError::Store(StoreError::Database(e))) => return Err(e.into()),
                    Err(e) => {
                        tracing::error!(session = session.id, error = %e, "a session past its deadline cannot be stepped: abandoned");
                        end::abandon(conn, &session, "timeout").await?;
                    }
                }
            }
            Ok((records, diverted))
        })
        .await?;
    for record in &records {
        record.count();
        metrics::counter!(names::SCHEDULER_TIMEOUTS).increment(1);
    }
    Ok(Expired {
        closed: records.len(),
        fallback: diverted,
    })
}

/// A PRL push whose handset has not followed the push and that the SS7 fallback has not taken.
fn never_called_back(session: &Session) -> bool {
    session.flow == Flow::PrlPush && session.started_at.is_none() && !session.fallback
}

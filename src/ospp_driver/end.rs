//! What the end of a session writes, in the transaction of its final transition: the profile
//! change the plan called for ([`ProfileChange`]), the programme's secrets scrubbed from the
//! row, and one audit detail record.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use super::plan::{Command, Outcome, PlanState, ProfileChange};
use crate::store::models::{AuditRecord, Session};
use crate::store::profiles::{self, Lookup};
use crate::store::{audit, sessions, StoreError};

/// Writes the end of `session` (its row already in its final state): the profile changes among
/// `commands`, the secrets scrubbed, the audit record. Runs in the caller's transaction, so a
/// failure here undoes the final transition too.
pub(crate) async fn finish(
    conn: &mut AsyncPgConnection,
    session: &Session,
    plan: &PlanState,
    outcome: &Outcome,
    commands: &[Command],
) -> Result<(), StoreError> {
    for command in commands {
        if let Command::Profile(change) = command {
            change_profile(conn, session, *change).await?;
        }
    }
    sessions::scrub_secrets(conn, session.id).await?;
    let (outcome_label, cause) = labels(outcome);
    let detail = match outcome {
        Outcome::Failure(cause) => serde_json::json!({
            "cause": cause,
            "reason": cause.to_string(),
        }),
        Outcome::Success => serde_json::json!({}),
    };
    audit::insert(
        conn,
        &AuditRecord {
            session_id: Some(session.id),
            profile_id: Some(session.profile_id),
            flow: session.flow,
            bearer: session.bearer,
            started_at: started_at(session),
            ended_at: Utc::now(),
            messages_exchanged: i32::try_from(plan.messages).unwrap_or(i32::MAX),
            outcome: outcome_label.to_string(),
            cause: (cause != "none").then(|| cause.to_string()),
            detail,
        },
    )
    .await?;
    Ok(())
}

async fn change_profile(
    conn: &mut AsyncPgConnection,
    session: &Session,
    change: ProfileChange,
) -> Result<(), StoreError> {
    match change {
        ProfileChange::Activate => {
            let profile = profiles::find(conn, &Lookup::Id(session.profile_id)).await?;
            let esn = profile
                .esn
                .clone()
                .or_else(|| profile.pesn.clone())
                .unwrap_or_default();
            profiles::activate(conn, profile.id, profile.version, &esn).await?;
        }
        ProfileChange::AdoptPendingPrl => {
            let adopted =
                profiles::apply_pending_prl(conn, session.profile_id, &session.token).await?;
            if adopted.is_none() {
                tracing::warn!(
                    session = session.id,
                    profile = session.profile_id,
                    "PRL download succeeded but the profile's pending PRL belongs to another \
                     push: the profile's PRL is left as it is"
                );
            }
        }
        ProfileChange::DropPendingPrl => {
            profiles::clear_pending_prl(conn, session.profile_id, &session.token).await?;
        }
    }
    Ok(())
}

/// Ends an active session whose state the plan cannot step (it does not read, or its plan had
/// ended while the row stayed active): failed with `cause`, secrets scrubbed, an audit record
/// saying so. Its profile is left as it is. Runs in the caller's transaction, on a locked row.
pub(crate) async fn abandon(
    conn: &mut AsyncPgConnection,
    session: &Session,
    cause: &str,
) -> Result<(), StoreError> {
    let ended = sessions::abandon(conn, session.id, cause).await?;
    sessions::scrub_secrets(conn, session.id).await?;
    audit::insert(
        conn,
        &AuditRecord {
            session_id: Some(ended.id),
            profile_id: Some(ended.profile_id),
            flow: ended.flow,
            bearer: ended.bearer,
            started_at: started_at(&ended),
            ended_at: Utc::now(),
            messages_exchanged: 0,
            outcome: "failure".to_string(),
            cause: Some(cause.to_string()),
            detail: serde_json::json!({
                "cause": {"cause": cause},
                "reason": "the session's state could not be stepped; it was abandoned",
            }),
        },
    )
    .await?;
    Ok(())
}

/// When a session's plan started; a pushed session whose handset never called back counts from
/// when it was opened.
pub(crate) fn started_at(session: &Session) -> DateTime<Utc> {
    session.started_at.unwrap_or(session.created_at)
}

/// `(outcome, cause)` metric labels of an outcome.
pub(crate) fn labels(outcome: &Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Success => ("success", "none"),
        Outcome::Failure(cause) => ("failure", cause.label()),
    }
}

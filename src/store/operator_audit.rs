//! The operator audit: one row per state-changing request from any door (the API, the CLI,
//! the OSPP handler), naming the account. The OTA sessions' own records are in
//! [`super::audit`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::operator_audit;
use super::StoreError;

/// Which door a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// The REST API.
    Api,
    /// The command line on the server.
    Cli,
    /// The OSPP handler (SMPP).
    Ospp,
}

impl Door {
    /// As stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            Door::Api => "api",
            Door::Cli => "cli",
            Door::Ospp => "ospp",
        }
    }
}

/// A row to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAction<'a> {
    /// The door.
    pub door: Door,
    /// The account's row id (none for the CLI's operating-system user).
    pub account_id: Option<i64>,
    /// The account's name (for the CLI: `cli:<user>`).
    pub account: &'a str,
    /// The API key's prefix.
    pub key_prefix: Option<&'a str>,
    /// The route (`POST /api/v1/campaigns`) or command (`account create`).
    pub action: &'a str,
    /// The path or name acted on.
    pub target: &'a str,
    /// The HTTP status, `ok`, or a refusal code.
    pub outcome: &'a str,
}

/// A row as read.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = operator_audit, check_for_backend(diesel::pg::Pg))]
pub struct Action {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// api, cli or ospp.
    pub door: String,
    /// The account's row id.
    pub account_id: Option<i64>,
    /// The account.
    pub account: String,
    /// The API key's prefix.
    pub key_prefix: Option<String>,
    /// Route or command.
    pub action: String,
    /// Path or name.
    pub target: String,
    /// Outcome.
    pub outcome: String,
}

/// Writes a row.
pub async fn record(conn: &mut AsyncPgConnection, new: &NewAction<'_>) -> Result<(), StoreError> {
    diesel::insert_into(operator_audit::table)
        .values((
            operator_audit::door.eq(new.door.as_str()),
            operator_audit::account_id.eq(new.account_id),
            operator_audit::account.eq(new.account),
            operator_audit::key_prefix.eq(new.key_prefix),
            operator_audit::action.eq(new.action),
            operator_audit::target.eq(new.target),
            operator_audit::outcome.eq(new.outcome),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The newest rows (at most `limit`), of one account or all, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    account: Option<&str>,
    limit: i64,
) -> Result<Vec<Action>, StoreError> {
    let mut query = operator_audit::table
        .select(Action::as_select())
        .order(operator_audit::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = account {
        query = query.filter(operator_audit::account.eq(a.to_string()));
    }
    Ok(query.load(conn).await?)
}

//! Accounts (operators and SMPP tools) and their API keys.
//!
//! Passwords arrive here already hashed (`crate::access::password`); keys arrive as the
//! digest of `crate::access::apikey`. Nothing in this file ever sees a whole key except
//! [`authenticate_key`], which digests it and forgets it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use thiserror::Error;

use super::schema::{accounts, api_keys};
use super::StoreError;
use crate::access::{apikey, Principal, Role};
use crate::refusal::{Refusal, RefusalKind};

/// An account as stored. Its password hash is not serialized.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg))]
pub struct Account {
    /// Row id.
    pub id: i64,
    /// Login name (an SMPP account's system_id).
    pub name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// argon2id PHC string.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// When disabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
}

impl Account {
    /// Its roles, typed (names no longer known are dropped).
    pub fn typed_roles(&self) -> Vec<Role> {
        self.roles.iter().filter_map(|r| r.parse().ok()).collect()
    }

    /// Whether it has a password (for the console and SMPP binds).
    pub fn has_password(&self) -> bool {
        self.password_hash.is_some()
    }
}

/// An API key as listed: never its secret nor its digest.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub struct ApiKey {
    /// Row id.
    pub id: i64,
    /// The account it acts for.
    pub account_id: i64,
    /// Public prefix.
    pub prefix: String,
    /// Free text.
    pub label: String,
    /// Role names.
    pub roles: Vec<String>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// When revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When last used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When created.
    pub created_at: DateTime<Utc>,
}

/// What can go wrong with accounts and keys.
#[derive(Debug, Error)]
pub enum AccountError {
    /// The name is taken.
    #[error("an account named {0:?} already exists")]
    Exists(String),
    /// No such account.
    #[error("no account named {0:?}")]
    NotFound(String),
    /// The name is not usable.
    #[error("invalid account name {0:?}: 1 to 64 of A-Z a-z 0-9 . _ @ -, starting with a letter or digit")]
    BadName(String),
    /// An account needs at least one role.
    #[error("an account needs at least one role")]
    NoRole,
    /// SMPP roles (ivr, otap-tool) and operator roles do not mix on one account.
    #[error("SMPP roles (ivr, otap-tool) and operator roles cannot be on the same account")]
    MixedRoles,
    /// SMPP accounts bind with a password; they need one.
    #[error("an SMPP account (ivr, otap-tool) needs a password")]
    SmppNeedsPassword,
    /// A key may carry only roles its account has.
    #[error("account {account:?} does not have role {role}")]
    RoleNotHeld {
        /// The account.
        account: String,
        /// The role asked for.
        role: Role,
    },
    /// SMPP accounts bind with their password, never with API keys.
    #[error("account {0:?} is an SMPP account: it binds with its password and has no API keys")]
    NoKeysForSmpp(String),
    /// The account is disabled.
    #[error("account {0:?} is disabled")]
    Disabled(String),
    /// No such key.
    #[error("no API key with prefix {0:?}")]
    KeyNotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DieselError> for AccountError {
    fn from(e: DieselError) -> Self {
        AccountError::Store(e.into())
    }
}

impl Refusal for AccountError {
    fn kind(&self) -> RefusalKind {
        match self {
            AccountError::Exists(_) => RefusalKind::Conflict,
            AccountError::NotFound(_) | AccountError::KeyNotFound(_) => RefusalKind::NotFound,
            AccountError::BadName(_)
            | AccountError::NoRole
            | AccountError::MixedRoles
            | AccountError::SmppNeedsPassword
            | AccountError::RoleNotHeld { .. }
            | AccountError::NoKeysForSmpp(_) => RefusalKind::BadRequest,
            AccountError::Disabled(_) => RefusalKind::Conflict,
            AccountError::Store(_) => RefusalKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            AccountError::Exists(_) => "account-exists",
            AccountError::NotFound(_) => "unknown-account",
            AccountError::BadName(_) => "bad-account-name",
            AccountError::NoRole | AccountError::MixedRoles | AccountError::RoleNotHeld { .. } => {
                "bad-roles"
            }
            AccountError::SmppNeedsPassword => "password-required",
            AccountError::NoKeysForSmpp(_) => "no-keys-for-smpp",
            AccountError::Disabled(_) => "account-disabled",
            AccountError::KeyNotFound(_) => "unknown-key",
            AccountError::Store(_) => "internal-error",
        }
    }
}

/// Whether `name` can name an account (the database checks the same).
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'@' | b'-'))
}

/// Creates an account. `password_hash` is an argon2id PHC string (see
/// `crate::access::password`), or none for an operator that uses API keys only.
pub async fn create(
    conn: &mut AsyncPgConnection,
    name: &str,
    roles: &[Role],
    password_hash: Option<&str>,
    created_by: &str,
) -> Result<Account, AccountError> {
    if !valid_name(name) {
        return Err(AccountError::BadName(name.to_string()));
    }
    if roles.is_empty() {
        return Err(AccountError::NoRole);
    }
    let smpp = roles.iter().filter(|r| r.is_smpp()).count();
    if smpp != 0 && smpp != roles.len() {
        return Err(AccountError::MixedRoles);
    }
    if smpp != 0 && password_hash.is_none() {
        return Err(AccountError::SmppNeedsPassword);
    }
    let mut names: Vec<String> = roles.iter().map(|r| r.as_str().to_string()).collect();
    names.sort();
    names.dedup();
    diesel::insert_into(accounts::table)
        .values((
            accounts::name.eq(name),
            accounts::roles.eq(&names),
            accounts::password_hash.eq(password_hash),
            accounts::created_by.eq(created_by),
        ))
        .returning(Account::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                AccountError::Exists(name.to_string())
            }
            e => e.into(),
        })
}

/// Every account, by name.
pub async fn list(conn: &mut AsyncPgConnection) -> Result<Vec<Account>, AccountError> {
    Ok(accounts::table
        .order(accounts::name)
        .select(Account::as_select())
        .load(conn)
        .await?)
}

/// One account by name.
pub async fn by_name(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> Result<Option<Account>, AccountError> {
    Ok(accounts::table
        .filter(accounts::name.eq(name))
        .select(Account::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Disables an account (its keys stop working, its binds are refused). Disabling twice is
/// not an error.
pub async fn disable(conn: &mut AsyncPgConnection, name: &str) -> Result<Account, AccountError> {
    let now = Utc::now();
    diesel::update(accounts::table.filter(accounts::name.eq(name)))
        .set(accounts::disabled_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("COALESCE(disabled_at, now())")))
        .returning(Account::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .map(|mut a| {
            a.disabled_at.get_or_insert(now);
            a
        })
        .ok_or_else(|| AccountError::NotFound(name.to_string()))
}

/// The enabled SMPP accounts (roles ivr or otap-tool), for the OSPP handler.
pub async fn smpp_accounts(conn: &mut AsyncPgConnection) -> Result<Vec<Account>, AccountError> {
    Ok(list(conn)
        .await?
        .into_iter()
        .filter(|a| a.disabled_at.is_none() && a.typed_roles().iter().any(|r| r.is_smpp()))
        .collect())
}

/// Makes an API key for `account` with `roles` (all of the account's when empty) that expires
/// at `expires_at` (never when none). The whole key is in the answer's first part, and
/// nowhere else, ever.
pub async fn create_key(
    conn: &mut AsyncPgConnection,
    account: &str,
    roles: &[Role],
    label: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(apikey::NewKey, ApiKey), AccountError> {
    let owner = by_name(conn, account)
        .await?
        .ok_or_else(|| AccountError::NotFound(account.to_string()))?;
    if owner.disabled_at.is_some() {
        return Err(AccountError::Disabled(account.to_string()));
    }
    let held = owner.typed_roles();
    if held.iter().any(|r| r.is_smpp()) {
        return Err(AccountError::NoKeysForSmpp(account.to_string()));
    }
    let roles = if roles.is_empty() {
        held.clone()
    } else {
        roles.to_vec()
    };
    if let Some(role) = roles.iter().find(|r| !held.contains(r)) {
        return Err(AccountError::RoleNotHeld {
            account: account.to_string(),
            role: *role,
        });
    }
    let mut names: Vec<String> = roles.iter().map(|r| r.as_str().to_string()).collect();
    names.sort();
    names.dedup();
    let key = apikey::generate().map_err(|e| {
        AccountError::Store(StoreError::InvalidValue {
            field: "api key",
            reason: e.to_string(),
        })
    })?;
    let row = diesel::insert_into(api_keys::table)
        .values((
            api_keys::account_id.eq(owner.id),
            api_keys::prefix.eq(&key.prefix),
            api_keys::secret_digest.eq(&key.digest),
            api_keys::label.eq(label),
            api_keys::roles.eq(&names),
            api_keys::expires_at.eq(expires_at),
        ))
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await?;
    Ok((key, row))
}

/// The API keys (of one account, or all), newest first.
pub async fn list_keys(
    conn: &mut AsyncPgConnection,
    account: Option<&str>,
) -> Result<Vec<(String, ApiKey)>, AccountError> {
    let mut query = api_keys::table
        .inner_join(accounts::table)
        .select((accounts::name, ApiKey::as_select()))
        .order(api_keys::id.desc())
        .into_boxed();
    if let Some(name) = account {
        query = query.filter(accounts::name.eq(name.to_string()));
    }
    Ok(query.load(conn).await?)
}

/// Revokes the key with this prefix (at once: the next request with it gets 401). Revoking
/// twice is not an error.
pub async fn revoke_key(
    conn: &mut AsyncPgConnection,
    prefix: &str,
) -> Result<ApiKey, AccountError> {
    diesel::update(api_keys::table.filter(api_keys::prefix.eq(prefix)))
        .set(api_keys::revoked_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("COALESCE(revoked_at, now())")))
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| AccountError::KeyNotFound(prefix.to_string()))
}

/// A key as authentication reads it: id, digest, roles, expiry, revocation, and its account.
type KeyRow = (
    i64,
    Vec<u8>,
    Vec<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Account,
);

/// The principal a presented API key stands for, or none when the key is malformed, unknown,
/// revoked, expired, or its account disabled (the caller answers all of these alike). Marks
/// the key used.
pub async fn authenticate_key(
    conn: &mut AsyncPgConnection,
    key: &str,
) -> Result<Option<Principal>, StoreError> {
    let Ok(prefix) = apikey::prefix_of(key) else {
        return Ok(None);
    };
    let found: Option<KeyRow> = api_keys::table
        .inner_join(accounts::table)
        .filter(api_keys::prefix.eq(prefix))
        .select((
            api_keys::id,
            api_keys::secret_digest,
            api_keys::roles,
            api_keys::expires_at,
            api_keys::revoked_at,
            Account::as_select(),
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((key_id, digest, key_roles, expires_at, revoked_at, account)) = found else {
        // Same work as a found key, so timing does not say whether a prefix exists.
        let _ = apikey::matches(&[0u8; 32], key);
        return Ok(None);
    };
    if !apikey::matches(&digest, key) {
        return Ok(None);
    }
    let now = Utc::now();
    if revoked_at.is_some() || account.disabled_at.is_some() || expires_at.is_some_and(|e| e <= now)
    {
        return Ok(None);
    }
    let held = account.typed_roles();
    let roles: Vec<Role> = key_roles
        .iter()
        .filter_map(|r| r.parse::<Role>().ok())
        .filter(|r| held.contains(r))
        .collect();
    diesel::update(api_keys::table.find(key_id))
        .set(api_keys::last_used_at.eq(now))
        .execute(conn)
        .await?;
    Ok(Some(Principal {
        account_id: account.id,
        account: account.name,
        key_prefix: Some(prefix.to_string()),
        roles,
    }))
}

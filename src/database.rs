//! Opening the customer-profile store: the configured URL, or the embedded private cluster;
//! migrations applied; a connection pool ready.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::setting::InvalidSetting;
use crate::store::embedded::{EmbeddedError, EmbeddedPostgres, DATABASE_NAME};
use crate::store::{self, Store, StoreError};

/// The database section of the configuration (`[database]`). Its `Debug` redacts the URL's
/// password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Postgres URL or `key=value` connection string. Empty: run the embedded private cluster
    /// in `data_dir`.
    pub url: String,
    /// Data directory of the embedded cluster. Empty: the per-user default.
    pub data_dir: String,
    /// Maximum connections in the pool.
    pub pool_size: usize,
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("data_dir", &self.data_dir)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            data_dir: String::new(),
            pool_size: 8,
        }
    }
}

impl DatabaseConfig {
    /// Checks the values the types allow but the store does not take.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if self.pool_size == 0 || self.pool_size > 1000 {
            return Err(InvalidSetting::new(
                "database.pool_size",
                format!(
                    "expected a number of connections from 1 to 1000, got {}",
                    self.pool_size
                ),
            ));
        }
        if !self.url.is_empty()
            && !self.url.starts_with("postgres://")
            && !self.url.starts_with("postgresql://")
            && !self.url.contains('=')
        {
            return Err(InvalidSetting::new(
                "database.url",
                "expected a postgres:// URL or a key=value connection string",
            ));
        }
        Ok(())
    }

    /// The embedded cluster's data directory (configured or default).
    pub fn data_dir(&self) -> PathBuf {
        if self.data_dir.is_empty() {
            crate::store::embedded::default_data_dir()
        } else {
            PathBuf::from(&self.data_dir)
        }
    }
}

/// Why the store could not be opened.
#[derive(Debug, Error)]
pub enum DatabaseError {
    /// The embedded cluster could not be started.
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    /// The database could not be reached or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking task failed.
    #[error("start-up task failed: {0}")]
    Task(String),
}

/// An open store, with the embedded cluster behind it when there is one. Its `Debug` redacts
/// the URL's password.
pub struct Database {
    /// The pool.
    pub store: Store,
    /// The connection string in use.
    pub url: String,
    embedded: Option<EmbeddedPostgres>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("store", &self.store)
            .field("url", &redact_url(&self.url))
            .field("embedded", &self.embedded)
            .finish()
    }
}

impl Database {
    /// Opens the configured database, or starts the embedded cluster in `data_dir` when no URL
    /// is configured; then applies pending migrations.
    pub async fn open(config: &DatabaseConfig, data_dir: &Path) -> Result<Self, DatabaseError> {
        if !config.url.is_empty() {
            return Self::ready(config.url.clone(), config.pool_size, None).await;
        }
        let dir = data_dir.to_path_buf();
        let pg = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir))
            .await
            .map_err(|e| DatabaseError::Task(e.to_string()))??;
        create_database_if_missing(&pg.url("postgres"), DATABASE_NAME).await?;
        let url = pg.url(DATABASE_NAME);
        Self::ready(url, config.pool_size, Some(pg)).await
    }

    /// Starts a throwaway cluster in a temporary directory (for `otagw demo`), removed on drop.
    pub async fn open_throwaway(pool_size: usize) -> Result<Self, DatabaseError> {
        let pg = tokio::task::spawn_blocking(EmbeddedPostgres::start_throwaway)
            .await
            .map_err(|e| DatabaseError::Task(e.to_string()))??;
        create_database_if_missing(&pg.url("postgres"), DATABASE_NAME).await?;
        let url = pg.url(DATABASE_NAME);
        Self::ready(url, pool_size, Some(pg)).await
    }

    async fn ready(
        url: String,
        pool_size: usize,
        embedded: Option<EmbeddedPostgres>,
    ) -> Result<Self, DatabaseError> {
        let applied = store::migrate(&url).await?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied database migrations");
        }
        let store = Store::connect(&url, pool_size)?;
        Ok(Self {
            store,
            url,
            embedded,
        })
    }

    /// Whether the store is the embedded cluster.
    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// Closes the pool and leaves the embedded cluster (stopped when this process is its last
    /// user: see `store::embedded`).
    pub async fn shutdown(mut self) -> Result<(), DatabaseError> {
        drop(self.store);
        if let Some(mut pg) = self.embedded.take() {
            tokio::task::spawn_blocking(move || pg.stop())
                .await
                .map_err(|e| DatabaseError::Task(e.to_string()))??;
        }
        Ok(())
    }
}

/// Creates `name` on the server behind `admin_url` (a maintenance database) unless it exists.
pub async fn create_database_if_missing(admin_url: &str, name: &str) -> Result<(), StoreError> {
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

    diesel::table! {
        pg_database (datname) {
            datname -> Text,
        }
    }
    let mut conn = AsyncPgConnection::establish(admin_url)
        .await
        .map_err(|e| StoreError::Connect(e.to_string()))?;
    let exists: i64 = pg_database::table
        .filter(pg_database::datname.eq(name))
        .count()
        .get_result(&mut conn)
        .await?;
    if exists == 0 {
        conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
    }
    Ok(())
}

/// What a password is replaced with.
const REDACTED: &str = "***";

/// The connection string with its password replaced by `***`, in every form libpq accepts: a
/// URL's userinfo (`postgresql://u:pw@host/db`), a URL's query parameter (`?password=pw`,
/// the key in any case or percent-encoded), and a key=value string with or without spaces
/// around `=` and with a single-quoted value (`password = 'my s3cr3t'`). A string that cannot
/// be read as either form and mentions a password is replaced whole.
pub fn redact_url(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        redact_uri(url)
    } else {
        redact_conninfo(url).unwrap_or_else(|| {
            if lower.contains("password") || lower.contains("pass") {
                format!("<connection string redacted: {REDACTED}>")
            } else {
                url.to_string()
            }
        })
    }
}

/// Decodes `%XX` escapes (for comparing query keys).
pub(crate) fn percent_decode(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn redact_uri(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The authority ends at the first '/' or '?' after the userinfo's '@' (a password may hold
    // a raw '/', so look for the last '@' before the query first).
    let (authority_end, query_start) = {
        let before_query = rest.find('?').unwrap_or(rest.len());
        let from = rest[..before_query].rfind('@').unwrap_or(0);
        let end = rest[from..]
            .find(['/', '?'])
            .map_or(rest.len(), |i| from + i);
        (end, rest[end..].find('?').map(|i| end + i))
    };
    let authority = &rest[..authority_end];
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:{REDACTED}@{hosts}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let (path, query) = match query_start {
        Some(q) => (&rest[authority_end..q], Some(&rest[q + 1..])),
        None => (&rest[authority_end..], None),
    };
    let mut out = format!("{scheme}://{authority}{path}");
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if percent_decode(k).eq_ignore_ascii_case("password") => {
                    format!("{k}={REDACTED}")
                }
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// A libpq key=value string with the value of `password` replaced; `None` when it is not one.
fn redact_conninfo(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == b.len() {
            break;
        }
        let key_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' {
            i += 1;
        }
        let key = &s[key_start..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == b.len() || b[i] != b'=' || key.is_empty() {
            return None;
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let value_start = i;
        if i < b.len() && b[i] == b'\'' {
            i += 1;
            loop {
                match b.get(i) {
                    None => return None, // unterminated quote
                    Some(b'\\') => i += 2,
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
        }
        let value_end = i.min(b.len());
        if key.eq_ignore_ascii_case("password") {
            out.push_str(&s[copied..value_start]);
            out.push_str(REDACTED);
            copied = value_end;
        }
        i = value_end;
    }
    out.push_str(&s[copied..]);
    Some(out)
}

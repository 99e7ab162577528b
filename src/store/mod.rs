//! The customer-profile store: Postgres through diesel-async, with a connection pool.
//!
//! The store is the system of record for profiles, the PRL (SSPR) library, OTA sessions, audit
//! detail records, the SMPP outbox and PRL campaigns. Repository functions live one table per
//! file ([`profiles`], [`prl_library`], [`sessions`], [`audit`], [`outbox`], [`campaigns`]) and
//! return [`StoreError`], whose variants name what went wrong (a duplicate ESN, an unknown
//! profile, a stale version) rather than a bare database error.

pub mod accounts;
pub mod audit;
pub mod campaigns;
pub mod embedded;
pub mod enums;
mod error;
pub mod models;
pub mod operator_audit;
pub mod outbox;
pub mod prl_library;
pub mod profiles;
pub mod schema;
pub mod sessions;
pub mod stored_enum;

use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use error::StoreError;

/// The migrations in `sql/`, embedded in the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("sql");

/// A pooled connection.
pub type Conn = Object<AsyncPgConnection>;

/// Handle on the customer-profile store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool<AsyncPgConnection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("Store")
            .field("pool_size", &status.size)
            .field("pool_available", &status.available)
            .finish()
    }
}

/// Pool occupancy, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open.
    pub open: usize,
    /// Connections checked out.
    pub in_use: usize,
    /// Maximum pool size.
    pub max: usize,
}

impl Store {
    /// A store on `url` (a `postgres://` URL or a libpq key=value string) with at most
    /// `pool_size` connections. Connections are made lazily; call [`Store::ping`] to check.
    pub fn connect(url: &str, pool_size: usize) -> Result<Self, StoreError> {
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .build()
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        Ok(Self { pool })
    }

    /// Checks a connection out of the pool.
    pub async fn conn(&self) -> Result<Conn, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Connect(e.to_string()))
    }

    /// Round trip to the database (for health checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        use diesel_async::SimpleAsyncConnection;
        let mut conn = self.conn().await?;
        conn.batch_execute("SELECT 1").await?;
        Ok(())
    }

    /// Pool occupancy.
    pub fn pool_status(&self) -> PoolStatus {
        let s = self.pool.status();
        PoolStatus {
            open: s.size,
            in_use: s.size.saturating_sub(s.available),
            max: s.max_size,
        }
    }
}

/// Applies every pending migration to the database at `url`; returns the versions applied.
///
/// Diesel's migration harness is synchronous, so this runs on a blocking thread.
pub async fn migrate(url: &str) -> Result<Vec<String>, StoreError> {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || migrate_blocking(&url))
        .await
        .map_err(|e| StoreError::Migration(e.to_string()))?
}

/// [`migrate`] for callers outside an async runtime.
pub fn migrate_blocking(url: &str) -> Result<Vec<String>, StoreError> {
    use diesel::Connection;
    use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
    let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(url)
        .map_err(|e| StoreError::Connect(e.to_string()))?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

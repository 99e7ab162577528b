//! Throwaway databases for tests: one private PostgreSQL cluster per test process, a fresh
//! database per test cloned from a migrated template, so a test costs milliseconds, not seconds.
//!
//! This is the same embedded cluster code the product runs (see [`crate::store::embedded`]),
//! started in a temporary directory with durability switched off.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use crate::store::embedded::EmbeddedPostgres;
use crate::store::{self, Store, StoreError};

const TEMPLATE: &str = "otagw_template";

struct Cluster {
    pg: EmbeddedPostgres,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

fn cluster() -> Result<&'static Cluster, StoreError> {
    CLUSTER
        .get_or_init(|| {
            // On a thread of its own: no async runtime there, so the blocking migration
            // harness may build the one it needs.
            std::thread::spawn(start_cluster)
                .join()
                .unwrap_or_else(|_| Err("the cluster start-up thread panicked".to_string()))
        })
        .as_ref()
        .map_err(|e| StoreError::Connect(e.clone()))
}

fn start_cluster() -> Result<Cluster, String> {
    let pg = EmbeddedPostgres::start_throwaway().map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(crate::database::create_database_if_missing(
        &pg.url("postgres"),
        TEMPLATE,
    ))
    .map_err(|e| e.to_string())?;
    drop(rt);
    store::migrate_blocking(&pg.url(TEMPLATE)).map_err(|e| e.to_string())?;
    Ok(Cluster { pg })
}

/// A fresh, migrated database of its own.
#[derive(Debug)]
pub struct TestDb {
    /// A pool on it.
    pub store: Store,
    /// Its connection string.
    pub url: String,
    /// Its name.
    pub name: String,
}

impl TestDb {
    /// Creates a database from the migrated template.
    pub async fn new() -> Result<Self, StoreError> {
        let cluster = cluster()?;
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = AsyncPgConnection::establish(&cluster.pg.url("postgres"))
            .await
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\" TEMPLATE {TEMPLATE}"))
            .await?;
        let url = cluster.pg.url(&name);
        let store = Store::connect(&url, 4)?;
        Ok(Self { store, url, name })
    }
}

//! The embedded cluster's life follows its users (issue #15 item 1, issue #11 row 10): whoever
//! started it, it stops only when its last user leaves; a cluster orphaned by a killed gateway
//! is adopted by the next one and stopped when that one exits; a data directory of another
//! PostgreSQL major version is refused with what to do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use otagw::database::{Database, DatabaseConfig};
use otagw::store::embedded::{EmbeddedError, EmbeddedPostgres};

/// A temporary directory the `postgres` user can traverse (the tests may run as root).
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("otagw-embedded-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn running(data_dir: &Path) -> bool {
    data_dir.join("postmaster.pid").exists()
}

async fn open(data_dir: &Path) -> Database {
    Database::open(&DatabaseConfig::default(), data_dir)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_process_that_started_the_cluster_leaves_first_and_the_other_keeps_it() {
    let dir = workdir();
    let pg = dir.path().join("pg");
    // A short command (an import) starts the cluster; a gateway joins it.
    let import = open(&pg).await;
    let gateway = open(&pg).await;
    import.shutdown().await.unwrap();
    assert!(running(&pg), "the import stopped the gateway's database");
    gateway.store.ping().await.unwrap();
    gateway.shutdown().await.unwrap();
    assert!(!running(&pg), "the last user out stops it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_joined_leaves_first_and_the_starter_keeps_it() {
    let dir = workdir();
    let pg = dir.path().join("pg");
    let gateway = open(&pg).await;
    let import = open(&pg).await;
    import.shutdown().await.unwrap();
    gateway.store.ping().await.unwrap();
    assert!(running(&pg));
    gateway.shutdown().await.unwrap();
    assert!(!running(&pg), "the last user out stops it");
    // And the next command starts it again.
    let again = open(&pg).await;
    again.store.ping().await.unwrap();
    again.shutdown().await.unwrap();
    assert!(!running(&pg));
}

#[test]
fn a_cluster_of_another_major_version_is_refused_with_what_to_do() {
    let dir = workdir();
    let pg = dir.path().join("pg");
    std::fs::create_dir_all(&pg).unwrap();
    std::fs::write(pg.join("PG_VERSION"), "9\n").unwrap();
    match EmbeddedPostgres::start(&pg) {
        Err(err @ EmbeddedError::VersionMismatch { .. }) => {
            let EmbeddedError::VersionMismatch { cluster, .. } = &err else {
                unreachable!()
            };
            assert_eq!(cluster, "9");
            let text = err.to_string();
            assert!(text.contains("pg_upgrade"), "{text}");
            assert!(text.contains("postgresql-9"), "{text}");
        }
        other => panic!("expected a version mismatch, got {other:?}"),
    }
    assert!(!running(&pg));
}

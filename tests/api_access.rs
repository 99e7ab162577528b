//! The REST API's door: the permission matrix (every role against every endpoint, generated
//! from the table the code enforces), 401 vs 403, JSON only, Host and Origin checks, revoked
//! and expired keys, disabled accounts, the operator audit, and validation errors that name
//! their field.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use chrono::{Duration as ChronoDuration, Utc};
use common::http_raw;
use otagw::access::endpoints::ENDPOINTS;
use otagw::access::{Permission, Role};
use otagw::config::Config;
use otagw::gateway::Gateway;
use otagw::store::{accounts, operator_audit, Store};

async fn gateway(store: &Store) -> Gateway {
    let mut c = Config::default();
    c.iota.listen = "127.0.0.1:0".parse().unwrap();
    c.http.listen = "127.0.0.1:0".parse().unwrap();
    Gateway::start(&c, store.clone()).await.unwrap()
}

/// A key for a new account with exactly `roles`.
async fn key_with(store: &Store, name: &str, roles: &[Role]) -> String {
    let mut conn = store.conn().await.unwrap();
    accounts::create(&mut conn, name, roles, None, "tests")
        .await
        .unwrap();
    accounts::create_key(&mut conn, name, &[], "", None)
        .await
        .unwrap()
        .0
        .key
}

/// The concrete path of a route (path parameters filled in).
fn concrete(route: &str) -> String {
    route
        .replace("{id}", "1")
        .replace("{action}", "pause")
        .replace("{name}", "nobody")
        .replace("{prefix}", "00000000")
}

async fn call(
    addr: SocketAddr,
    method: &'static str,
    path: String,
    headers: String,
    body: &'static str,
) -> (u16, serde_json::Value) {
    tokio::task::spawn_blocking(move || http_raw(addr, method, &path, &headers, body))
        .await
        .unwrap()
}

fn json_with(key: Option<&str>) -> String {
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    format!("{auth}Content-Type: application/json\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_against_every_endpoint() {
    let db = otagw::testkit::TestDb::new().await.unwrap();
    let gw = gateway(&db.store).await;
    let addr = gw.admin_addr;
    let mut keys = Vec::new();
    for role in Role::ALL {
        if role.is_smpp() {
            // SMPP accounts bind with their password; they get no API key at all.
            let mut conn = db.store.conn().await.unwrap();
            let hash = otagw::access::password::hash("pw").unwrap();
            let name = format!("smpp-{role}");
            accounts::create(&mut conn, &name, &[role], Some(&hash), "tests")
                .await
                .unwrap();
            assert!(accounts::create_key(&mut conn, &name, &[], "", None)
                .await
                .is_err());
            continue;
        }
        keys.push((
            role,
            key_with(&db.store, &format!("matrix-{role}"), &[role]).await,
        ));
    }
    let mut checked = 0;
    for endpoint in ENDPOINTS {
        let path = concrete(endpoint.path);
        let body = if endpoint.method == "POST" { "{}" } else { "" };
        let (status, problem) =
            call(addr, endpoint.method, path.clone(), json_with(None), body).await;
        assert_eq!(
            status, 401,
            "{} {path} without a key: {problem}",
            endpoint.method
        );
        assert_eq!(problem["error"], "unauthenticated");
        for (role, key) in &keys {
            let (status, answer) = call(
                addr,
                endpoint.method,
                path.clone(),
                json_with(Some(key)),
                body,
            )
            .await;
            if role.permits(endpoint.permission) {
                assert!(
                    status != 401 && status != 403,
                    "{role} may {} {path} ({}), got {status}: {answer}",
                    endpoint.method,
                    endpoint.permission
                );
            } else {
                assert_eq!(
                    status, 403,
                    "{role} may not {} {path}: {answer}",
                    endpoint.method
                );
                assert_eq!(answer["error"], "forbidden");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ENDPOINTS.len() * keys.len());
    // Every API permission is reachable through some endpoint, and no endpoint needs an OSPP
    // permission.
    for endpoint in ENDPOINTS {
        assert!(!endpoint.permission.as_str().starts_with("ospp-"));
    }
    for p in [
        Permission::ManageAccounts,
        Permission::ReadAudit,
        Permission::ReadSubscribers,
        Permission::PushPrl,
        Permission::TriggerActivation,
        Permission::ManageCampaigns,
        Permission::ReadCampaigns,
    ] {
        assert!(ENDPOINTS.iter().any(|e| e.permission == p), "{p}");
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_door_refuses_cross_site_and_dead_credentials_and_audits_writes() {
    let db = otagw::testkit::TestDb::new().await.unwrap();
    let gw = gateway(&db.store).await;
    let addr = gw.admin_addr;
    let key = key_with(&db.store, "ops", &[Role::OtapAdmin, Role::Admin]).await;
    let trigger = "/api/v1/triggers/star-code".to_string();

    // JSON only.
    let auth = format!("Authorization: Bearer {key}\r\n");
    let (status, p) = call(
        addr,
        "POST",
        trigger.clone(),
        format!("{auth}Content-Type: text/plain\r\n"),
        r#"{"trn":"5550001"}"#,
    )
    .await;
    assert_eq!(status, 415, "{p}");
    let (status, _) = call(
        addr,
        "POST",
        trigger.clone(),
        auth.clone(),
        r#"{"trn":"5550001"}"#,
    )
    .await;
    assert_eq!(status, 415);
    // A foreign Origin on a write.
    let (status, p) = call(
        addr,
        "POST",
        trigger.clone(),
        format!("{}Origin: http://evil.example\r\n", json_with(Some(&key))),
        r#"{"trn":"5550001"}"#,
    )
    .await;
    assert_eq!((status, p["error"].as_str()), (403, Some("cross-origin")));
    // A foreign Host (DNS rebinding), even on a read.
    let (status, p) = tokio::task::spawn_blocking({
        let key = key.clone();
        move || {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            write!(s, "GET /api/v1/campaigns HTTP/1.1\r\nHost: rebind.evil.example\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            (out[9..12].parse::<u16>().unwrap(), out)
        }
    })
    .await
    .unwrap();
    assert_eq!(status, 421, "{p}");

    // Validation names the field: a 303-digit TRN is the caller's error, not the network's.
    let long = Box::leak(format!("{{\"trn\":\"{}\"}}", "5".repeat(303)).into_boxed_str());
    let (status, p) = call(addr, "POST", trigger.clone(), json_with(Some(&key)), long).await;
    assert_eq!(status, 400, "{p}");
    assert_eq!(p["field"], "trn");
    let (status, p) = call(
        addr,
        "POST",
        "/api/v1/triggers/prl-push".into(),
        json_with(Some(&key)),
        r#"{"prl": 1, "esn": "XYZ"}"#,
    )
    .await;
    assert_eq!((status, p["field"].as_str()), (400, Some("esn")), "{p}");

    // The writes are audited with the account and the key's prefix.
    let mut conn = db.store.conn().await.unwrap();
    let rows = operator_audit::list(&mut conn, Some("ops"), 100)
        .await
        .unwrap();
    // (The cross-origin refusal comes before the key is read: no account to name.)
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows
        .iter()
        .all(|r| r.door == "api" && r.key_prefix.is_some()));
    assert!(rows
        .iter()
        .any(|r| r.action == "POST /api/v1/triggers/star-code" && r.outcome == "400"));

    // Revoked, expired, disabled: 401 alike.
    let read = |k: String| {
        call(
            addr,
            "GET",
            "/api/v1/campaigns".into(),
            json_with(Some(&k)),
            "",
        )
    };
    assert_eq!(read(key.clone()).await.0, 200);
    let prefix = otagw::access::apikey::prefix_of(&key).unwrap().to_string();
    accounts::revoke_key(&mut conn, &prefix).await.unwrap();
    assert_eq!(read(key.clone()).await.0, 401);
    let soon = Utc::now() + ChronoDuration::milliseconds(300);
    let (expiring, _) = accounts::create_key(&mut conn, "ops", &[], "", Some(soon))
        .await
        .unwrap();
    assert_eq!(read(expiring.key.clone()).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(read(expiring.key).await.0, 401);
    let (fresh, _) = accounts::create_key(&mut conn, "ops", &[], "", None)
        .await
        .unwrap();
    assert_eq!(read(fresh.key.clone()).await.0, 200);
    let listed = accounts::list_keys(&mut conn, Some("ops")).await.unwrap();
    assert!(listed
        .iter()
        .any(|(_, k)| k.prefix == fresh.prefix && k.last_used_at.is_some()));
    accounts::disable(&mut conn, "ops").await.unwrap();
    assert_eq!(read(fresh.key).await.0, 401);
    // A key carries only roles its account has.
    assert!(
        accounts::create_key(&mut conn, "ops", &[Role::Noc], "", None)
            .await
            .is_err()
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_care_finds_a_subscriber_without_its_secrets() {
    let mut profile = common::activated("1A2B3C4D", "6195550001", "6195550001");
    profile.spc = Some("913579".into());
    profile.spasm_key = Some("0123456789ABCDEF".into());
    let (db, profiles) = common::db_with(3, &[profile]).await;
    let gw = gateway(&db.store).await;
    let addr = gw.admin_addr;
    let key = key_with(&db.store, "care", &[Role::CustomerCare]).await;
    for query in ["esn=1A2B3C4D", "mdn=6195550001", "min=6195550001"] {
        let (status, answer) = call(
            addr,
            "GET",
            format!("/api/v1/subscribers?{query}"),
            json_with(Some(&key)),
            "",
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        let found = &answer["subscribers"][0];
        assert_eq!(found["id"], profiles[0].id, "{query}: {answer}");
        let text = answer.to_string();
        assert!(
            !text.contains("913579") && !text.contains("0123456789ABCDEF"),
            "{text}"
        );
        assert!(found.get("otapa_callback_url").is_none());
    }
    let (status, answer) = call(
        addr,
        "GET",
        "/api/v1/subscribers?esn=00000001".into(),
        json_with(Some(&key)),
        "",
    )
    .await;
    assert_eq!(
        (status, answer["subscribers"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    let (status, p) = call(
        addr,
        "GET",
        "/api/v1/subscribers?esn=1&mdn=2".into(),
        json_with(Some(&key)),
        "",
    )
    .await;
    assert_eq!(status, 400, "{p}");
    let (status, answer) = call(
        addr,
        "GET",
        format!("/api/v1/subscribers/{}/sessions", profiles[0].id),
        json_with(Some(&key)),
        "",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["sessions"], serde_json::json!([]));
    gw.stop().await;
}

//! The `otagw` binary as an operator runs it: configuration, imports into the embedded cluster
//! that persist from one command to the next, and the server's /healthz and /metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use otagw_codecs::prl::classic::{AcqRecord, ClassicPrl, Nid, PrefNeg, SysRecord};

fn otagw(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_otagw"));
    cmd.arg("--data-dir").arg(data_dir);
    // The test's own environment must not leak settings in.
    for (k, _) in std::env::vars() {
        if k.starts_with("OTAGW_") {
            cmd.env_remove(k);
        }
    }
    cmd.env_remove("RUST_LOG");
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A temporary directory the `postgres` user can traverse (the tests may run as root).
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("otagw-cli-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn config_prints_redacted_and_refuses_bad_values() {
    let dir = workdir();
    let out = otagw(&dir.path().join("pg"))
        .arg("config")
        .env(
            "OTAGW_DATABASE_URL",
            "postgres://otagw:hunter2@db.example/otagw",
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("otagw:***@db.example"), "{stdout}");
    assert!(!stdout.contains("hunter2"));
    assert!(stdout.contains("pool_size = 8"), "{stdout}");

    let out = otagw(&dir.path().join("pg"))
        .arg("config")
        .env("OTAGW_DATABASE_POOL_SIZE", "many")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pool_size"),
        "{}",
        text(&out)
    );

    let file = dir.path().join("otagw.toml");
    std::fs::write(&file, "[http]\nlisten = \"nowhere\"\n").unwrap();
    let out = otagw(&dir.path().join("pg"))
        .arg("--config")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("http.listen"),
        "{}",
        text(&out)
    );
}

fn sample_prl() -> Vec<u8> {
    ClassicPrl {
        pr_list_id: 77,
        pref_only: true,
        def_roam_ind: 1,
        acq_records: vec![AcqRecord::PcsCdmaBlocks { blocks: vec![7] }],
        sys_records: vec![SysRecord {
            sid: 4139,
            nid: Nid::Wildcard,
            pref_neg: PrefNeg::Preferred {
                pri: true,
                roam_ind: 0,
            },
            geo: false,
            acq_index: 0,
        }],
    }
    .encode()
    .unwrap()
}

fn http_get(port: u16, path: &str) -> String {
    http_get_as(port, path, None)
}

/// GET with an API key, when given.
fn http_get_as(port: u16, path: &str, key: Option<&str>) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

#[test]
fn imports_persist_across_commands_and_the_server_serves() {
    let dir = workdir();
    let pg = dir.path().join("pg");

    // A PRL with a broken CRC is refused and nothing is written.
    let mut prl = sample_prl();
    let bad = dir.path().join("bad.prl");
    let n = prl.len();
    prl[n - 1] ^= 0xFF;
    std::fs::write(&bad, &prl).unwrap();
    let out = otagw(&pg)
        .args(["prl", "import"])
        .arg(&bad)
        .args(["--id", "3"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("CRC"),
        "{}",
        text(&out)
    );

    let good = dir.path().join("good.prl");
    std::fs::write(&good, sample_prl()).unwrap();
    let out = otagw(&pg)
        .args(["prl", "import"])
        .arg(&good)
        .args(["--id", "3", "--description", "lab list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("PR_LIST_ID 77"),
        "{}",
        text(&out)
    );

    // A CSV with one bad row is refused whole, with the line number.
    let csv = dir.path().join("profiles.csv");
    std::fs::write(
        &csv,
        "esn,mdn,prl_id,spc\n1A2B3C4D,6195550001,3,123456\n1A2B3C4,6195550002,3,123456\n",
    )
    .unwrap();
    let out = otagw(&pg)
        .args(["profile", "import"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 3"),
        "{}",
        text(&out)
    );
    let out = otagw(&pg)
        .args(["profile", "show", "1A2B3C4D"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "nothing was imported: {}",
        text(&out)
    );

    std::fs::write(
        &csv,
        "esn,mdn,prl_id,spc\n1A2B3C4D,6195550001,3,123456\n1A2B3C4E,6195550002,3,123456\n",
    )
    .unwrap();
    let out = otagw(&pg)
        .args(["profile", "import"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2 profiles"));

    // The next command sees what the last one wrote.
    let out = otagw(&pg)
        .args(["profile", "show", "6195550002", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["esn"], "1A2B3C4E");
    assert_eq!(json["prl_id"], 3);
    assert!(json.get("spc").is_none());

    // A PRL campaign from a CSV: these profiles are not activated yet, so every subscriber is
    // skipped with its cause and nothing is pushed.
    let subscribers = dir.path().join("subscribers.csv");
    std::fs::write(&subscribers, "mdn\n6195550001\n6195550002\nxyz\n").unwrap();
    let out = otagw(&pg)
        .args(["prl", "campaign", "--prl", "3", "--csv"])
        .arg(&subscribers)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "PRL campaign 1: 3 targets, 0 pushes queued, 3 skipped, 0 pending",
        "  skipped 6195550002: not-activated",
        "  skipped xyz: bad-identity",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line}: {}", text(&out));
    }
    // Nothing was pushed, so the campaign has finished: it cannot be cancelled, and an unknown
    // campaign is named as such.
    for (args, expected) in [
        (
            ["prl", "campaign-cancel", "1"],
            "PRL campaign 1 is finished: it cannot be cancelled",
        ),
        (["prl", "campaign-pause", "99"], "no PRL campaign 99"),
    ] {
        let out = otagw(&pg).args(args).output().unwrap();
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(expected),
            "{expected}: {}",
            text(&out)
        );
    }

    // The first admin, made on the command line with its password on standard input, and a
    // NOC operator with an API key (printed once, on stdout).
    let mut admin = otagw(&pg)
        .args([
            "account",
            "create",
            "root-admin",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    admin
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long admin password\n")
        .unwrap();
    let out = admin.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = otagw(&pg)
        .args([
            "account",
            "create",
            "noc1",
            "--role",
            "noc",
            "--no-password",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = otagw(&pg)
        .args(["apikey", "create", "noc1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let key = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(key.starts_with("otagw_"), "{}", text(&out));
    // Without a password source and with no terminal, no account is made.
    let out = otagw(&pg)
        .args(["account", "create", "nopw", "--role", "admin"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    let out = otagw(&pg).args(["account", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("root-admin") && listed.contains("noc1"),
        "{listed}"
    );
    assert!(
        !listed.contains("nopw") && !listed.contains("argon2"),
        "{listed}"
    );

    // Serve: /healthz and /metrics, until SIGTERM.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = otagw(&pg)
        .env("OTAGW_HTTP_LISTEN", format!("127.0.0.1:{port}"))
        .env("OTAGW_IOTA_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        assert!(server.try_wait().unwrap().is_none(), "server exited early");
        std::thread::sleep(Duration::from_millis(100));
    }
    let health = http_get(port, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains(r#""database":"ok""#), "{health}");
    let metrics = http_get(port, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.contains("otagw_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("otagw_store_pool_connections_max 8"),
        "{metrics}"
    );
    // The campaign the command line created is there, finished.
    assert!(http_get(port, "/api/v1/campaigns/1").starts_with("HTTP/1.1 401"));
    let campaign = http_get_as(port, "/api/v1/campaigns/1", Some(&key));
    assert!(campaign.starts_with("HTTP/1.1 200"), "{campaign}");
    assert!(campaign.contains(r#""state":"finished""#), "{campaign}");
    assert!(campaign.contains(r#""not-activated":2"#), "{campaign}");

    let pid = server.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = server.wait().unwrap();
    assert!(status.success(), "server exit: {status}");
    // It stopped the cluster it started.
    assert!(!pg.join("postmaster.pid").exists());
}

#[test]
fn demo_uses_and_keeps_the_cluster_in_data_dir() {
    let dir = workdir();
    let pg = dir.path().join("pg");
    let out = otagw(&pg)
        .args(["demo", "--handsets", "2", "--concurrency", "2"])
        .env("OTAGW_HTTP_LISTEN", "127.0.0.1:0")
        .env("OTAGW_IOTA_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kept ("), "{}", text(&out));
    assert!(pg.join("PG_VERSION").exists(), "{}", text(&out));
    assert!(!pg.join("postmaster.pid").exists(), "stopped on exit");
    // The demo's profiles are there for the next command.
    let out = otagw(&pg)
        .args(["profile", "show", "D3000000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn prl_import_refuses_a_file_larger_than_a_prl_without_reading_it() {
    let dir = workdir();
    let big = dir.path().join("big.prl");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(200_000_000)
        .unwrap();
    let out = otagw(&dir.path().join("pg"))
        .args(["prl", "import"])
        .arg(&big)
        .args(["--id", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("is 200000000 octets; a PRL is at most 65535"),
        "{}",
        text(&out)
    );
}

/// Starts `otagw serve` on `pg` with its admin server on `port`, and waits for /healthz.
fn serve(pg: &Path, port: u16) -> std::process::Child {
    let mut server = otagw(pg)
        .env("OTAGW_HTTP_LISTEN", format!("127.0.0.1:{port}"))
        .env("OTAGW_IOTA_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        assert!(server.try_wait().unwrap().is_none(), "server exited early");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn signal(child: &std::process::Child, sig: &str) {
    assert!(Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success());
}

#[test]
fn two_gateways_share_the_cluster_and_a_killed_ones_orphan_is_adopted() {
    let dir = workdir();
    let pg = dir.path().join("pg");
    // Gateway A starts the cluster, gateway B joins it; SIGTERM to A: B keeps its database.
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = serve(&pg, port_a);
    let mut b = serve(&pg, port_b);
    signal(&a, "-TERM");
    assert!(a.wait().unwrap().success());
    assert!(pg.join("postmaster.pid").exists(), "A stopped B's database");
    let health = http_get(port_b, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    // kill -9 of B: its cluster is left running, orphaned.
    signal(&b, "-KILL");
    let _ = b.wait();
    assert!(pg.join("postmaster.pid").exists());

    // The next gateway adopts it, serves, and stops it on exit.
    let port_c = free_port();
    let mut c = serve(&pg, port_c);
    let health = http_get(port_c, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    signal(&c, "-TERM");
    assert!(c.wait().unwrap().success());
    assert!(
        !pg.join("postmaster.pid").exists(),
        "the adopted cluster was left running"
    );
}

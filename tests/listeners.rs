//! The listeners under hostile traffic (issue #11 rows 1, 3, 4): connection caps per listener and
//! per source, header/body/idle timeouts on the HTTP servers, read timeouts on the OSPP handler,
//! 413 at once for a declared body over the limit, and the admin port answering while IOTA and
//! OSPP are flooded. Real sockets on loopback; the only timing asserted is "before a generous
//! deadline".

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use otagw::config::Config;
use otagw::gateway::Gateway;
use otagw::testkit::TestDb;

/// How long anything asserted here may take.
const DEADLINE: Duration = Duration::from_secs(20);

fn config() -> Config {
    let mut c = common::loopback_config();
    c.ospp.enabled = true;
    c.ospp.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c
}

async fn start(c: &Config) -> (TestDb, Gateway) {
    let db = TestDb::new().await.unwrap();
    let gateway = Gateway::start(c, db.store.clone()).await.unwrap();
    (db, gateway)
}

fn ospp_addr(g: &Gateway) -> SocketAddr {
    g.ospp.as_ref().unwrap().addr()
}

/// Whether the server closes `s` (EOF or reset) before `deadline`, reading and discarding what
/// it sends first.
fn closed_by_server(s: &mut TcpStream, deadline: Duration) -> bool {
    let until = Instant::now() + deadline;
    let mut buf = [0u8; 4096];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left.min(Duration::from_millis(500))))
            .unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return true, // reset
        }
    }
}

/// Sends raw octets and returns the status of the answer, if one comes before the deadline.
fn raw_status(addr: SocketAddr, request: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()
}

/// Opens `n` connections from `source` to `addr` (they stay idle).
fn open_many(addr: SocketAddr, source: [u8; 4], n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let socket = socket2::Socket::new(
                socket2::Domain::IPV4,
                socket2::Type::STREAM,
                Some(socket2::Protocol::TCP),
            )
            .unwrap();
            socket.bind(&SocketAddr::from((source, 0)).into()).unwrap();
            socket.connect(&addr.into()).unwrap();
            socket.into()
        })
        .collect()
}

/// Of `conns`, how many the server has closed before the deadline (checked in parallel).
fn count_closed(conns: Vec<TcpStream>, deadline: Duration) -> usize {
    let handles: Vec<_> = conns
        .into_iter()
        .map(|mut s| std::thread::spawn(move || closed_by_server(&mut s, deadline)))
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|c| *c)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_of_iota_and_ospp_are_capped_and_the_admin_port_answers() {
    let mut c = config();
    c.iota.max_connections = 40;
    c.iota.max_connections_per_source = 20;
    c.ospp.max_connections = 16;
    c.ospp.max_connections_per_source = 8;
    let (_db, gateway) = start(&c).await;
    let (iota, ospp, admin) = (gateway.iota_addr, ospp_addr(&gateway), gateway.admin_addr);
    tokio::task::spawn_blocking(move || {
        // 200 idle connections to each of IOTA and OSPP from one source.
        let iota_flood = open_many(iota, [127, 0, 0, 1], 200);
        let ospp_flood = open_many(ospp, [127, 0, 0, 1], 200);
        // The admin port answers meanwhile.
        let (status, body) = common::get(admin, "/healthz");
        assert_eq!(status, 200, "{body}");
        // Another source still gets served by IOTA (the per-source cap, not the listener's).
        let mut other = open_many(iota, [127, 0, 0, 2], 1).remove(0);
        other
            .write_all(b"GET /no-such-path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        other.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut answer = String::new();
        let _ = other.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer:?}");
        // The connections over the per-source cap were closed at once (well before the header
        // and idle timeouts, 10 and 300 s here).
        let closed = count_closed(iota_flood, Duration::from_secs(5));
        assert!(
            closed >= 180,
            "IOTA closed {closed} of 200 (cap 20 per source)"
        );
        let closed = count_closed(ospp_flood, Duration::from_secs(5));
        assert!(
            closed >= 192,
            "OSPP closed {closed} of 200 (cap 8 per source)"
        );
        let (status, _) = common::get(admin, "/healthz");
        assert_eq!(status, 200);
    })
    .await
    .unwrap();
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_after_their_timeouts() {
    let mut c = config();
    c.iota.header_timeout = Duration::from_secs(1);
    c.http.header_timeout = Duration::from_secs(1);
    c.iota.body_timeout = Duration::from_secs(1);
    c.http.idle_timeout = Duration::from_secs(1);
    c.ospp.pdu_timeout = Duration::from_secs(1);
    c.ospp.idle_timeout = Duration::from_secs(2);
    let (_db, gateway) = start(&c).await;
    let (iota, ospp, admin) = (gateway.iota_addr, ospp_addr(&gateway), gateway.admin_addr);
    tokio::task::spawn_blocking(move || {
        // A connection that never sends a request, to each HTTP server.
        let mut idle = TcpStream::connect(iota).unwrap();
        assert!(
            closed_by_server(&mut idle, DEADLINE),
            "idle IOTA connection kept"
        );
        let mut idle = TcpStream::connect(admin).unwrap();
        assert!(
            closed_by_server(&mut idle, DEADLINE),
            "idle admin connection kept"
        );
        // Headers that never end.
        let mut slow = TcpStream::connect(iota).unwrap();
        slow.write_all(b"GET /iota/bootstrap HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
        assert!(
            closed_by_server(&mut slow, DEADLINE),
            "unfinished head kept"
        );
        // A body that stops coming: 408.
        let status = raw_status(
            iota,
            b"POST /iota/s/abc HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
        );
        assert_eq!(status, Some(408));
        // A kept-alive admin connection after its answer: closed.
        let mut kept = TcpStream::connect(admin).unwrap();
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert!(
            closed_by_server(&mut kept, DEADLINE),
            "kept-alive connection kept"
        );

        // OSPP: a PDU declaring 8,192 octets of which 100 come.
        let mut partial = TcpStream::connect(ospp).unwrap();
        let mut pdu = Vec::from(8192u32.to_be_bytes());
        pdu.extend_from_slice(&[0x00, 0x00, 0x00, 0x09]); // bind_transceiver
        pdu.extend(std::iter::repeat_n(0u8, 92));
        partial.write_all(&pdu).unwrap();
        assert!(closed_by_server(&mut partial, DEADLINE), "partial PDU kept");
        // OSPP: a connection that sends nothing.
        let mut silent = TcpStream::connect(ospp).unwrap();
        assert!(
            closed_by_server(&mut silent, DEADLINE),
            "silent OSPP connection kept"
        );
    })
    .await
    .unwrap();
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_body_over_the_limit_gets_413_at_once() {
    let c = config();
    let (_db, gateway) = start(&c).await;
    let (iota, admin) = (gateway.iota_addr, gateway.admin_addr);
    tokio::task::spawn_blocking(move || {
        for (addr, path) in [(iota, "/iota/s/abc"), (admin, "/api/v1/triggers/prl-push")] {
            let started = Instant::now();
            let request = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{{}}"
            );
            assert_eq!(raw_status(addr, request.as_bytes()), Some(413), "{path}");
            // Not after a timeout: the default timeouts are 10 s and more.
            assert!(started.elapsed() < Duration::from_secs(5), "{path}");
        }
        // A body just over the limit, sent whole without a declared length (chunked): 413 too.
        let chunk = vec![b'a'; 70 * 1024];
        let mut request =
            b"POST /iota/s/abc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec();
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n0\r\n\r\n");
        assert_eq!(raw_status(iota, &request), Some(413));
    })
    .await
    .unwrap();
    gateway.stop().await;
}

#[test]
fn listener_limits_are_range_checked() {
    for (var, value, key) in [
        ("OTAGW_HTTP_MAX_CONNECTIONS", "0", "http.max_connections"),
        (
            "OTAGW_IOTA_MAX_CONNECTIONS_PER_SOURCE",
            "100000",
            "iota.max_connections_per_source",
        ),
        (
            "OTAGW_IOTA_HEADER_TIMEOUT_SECS",
            "0",
            "iota.header_timeout_secs",
        ),
        ("OTAGW_HTTP_MAX_BODY_BYTES", "10", "http.max_body_bytes"),
        ("OTAGW_OSPP_PDU_TIMEOUT_SECS", "0", "ospp.pdu_timeout_secs"),
        ("OTAGW_OSPP_MAX_CONNECTIONS", "0", "ospp.max_connections"),
    ] {
        let err = Config::load(None, [(var.to_string(), value.to_string())]).unwrap_err();
        assert!(err.to_string().contains(key), "{var}={value}: {err}");
    }
}

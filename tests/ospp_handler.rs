//! The OSPP handler end to end: the IVR simulator binds to the gateway's SMPP server, sends OSPP
//! requests in submit_sm and gets the replies as deliver_sm; the PRL download runs through the
//! real driver, outbox, SMSC simulator and handset simulator against a real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::handset_follows_pushes;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use otagw::gateway::Gateway;
use otagw::ospp_handler::{OsppConfig, OsppHandler, OsppHandlerHandle};
use otagw::store::models::Profile;
use otagw::store::profiles::{self, Lookup};
use otagw::store::Store;
use otagw::testkit::TestDb;
use otagw_codecs::identity::DeviceId;
use otagw_codecs::ospp::{self, Reply, Request, Subscriber};
use otagw_sim::handset::iota::SessionOutcome;
use otagw_sim::handset::model::{Handset, HandsetConfig};
use otagw_sim::ivr::{Ivr, IvrError, GATEWAY_ADDRESS, IVR_ADDRESS};
use otagw_sim::smsc::SmscHandle;
use tokio::sync::Mutex;

const ESN: &str = "1A2B3C4D";
const MDN: &str = "6195550101";
const WAIT: Duration = Duration::from_secs(30);

struct Lab {
    db: TestDb,
    gateway: Gateway,
    handler: OsppHandlerHandle,
    profile: Profile,
    smsc: SmscHandle,
}

impl Lab {
    async fn ivr(&self) -> Ivr {
        Ivr::connect(self.handler.addr(), "ivr", "ivrpw")
            .await
            .unwrap()
    }

    async fn stop(self) {
        self.handler.stop().await;
        self.gateway.stop().await;
    }
}

async fn lab() -> Lab {
    let (db, mut profiles) = common::db_with(60, &[common::activated(ESN, MDN, MDN)]).await;
    let profile = profiles.remove(0);
    let mut c = common::loopback_config();
    let smsc = common::simulated_smsc(&mut c).await;
    let gateway = common::gateway_bound(&c, db.store.clone()).await;
    // The tool's account, in the store: both SMPP roles, so every protocol ID.
    {
        let mut conn = db.store.conn().await.unwrap();
        let hash = otagw::access::password::hash("ivrpw").unwrap();
        otagw::store::accounts::create(
            &mut conn,
            "ivr",
            &[otagw::access::Role::Ivr, otagw::access::Role::OtapTool],
            Some(&hash),
            "tests",
        )
        .await
        .unwrap();
    }
    let handler = OsppHandler::start(
        OsppConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            poll_interval: Duration::from_millis(100),
            ..OsppConfig::default()
        },
        gateway.driver.clone(),
        db.store.clone(),
    )
    .await
    .unwrap();
    Lab {
        db,
        gateway,
        handler,
        profile,
        smsc,
    }
}

async fn session_count(store: &Store) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use otagw::store::schema::ota_sessions::dsl::*;
    let mut conn = store.conn().await.unwrap();
    ota_sessions.count().get_result(&mut conn).await.unwrap()
}

async fn reload(store: &Store, id: i64) -> Profile {
    let mut conn = store.conn().await.unwrap();
    profiles::find(&mut conn, &Lookup::Id(id)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binds_and_bad_requests_are_refused_and_start_nothing() {
    let lab = lab().await;
    // Wrong password, unknown system_id: one code for both (issue #10: ESME_RBINDFAIL, where
    // ESME_RINVPASWD and ESME_RINVSYSID told an outsider which system_ids exist).
    match Ivr::connect(lab.handler.addr(), "ivr", "nope").await {
        Err(IvrError::BindRefused { status }) => assert_eq!(status, 0x0D),
        other => panic!("{other:?}"),
    }
    match Ivr::connect(lab.handler.addr(), "stranger", "ivrpw").await {
        Err(IvrError::BindRefused { status }) => assert_eq!(status, 0x0D),
        other => panic!("{other:?}"),
    }

    // submit_sm before any bind: ESME_RINVBNDSTS; enquire_link is answered.
    let tcp = tokio::net::TcpStream::connect(lab.handler.addr())
        .await
        .unwrap();
    let mut raw = tokio_util::codec::Framed::new(tcp, rusmpp::tokio_codec::CommandCodec::new());
    raw.send(rusmpp::Command::new(
        rusmpp::CommandStatus::EsmeRok,
        1,
        rusmpp::Pdu::EnquireLink,
    ))
    .await
    .unwrap();
    let resp = raw.next().await.unwrap().unwrap();
    assert_eq!(resp.id(), rusmpp::CommandId::EnquireLinkResp);
    // An enquire_link carrying a body (a TLV, which SMPP does not define there) is answered and
    // the link stays in step: the submit_sm after it is read as such.
    {
        use tokio::io::AsyncWriteExt;
        const ENQUIRE_LINK_WITH_TLV: [u8; 21] = [
            0, 0, 0, 21, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 7, 0x04, 0x28, 0, 1, 50,
        ];
        raw.get_mut()
            .write_all(&ENQUIRE_LINK_WITH_TLV)
            .await
            .unwrap();
    }
    let resp = raw.next().await.unwrap().unwrap();
    assert_eq!(resp.id(), rusmpp::CommandId::EnquireLinkResp);
    assert_eq!(resp.sequence_number(), 7);
    let sm = rusmpp::pdus::SubmitSm::builder()
        .protocol_id(0x7D)
        .short_message(
            rusmpp::types::OctetString::from_vec(b"OSPP/1 STATUS tref=1 ref=1".to_vec()).unwrap(),
        )
        .build();
    raw.send(rusmpp::Command::new(rusmpp::CommandStatus::EsmeRok, 2, sm))
        .await
        .unwrap();
    let resp = raw.next().await.unwrap().unwrap();
    assert_eq!(resp.id(), rusmpp::CommandId::SubmitSmResp);
    assert_eq!(u32::from(resp.status()), 0x04);
    drop(raw);

    let mut ivr = lab.ivr().await;
    // Not OSPP: ESME_RSUBMITFAIL; empty: ESME_RINVMSGLEN; unknown PID: ESME_RSUBMITFAIL.
    for (pid, text, want) in [
        (0x7C, &b"hello there"[..], ospp::status::INVALID),
        (0x7C, b"OSPP/1 START tref=1 prl=2", ospp::status::INVALID),
        (
            0x7D,
            b"OSPP/1 START tref=1 trn=5550001",
            ospp::status::INVALID,
        ),
        (0x10, b"OSPP/1 STATUS tref=1 ref=1", ospp::status::INVALID),
        (0x7A, b"", ospp::status::EMPTY),
    ] {
        match ivr.submit_raw(pid, text).await {
            Err(IvrError::Refused { status }) => assert_eq!(status, want, "{pid:#x} {text:?}"),
            other => panic!("{pid:#x} {text:?}: {other:?}"),
        }
    }
    assert!(ivr
        .next_delivery(Duration::from_millis(500))
        .await
        .is_none());
    assert_eq!(session_count(&lab.db.store).await, 0);
    assert!(lab.smsc.messages().is_empty());
    ivr.unbind().await;
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prl_download_is_accepted_reported_and_queryable() {
    let lab = lab().await;
    let handset = Arc::new(Mutex::new(
        Handset::new({
            let mut c = HandsetConfig::new(DeviceId::Esn(ESN.parse().unwrap()));
            c.sspr_p_rev = 1;
            c
        })
        .unwrap(),
    ));
    let follower = handset_follows_pushes(&lab.smsc, MDN, handset.clone());
    let mut ivr = lab.ivr().await;

    // An unknown PRL: REJECTED, nothing started.
    let ticket = ivr.prl_push(9, MDN.parse().unwrap()).await.unwrap();
    match ivr.next_reply(WAIT).await.unwrap() {
        Reply::Rejected { tref, cause, .. } => {
            assert_eq!(tref, ticket.tref);
            assert_eq!(cause, "unknown-prl");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(session_count(&lab.db.store).await, 0);

    // PRL 2: ACCEPTED with the session, the handset follows the push, RESULT success.
    let ticket = ivr.prl_push(2, MDN.parse().unwrap()).await.unwrap();
    assert_eq!(ticket.protocol_id, 0x7C);
    assert!(!ticket.message_id.is_empty());
    let accepted = ivr.next_delivery(WAIT).await.unwrap();
    assert_eq!(accepted.protocol_id, 0x7C);
    assert_eq!(accepted.esm_class, 0x00);
    assert_eq!(accepted.data_coding, 0x01);
    assert_eq!(accepted.source, GATEWAY_ADDRESS);
    assert_eq!(accepted.destination, IVR_ADDRESS);
    let reference = match accepted.reply().unwrap() {
        Reply::Accepted { tref, reference } => {
            assert_eq!(tref, ticket.tref);
            reference
        }
        other => panic!("{other:?}"),
    };
    let session_id: i64 = reference.parse().unwrap();

    let outcome = tokio::time::timeout(WAIT, follower)
        .await
        .expect("the handset followed the push")
        .unwrap()
        .expect("the IOTA session ran");
    assert!(
        matches!(outcome, SessionOutcome::Terminated { .. }),
        "{outcome:?}"
    );
    let result = ivr.next_delivery(WAIT).await.unwrap();
    assert_eq!(result.protocol_id, 0x7C);
    assert_eq!(
        result.reply().unwrap(),
        Reply::Result {
            tref: ticket.tref.clone(),
            reference: reference.clone(),
            success: true,
            cause: None,
            detail: None,
        }
    );
    let after = reload(&lab.db.store, lab.profile.id).await;
    assert_eq!(after.prl_id, Some(2));
    assert_eq!(after.pending_prl_id, None);

    // STATUS of the session: RESULT; of no session: REJECTED unknown-ref.
    let status = ivr.status(&reference).await.unwrap();
    let answer = ivr.next_delivery(WAIT).await.unwrap();
    assert_eq!(answer.protocol_id, 0x7D);
    assert_eq!(
        answer.reply().unwrap(),
        Reply::Result {
            tref: status.tref,
            reference: session_id.to_string(),
            success: true,
            cause: None,
            detail: None,
        }
    );
    ivr.status("999999").await.unwrap();
    match ivr.next_reply(WAIT).await.unwrap() {
        Reply::Rejected { cause, .. } => assert_eq!(cause, "unknown-ref"),
        other => panic!("{other:?}"),
    }
    ivr.unbind().await;
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn star_code_without_ss7_and_ivr_activation_are_rejected() {
    let lab = lab().await;
    let mut ivr = lab.ivr().await;
    let ticket = ivr.star_code("5550001").await.unwrap();
    assert_eq!(ticket.protocol_id, 0x7A);
    let d = ivr.next_delivery(WAIT).await.unwrap();
    assert_eq!(d.protocol_id, 0x7A);
    match d.reply().unwrap() {
        Reply::Rejected { tref, cause, .. } => {
            assert_eq!(tref, ticket.tref);
            assert_eq!(cause, "ss7-disabled");
        }
        other => panic!("{other:?}"),
    }

    let ticket = ivr
        .request_with_pid(
            0x7B,
            Request::StartActivation {
                tref: "ivr-b".into(),
                subscriber: Subscriber::Esn(ESN.parse().unwrap()),
            },
        )
        .await
        .unwrap();
    assert_eq!(ticket.protocol_id, 0x7B);
    let d = ivr.next_delivery(WAIT).await.unwrap();
    assert_eq!(d.protocol_id, 0x7B);
    match d.reply().unwrap() {
        Reply::Rejected { tref, cause, .. } => {
            assert_eq!(tref, "ivr-b");
            assert_eq!(
                cause, "bad-request",
                "an IVR-assisted activation names the call by trn"
            );
        }
        other => panic!("{other:?}"),
    }
    ivr.request_with_pid(
        0x7B,
        Request::StartActivation {
            tref: "ivr-c".into(),
            subscriber: Subscriber::Trn("5550001".into()),
        },
    )
    .await
    .unwrap();
    let d = ivr.next_delivery(WAIT).await.unwrap();
    match d.reply().unwrap() {
        Reply::Rejected { tref, cause, .. } => {
            assert_eq!(tref, "ivr-c");
            assert_eq!(cause, "ss7-disabled", "the TRN attach needs SS7");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(session_count(&lab.db.store).await, 0);
    ivr.unbind().await;
    lab.stop().await;
}

/// Issue #10's OSPP door: accounts from the store limited to their role's protocol IDs, a
/// disabled account refused, failed binds from one address slowed down, triggers audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_limited_to_their_protocol_ids_and_failed_binds_slow_down() {
    let lab = lab().await;
    {
        let mut conn = lab.db.store.conn().await.unwrap();
        let hash = otagw::access::password::hash("toolpw").unwrap();
        otagw::store::accounts::create(
            &mut conn,
            "tool",
            &[otagw::access::Role::Ivr],
            Some(&hash),
            "tests",
        )
        .await
        .unwrap();
    }
    // An ivr account may not start a PRL download (0x7C): refused, nothing started.
    let tool = Ivr::connect(lab.handler.addr(), "tool", "toolpw")
        .await
        .unwrap();
    match tool.prl_push(2, MDN.parse().unwrap()).await {
        Err(IvrError::Refused { status }) => assert_eq!(status, 0x65),
        other => panic!("{other:?}"),
    }
    // ... but may ask for a status (0x7D).
    tool.status("1").await.unwrap();
    assert_eq!(session_count(&lab.db.store).await, 0);
    tool.unbind().await;

    // Disabled: refused like a wrong password.
    {
        let mut conn = lab.db.store.conn().await.unwrap();
        otagw::store::accounts::disable(&mut conn, "tool")
            .await
            .unwrap();
    }
    let started = std::time::Instant::now();
    for _ in 0..4 {
        match Ivr::connect(lab.handler.addr(), "tool", "toolpw").await {
            Err(IvrError::BindRefused { status }) => assert_eq!(status, 0x0D),
            other => panic!("{other:?}"),
        }
    }
    // 4 failures: the 2nd, 3rd and 4th binds waited 250 + 500 + 1000 ms.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1750), "{took:?}");

    // A PRL download by the account allowed to: audited with the account.
    let ivr = lab.ivr().await;
    let _ = ivr.prl_push(9, MDN.parse().unwrap()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut conn = lab.db.store.conn().await.unwrap();
    let rows = otagw::store::operator_audit::list(&mut conn, Some("ivr"), 10)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .any(|r| r.door == "ospp" && r.action.contains("prl")),
        "{rows:?}"
    );
    drop(conn);
    ivr.unbind().await;
    lab.stop().await;
}

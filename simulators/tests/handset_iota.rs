//! The handset simulator's IOTA client against a scripted gateway over real HTTP/1.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use otagw_codecs::identity::{DeviceId, Esn, Meid};
use otagw_codecs::is683::{
    DownloadRequest, ForwardMessage, Mdn, NamDownloadBlock, ProtocolCapabilityRequest, ResultCode,
    ReverseMessage, Spc, SsprDownloadRequest, ValidationBlock, ValidationRequest,
};
use otagw_codecs::mmc::{self, Direction, MmcBody, MmcDocument, TerminateAction};
use otagw_codecs::prl::segment::segment;
use otagw_codecs::prl::{Prl, PrlFormat};
use otagw_sim::handset::{
    run_session, Handset, HandsetConfig, IotaClientError, NetFaults, SessionOutcome,
};
use tokio::net::TcpListener;

const LAB_PRL: &[u8] = include_bytes!("../../docs/examples/lab.prl");
const TOKEN: &str = "dGVzdC1zZXNzaW9uLXRva2VuLTAwMDAwMDAw";

/// What the scripted gateway does.
#[derive(Default)]
struct Gateway {
    /// One forward message per document, then terminate reboot.
    script: Vec<ForwardMessage>,
    /// Refuse the bootstrap with this status and code.
    refuse_bootstrap: Option<(u16, &'static str)>,
    /// Answer a repeated POST differently (a broken gateway).
    vary_on_repeat: bool,
    /// Identity headers seen on the bootstrap GET.
    identity: Vec<(String, String)>,
    /// Every POSTed document, in order.
    posts: Vec<MmcDocument>,
    /// Answers already given, by seq.
    answered: HashMap<u32, String>,
}

fn reply(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", mmc::CONTENT_TYPE)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn document(gw: &Gateway, seq: u32) -> String {
    match gw.script.get(seq as usize - 1) {
        Some(m) => MmcDocument::forward(
            TOKEN,
            seq,
            &format!("/iota/s/{TOKEN}"),
            vec![m.encode().unwrap()],
        )
        .encode(),
        None => MmcDocument::terminate(TOKEN, seq, TerminateAction::Reboot).encode(),
    }
}

async fn serve(
    gw: Arc<Mutex<Gateway>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter(|(n, _)| n.as_str().starts_with("x-device-"))
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let mut gw = gw.lock().unwrap();
    if method == Method::GET && path == "/iota/bootstrap" {
        gw.identity = headers;
        if let Some((status, code)) = gw.refuse_bootstrap {
            return Ok(reply(
                status,
                MmcDocument::error(code, "no profile for this device").encode(),
            ));
        }
        return Ok(reply(200, document(&gw, 1)));
    }
    if method == Method::POST && path == format!("/iota/s/{TOKEN}") {
        let doc = MmcDocument::decode(&body).unwrap();
        assert_eq!(doc.session.as_deref(), Some(TOKEN));
        let seq = doc.seq.unwrap();
        gw.posts.push(doc);
        if let Some(previous) = gw.answered.get(&seq).cloned() {
            let again = if gw.vary_on_repeat {
                previous.replace("<mmc ", "<mmc x=\"1\" ")
            } else {
                previous
            };
            return Ok(reply(200, again));
        }
        let answer = document(&gw, seq + 1);
        gw.answered.insert(seq, answer.clone());
        return Ok(reply(200, answer));
    }
    Ok(reply(
        StatusCode::NOT_FOUND.as_u16(),
        MmcDocument::error(mmc::error_code::UNKNOWN_SESSION, "no such session").encode(),
    ))
}

async fn start(gw: Gateway) -> (String, Arc<Mutex<Gateway>>) {
    let gw = Arc::new(Mutex::new(gw));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let state = gw.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let state = state.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| serve(state.clone(), req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}/iota/bootstrap"), gw)
}

fn prl_block_id() -> u8 {
    match Prl::decode(LAB_PRL, None).unwrap().format() {
        PrlFormat::Classic => 0,
        PrlFormat::Extended => 1,
    }
}

/// A one-button activation: capability, SPC, NAM, the PRL in 16-octet segments, commit.
fn activation_script() -> Vec<ForwardMessage> {
    let mut script = vec![
        ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest { query: None }),
        ForwardMessage::Validation(ValidationRequest {
            blocks: vec![ValidationBlock::VerifySpc(Spc::new("246810").unwrap())],
        }),
        ForwardMessage::Download(DownloadRequest {
            blocks: vec![NamDownloadBlock::Mdn(Mdn::new("5551230000").unwrap())],
            fresh: None,
        }),
    ];
    for s in segment(LAB_PRL, 16).unwrap() {
        script.push(ForwardMessage::SsprDownload(SsprDownloadRequest {
            block_id: prl_block_id(),
            last_segment: s.last,
            segment_offset: s.offset,
            segment_data: s.data,
            fresh: None,
        }));
    }
    script.push(ForwardMessage::Commit);
    script
}

fn handset(device: DeviceId) -> Handset {
    let mut cfg = HandsetConfig::new(device);
    cfg.sspr_p_rev = if prl_block_id() == 1 { 3 } else { 1 };
    cfg.spc = "246810".into();
    cfg.locked = true;
    Handset::new(cfg).unwrap()
}

fn esn() -> DeviceId {
    DeviceId::Esn(Esn::new(0x1A2B_3C4D))
}

#[tokio::test]
async fn activation_runs_to_reboot() {
    let script = activation_script();
    let n = script.len();
    let (url, gw) = start(Gateway {
        script,
        ..Gateway::default()
    })
    .await;
    let mut h = handset(esn());
    let outcome = run_session(&url, &mut h, NetFaults::default())
        .await
        .unwrap();

    assert!(outcome.is_rebooted(), "{outcome:?}");
    assert_eq!(outcome.documents(), n + 1);
    assert_eq!(outcome.trace().len(), 2 * n);
    assert_eq!(h.reboots(), 1);
    assert_eq!(h.committed_prl(), Some(LAB_PRL));
    assert_eq!(
        h.committed_nam().get(&1),
        Some(&NamDownloadBlock::Mdn(Mdn::new("5551230000").unwrap()))
    );

    let gw = gw.lock().unwrap();
    assert_eq!(
        gw.identity,
        vec![("x-device-esn".to_owned(), "1A2B3C4D".to_owned())]
    );
    assert_eq!(gw.posts.len(), n);
    for (i, post) in gw.posts.iter().enumerate() {
        assert_eq!(post.seq, Some(i as u32 + 1));
        let MmcBody::Messages {
            direction,
            messages,
        } = &post.body
        else {
            panic!("{post:?}")
        };
        assert_eq!(*direction, Direction::Reverse);
        assert_eq!(messages.len(), 1);
        let rev = ReverseMessage::decode(&messages[0]).unwrap();
        assert_eq!(rev.message_type(), gw.script[i].message_type());
        if let Some(r) = rev.result() {
            assert_eq!(r, ResultCode::Accepted, "answer to document {}", i + 1);
        }
    }
    // The trace alternates forward request, reverse answer.
    for pair in outcome.trace().chunks(2) {
        assert_eq!(pair[0].direction, Direction::Forward);
        assert_eq!(pair[1].direction, Direction::Reverse);
    }
}

#[tokio::test]
async fn meid_handset_sends_the_meid_header() {
    let meid: Meid = "A0000012345678".parse().unwrap();
    let (url, gw) = start(Gateway {
        script: vec![ForwardMessage::Commit],
        ..Gateway::default()
    })
    .await;
    let mut h = handset(DeviceId::Meid(meid));
    let outcome = run_session(&url, &mut h, NetFaults::default())
        .await
        .unwrap();
    assert!(outcome.is_rebooted());
    assert_eq!(
        gw.lock().unwrap().identity,
        vec![("x-device-meid".to_owned(), "A0000012345678".to_owned())]
    );
}

#[tokio::test]
async fn every_post_retransmitted_gets_the_same_answer() {
    let script = activation_script();
    let n = script.len();
    let (url, gw) = start(Gateway {
        script,
        ..Gateway::default()
    })
    .await;
    let mut h = handset(esn());
    let net = NetFaults {
        retransmit_each_post: true,
        ..NetFaults::default()
    };
    let outcome = run_session(&url, &mut h, net).await.unwrap();
    assert!(outcome.is_rebooted());
    assert_eq!(gw.lock().unwrap().posts.len(), 2 * n);
    assert_eq!(h.committed_prl(), Some(LAB_PRL));
}

#[tokio::test]
async fn a_different_answer_to_a_retransmission_is_an_error() {
    let (url, _gw) = start(Gateway {
        script: activation_script(),
        vary_on_repeat: true,
        ..Gateway::default()
    })
    .await;
    let mut h = handset(esn());
    let net = NetFaults {
        retransmit_each_post: true,
        ..NetFaults::default()
    };
    let err = run_session(&url, &mut h, net).await.unwrap_err();
    assert!(
        matches!(err, IotaClientError::RetransmitMismatch { seq: 1, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn dropped_call_leaves_the_document_unanswered() {
    let (url, gw) = start(Gateway {
        script: activation_script(),
        ..Gateway::default()
    })
    .await;
    let mut h = handset(esn());
    let net = NetFaults {
        drop_after_documents: Some(3),
        ..NetFaults::default()
    };
    let outcome = run_session(&url, &mut h, net).await.unwrap();
    let SessionOutcome::Dropped { documents, trace } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(*documents, 3);
    assert_eq!(trace.len(), 4);
    assert_eq!(gw.lock().unwrap().posts.len(), 2);
    assert_eq!(h.reboots(), 0);
    assert!(
        h.temporary_nam().is_empty(),
        "the NAM download was never processed"
    );
}

#[tokio::test]
async fn refused_bootstrap() {
    let (url, _gw) = start(Gateway {
        refuse_bootstrap: Some((404, mmc::error_code::UNKNOWN_DEVICE)),
        ..Gateway::default()
    })
    .await;
    let mut h = handset(esn());
    let outcome = run_session(&url, &mut h, NetFaults::default())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        SessionOutcome::Refused {
            status: 404,
            code: "unknown-device".into(),
            reason: "no profile for this device".into(),
            documents: 1,
            trace: Vec::new(),
        }
    );
}

#[tokio::test]
async fn wrong_path_is_refused_with_the_gateway_error() {
    let (url, _gw) = start(Gateway::default()).await;
    let url = url.replace("/iota/bootstrap", "/nowhere");
    let mut h = handset(esn());
    let outcome = run_session(&url, &mut h, NetFaults::default())
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        SessionOutcome::Refused { status: 404, .. }
    ));
}

#[tokio::test]
async fn slow_handset_still_completes() {
    let (url, _gw) = start(Gateway {
        script: vec![
            ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest { query: None }),
            ForwardMessage::Commit,
        ],
        ..Gateway::default()
    })
    .await;
    let mut h = handset(esn());
    let net = NetFaults {
        delay_per_request: Some(Duration::from_millis(40)),
        ..NetFaults::default()
    };
    let t0 = Instant::now();
    let outcome = run_session(&url, &mut h, net).await.unwrap();
    assert!(outcome.is_rebooted());
    // Three requests: the GET and two POSTs.
    assert!(t0.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut h = handset(esn());
    let err = run_session(
        &format!("http://{addr}/iota/bootstrap"),
        &mut h,
        NetFaults::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IotaClientError::Connect { .. }), "{err}");
}

//! Every transition of the plan engine, failures included.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use otagw_codecs::is683::{
    BlockResult, BlockResults, DownloadRequest, Feature, ForwardMessage, Mdn, NamDownloadBlock,
    OtapaResponse, ProtocolCapabilityResponse, ResultCode, ReverseMessage, SsprDownloadResponse,
};

use super::plan::*;

fn programme(classic: Option<usize>, extended: Option<usize>) -> Programme {
    let nam = ForwardMessage::Download(DownloadRequest {
        blocks: vec![NamDownloadBlock::Mdn(Mdn::new("6195551234").unwrap())],
        fresh: None,
    })
    .encode()
    .unwrap();
    Programme {
        nam_download: Some(nam),
        prl_classic: classic.map(|n| (0..n).map(|i| i as u8).collect()),
        prl_extended: extended.map(|n| (0..n).map(|i| (i * 7) as u8).collect()),
        spc: Some("123456".into()),
        segment_size: 100,
        kind: PlanKind::Activation,
        sspr_p_rev: None,
        spasm: None,
    }
}

fn prl_download(classic: usize, sspr_p_rev: Option<u8>) -> Programme {
    Programme {
        nam_download: None,
        prl_classic: Some((0..classic).map(|i| i as u8).collect()),
        prl_extended: None,
        spc: None,
        segment_size: 100,
        kind: PlanKind::PrlDownload,
        sspr_p_rev,
        spasm: None,
    }
}

fn otapa_result(code: u8, locked: bool) -> Event {
    Event::Response(ReverseMessage::Otapa(OtapaResponse {
        result: ResultCode::from(code),
        rand_otapa: locked.then_some(0x1234_5678),
    }))
}

fn capability(sspr_p_rev: u8) -> Event {
    Event::Response(ReverseMessage::ProtocolCapability(
        ProtocolCapabilityResponse {
            mob_firm_rev: 1,
            mob_model: 2,
            features: vec![
                Feature {
                    feature_id: Feature::NAM_DOWNLOAD,
                    feature_p_rev: 2,
                },
                Feature {
                    feature_id: Feature::SSPR,
                    feature_p_rev: sspr_p_rev,
                },
            ],
            additional_fields: vec![],
        },
    ))
}

fn block_results(block_id: u8, code: u8) -> BlockResults {
    BlockResults {
        results: vec![BlockResult {
            block_id,
            result: ResultCode::from(code),
        }],
    }
}

fn nam_result(code: u8) -> Event {
    Event::Response(ReverseMessage::Download(block_results(1, code)))
}

fn validation_result(code: u8) -> Event {
    Event::Response(ReverseMessage::Validation(block_results(0, code)))
}

fn commit_result(code: u8) -> Event {
    Event::Response(ReverseMessage::Commit(ResultCode::from(code)))
}

/// The answer a well-behaved handset gives to the SSPR Download Request just sent.
fn sspr_answer(sent: &[Command], code: u8) -> Event {
    let Some(Command::Send(ForwardMessage::SsprDownload(req))) = sent.last() else {
        panic!("expected an SSPR Download Request, got {sent:?}");
    };
    Event::Response(ReverseMessage::SsprDownload(SsprDownloadResponse {
        block_id: req.block_id,
        result: ResultCode::from(code),
        segment_offset: req.segment_offset,
        segment_size: req.segment_data.len() as u8,
    }))
}

fn run(state: &PlanState, event: Event) -> (PlanState, Vec<Command>) {
    step(state, event).unwrap()
}

fn sent_type(cmds: &[Command]) -> &'static str {
    match cmds {
        [Command::Send(m)] => m.message_type().name(),
        [.., Command::Finish(_)] => "finish",
        other => panic!("unexpected commands {other:?}"),
    }
}

/// Start -> capability -> NAM accepted: returns the state with the first SSPR segment sent.
fn to_sspr(p: Programme, sspr_p_rev: u8) -> (PlanState, Vec<Command>) {
    let s = PlanState::new(p);
    let (s, c) = run(&s, Event::Start);
    assert_eq!(sent_type(&c), "Protocol Capability");
    let (s, c) = run(&s, capability(sspr_p_rev));
    assert_eq!(sent_type(&c), "Download");
    run(&s, nam_result(0))
}

/// The plan closed the OTAPA session (an OTAPA stop was sent); the handset answers it and the
/// outcome follows.
fn after_stop(state: &PlanState, cmds: &[Command]) -> Outcome {
    let [Command::Send(ForwardMessage::Otapa(req))] = cmds else {
        panic!("expected an OTAPA stop, got {cmds:?}")
    };
    assert!(!req.start);
    let (_, c) = run(state, otapa_result(0, false));
    outcome(&c)
}

fn outcome(cmds: &[Command]) -> Outcome {
    match cmds {
        [.., Command::Finish(o)] => o.clone(),
        other => panic!("expected Finish, got {other:?}"),
    }
}

#[test]
fn full_success_sends_every_segment_then_commits() {
    let (mut s, mut c) = to_sspr(programme(Some(250), None), 1);
    let mut offsets = Vec::new();
    while let [Command::Send(ForwardMessage::SsprDownload(req))] = c.as_slice() {
        offsets.push((req.segment_offset, req.segment_data.len(), req.last_segment));
        let ev = sspr_answer(&c, 0);
        (s, c) = run(&s, ev);
    }
    assert_eq!(
        offsets,
        vec![(0, 100, false), (100, 100, false), (200, 50, true)]
    );
    assert_eq!(sent_type(&c), "Commit");
    let (s, c) = run(&s, commit_result(0));
    assert_eq!(outcome(&c), Outcome::Success);
    assert!(s.is_finished());
    // capability, NAM, 3 segments, commit: 6 requests and 6 responses.
    assert_eq!(s.messages, 12);
    assert_eq!(step(&s, commit_result(0)), Err(StepError::Ended));
}

#[test]
fn sspr_p_rev_picks_the_format_and_35_switches_once() {
    let (_, c) = to_sspr(programme(Some(10), Some(20)), 3);
    let Command::Send(ForwardMessage::SsprDownload(req)) = &c[0] else {
        panic!()
    };
    assert_eq!(req.block_id, SSPR_BLOCK_EXTENDED_PRL);

    let (s, c) = to_sspr(programme(Some(10), Some(20)), 1);
    let Command::Send(ForwardMessage::SsprDownload(req)) = &c[0] else {
        panic!()
    };
    assert_eq!(req.block_id, SSPR_BLOCK_PRL);
    // The handset says "format mismatch": the extended PRL is sent from offset 0.
    let ev = sspr_answer(&c, 35);
    let (s, c) = run(&s, ev);
    let Command::Send(ForwardMessage::SsprDownload(req)) = &c[0] else {
        panic!()
    };
    assert_eq!(
        (req.block_id, req.segment_offset),
        (SSPR_BLOCK_EXTENDED_PRL, 0)
    );
    // Again: no third format.
    let ev = sspr_answer(&c, 35);
    let (_, c) = run(&s, ev);
    assert_eq!(outcome(&c), Outcome::Failure(Cause::PrlFormatUnavailable));
}

#[test]
fn only_one_format_and_a_mismatch_fails() {
    let (s, c) = to_sspr(programme(Some(10), None), 3);
    let Command::Send(ForwardMessage::SsprDownload(req)) = &c[0] else {
        panic!()
    };
    assert_eq!(
        req.block_id, SSPR_BLOCK_PRL,
        "falls back to the format we have"
    );
    let ev = sspr_answer(&c, 35);
    let (_, c) = run(&s, ev);
    assert_eq!(outcome(&c), Outcome::Failure(Cause::PrlFormatUnavailable));
}

#[test]
fn prl_crc_and_size_errors_fail_with_their_cause() {
    for (code, cause) in [
        (9, Cause::PrlCrcError),
        (8, Cause::PrlSizeMismatch),
        (4, Cause::PrlRejected { result: 4 }),
    ] {
        let (s, c) = to_sspr(programme(Some(10), None), 1);
        let ev = sspr_answer(&c, code);
        let (s, c) = run(&s, ev);
        assert_eq!(outcome(&c), Outcome::Failure(cause));
        assert!(s.is_finished());
    }
}

#[test]
fn nam_block_rejection_fails_and_unknown_rejection_is_retried() {
    let s = PlanState::new(programme(Some(10), None));
    let (s, _) = run(&s, Event::Start);
    let (s, _) = run(&s, capability(1));
    let (s, c) = run(&s, nam_result(4));
    assert_eq!(
        outcome(&c),
        Outcome::Failure(Cause::NamRejected {
            block_id: 1,
            result: 4
        })
    );
    assert!(s.is_finished());

    let s = PlanState::new(programme(Some(10), None));
    let (s, _) = run(&s, Event::Start);
    let (mut s, _) = run(&s, capability(1));
    for _ in 0..MAX_RETRIES {
        let (n, c) = run(&s, nam_result(1));
        assert_eq!(sent_type(&c), "Download", "retried");
        s = n;
    }
    let (_, c) = run(&s, nam_result(1));
    assert_eq!(
        outcome(&c),
        Outcome::Failure(Cause::NamRejected {
            block_id: 1,
            result: 1
        })
    );
}

#[test]
fn a_locked_handset_is_validated_then_the_step_resumes() {
    let s = PlanState::new(programme(Some(10), None));
    let (s, _) = run(&s, Event::Start);
    let (s, _) = run(&s, capability(1));
    let (s, c) = run(&s, nam_result(10));
    let [Command::Send(ForwardMessage::Validation(v))] = c.as_slice() else {
        panic!("{c:?}")
    };
    assert_eq!(v.blocks.len(), 1);
    let (s, c) = run(&s, validation_result(0));
    assert_eq!(sent_type(&c), "Download", "NAM download resumes");
    assert!(s.validated);
    // Still locked after a good validation: give up.
    let (_, c) = run(&s, nam_result(10));
    assert_eq!(outcome(&c), Outcome::Failure(Cause::MsLocked));
}

#[test]
fn a_wrong_spc_or_no_spc_fails() {
    let s = PlanState::new(programme(Some(10), None));
    let (s, _) = run(&s, Event::Start);
    let (s, _) = run(&s, capability(1));
    let (s, _) = run(&s, nam_result(10));
    let (_, c) = run(&s, validation_result(11));
    assert_eq!(
        outcome(&c),
        Outcome::Failure(Cause::SpcRejected { result: 11 })
    );

    let mut p = programme(Some(10), None);
    p.spc = None;
    let s = PlanState::new(p);
    let (s, _) = run(&s, Event::Start);
    let (s, _) = run(&s, capability(1));
    let (_, c) = run(&s, nam_result(10));
    assert_eq!(outcome(&c), Outcome::Failure(Cause::MsLocked));
}

#[test]
fn commit_rejection_and_locked_commit() {
    let (mut s, mut c) = to_sspr(programme(Some(10), None), 1);
    let ev = sspr_answer(&c, 0);
    (s, c) = run(&s, ev);
    assert_eq!(sent_type(&c), "Commit");
    let (_, c2) = run(&s, commit_result(1));
    assert_eq!(sent_type(&c2), "Commit", "unknown rejection retried");
    let (_, c2) = run(&s, commit_result(6));
    assert_eq!(
        outcome(&c2),
        Outcome::Failure(Cause::CommitRejected { result: 6 })
    );
    let (s2, c2) = run(&s, commit_result(10));
    assert_eq!(sent_type(&c2), "Validation");
    let (_, c2) = run(&s2, validation_result(0));
    assert_eq!(sent_type(&c2), "Commit", "commit resumes after validation");
}

#[test]
fn timeout_ends_any_open_phase() {
    let s = PlanState::new(programme(Some(10), None));
    let (_, c) = run(&s, Event::Timeout);
    assert_eq!(outcome(&c), Outcome::Failure(Cause::Timeout));
    let (s, _) = to_sspr(programme(Some(10), None), 1);
    let (s, c) = run(&s, Event::Timeout);
    assert_eq!(outcome(&c), Outcome::Failure(Cause::Timeout));
    assert_eq!(step(&s, Event::Timeout), Err(StepError::Ended));
}

#[test]
fn out_of_order_and_duplicate_responses_change_nothing() {
    let s = PlanState::new(programme(Some(250), None));
    assert!(matches!(
        step(&s, nam_result(0)),
        Err(StepError::Unexpected { .. })
    ));
    let (s, _) = run(&s, Event::Start);
    assert_eq!(step(&s, Event::Start), Err(StepError::AlreadyStarted));
    // A Download Response while the capability request is outstanding.
    assert!(matches!(
        step(&s, nam_result(0)),
        Err(StepError::Unexpected { .. })
    ));
    let (s, c) = to_sspr(programme(Some(250), None), 1);
    let first = sspr_answer(&c, 0);
    let (s2, _) = run(&s, first.clone());
    // The same segment's response again (a duplicate) does not answer the new request.
    assert!(matches!(
        step(&s2, first),
        Err(StepError::Unexpected { .. })
    ));
    // A commit response in the middle of the PRL.
    assert!(matches!(
        step(&s2, commit_result(0)),
        Err(StepError::Unexpected { .. })
    ));
}

#[test]
fn missing_features_fail_before_anything_is_written() {
    let s = PlanState::new(programme(Some(10), None));
    let (s, _) = run(&s, Event::Start);
    let no_sspr = Event::Response(ReverseMessage::ProtocolCapability(
        ProtocolCapabilityResponse {
            mob_firm_rev: 1,
            mob_model: 1,
            features: vec![Feature {
                feature_id: Feature::NAM_DOWNLOAD,
                feature_p_rev: 2,
            }],
            additional_fields: vec![],
        },
    ));
    let (_, c) = run(&s, no_sspr);
    assert_eq!(
        outcome(&c),
        Outcome::Failure(Cause::Unsupported {
            feature_id: Feature::SSPR
        })
    );
}

#[test]
fn state_survives_serialization() {
    let (s, _) = to_sspr(programme(Some(250), Some(300)), 3);
    let json = serde_json::to_value(&s).unwrap();
    let back: PlanState = serde_json::from_value(json).unwrap();
    assert_eq!(back, s);
}

#[test]
fn a_lost_answer_resends_and_restarts_the_prl() {
    let (s, c) = to_sspr(programme(Some(250), None), 1);
    let first = sspr_answer(&c, 0);
    let (s, c) = run(&s, first);
    let [Command::Send(ForwardMessage::SsprDownload(req))] = c.as_slice() else {
        panic!()
    };
    assert_eq!(req.segment_offset, 100);
    // The answer to the segment at 100 is lost: the PRL starts over at 0.
    let (s, c) = run(&s, Event::AnswerLost);
    let [Command::Send(ForwardMessage::SsprDownload(req))] = c.as_slice() else {
        panic!()
    };
    assert_eq!(req.segment_offset, 0);
    // Elsewhere the same request goes again.
    let p = PlanState::new(programme(Some(10), None));
    let (p, _) = run(&p, Event::Start);
    let (p, c) = run(&p, Event::AnswerLost);
    assert_eq!(sent_type(&c), "Protocol Capability");
    assert!(!p.is_finished());
    assert!(matches!(
        step(&PlanState::new(programme(None, None)), Event::AnswerLost),
        Err(StepError::Unexpected { .. })
    ));
    let _ = s;
}

#[test]
fn otapa_prl_download_starts_downloads_commits_and_stops() {
    let s = PlanState::new(prl_download(150, Some(1)));
    let (s, c) = run(&s, Event::Start);
    let [Command::Send(ForwardMessage::Otapa(req))] = c.as_slice() else {
        panic!("{c:?}")
    };
    assert!(req.start);
    let (mut s, mut c) = run(&s, otapa_result(0, false));
    let mut segments = 0;
    while let [Command::Send(ForwardMessage::SsprDownload(_))] = c.as_slice() {
        segments += 1;
        let ev = sspr_answer(&c, 0);
        (s, c) = run(&s, ev);
    }
    assert_eq!(segments, 2);
    assert_eq!(sent_type(&c), "Commit");
    let (s, c) = run(&s, commit_result(0));
    let [Command::Send(ForwardMessage::Otapa(req))] = c.as_slice() else {
        panic!("{c:?}")
    };
    assert!(!req.start, "OTAPA stop after the commit");
    let (s, c) = run(&s, otapa_result(0, false));
    assert_eq!(outcome(&c), Outcome::Success);
    assert!(s.is_finished());
}

#[test]
fn otapa_refusals_and_locked_nams_fail() {
    let s = PlanState::new(prl_download(10, None));
    let (s, _) = run(&s, Event::Start);
    let (_, c) = run(&s, otapa_result(6, false));
    assert_eq!(
        outcome(&c),
        Outcome::Failure(Cause::OtapaRejected { result: 6 })
    );
    // A protected NAM and no SPASM key in the profile: the OTAPA session is closed.
    let (s2, c) = run(&s, otapa_result(0, true));
    assert_eq!(after_stop(&s2, &c), Outcome::Failure(Cause::NamLocked));
    // An extended-only handset with only a classic PRL: tried, then refused with 35.
    let s = PlanState::new(prl_download(10, Some(3)));
    let (s, _) = run(&s, Event::Start);
    let (s, c) = run(&s, otapa_result(0, false));
    let ev = sspr_answer(&c, 35);
    let (s, c) = run(&s, ev);
    assert_eq!(
        after_stop(&s, &c),
        Outcome::Failure(Cause::PrlFormatUnavailable)
    );
}

#[test]
fn a_failed_otapa_download_closes_the_otapa_session_unless_the_handset_went_silent() {
    // A CRC error after OTAPA start: OTAPA stop, then the failure.
    let s = PlanState::new(prl_download(150, Some(1)));
    let (s, _) = run(&s, Event::Start);
    let (s, c) = run(&s, otapa_result(0, false));
    let ev = sspr_answer(&c, 0);
    let (s, c) = run(&s, ev);
    let ev = sspr_answer(&c, 9);
    let (s, c) = run(&s, ev);
    assert!(!s.is_finished(), "still to close the OTAPA session");
    assert_eq!(s.outstanding(), "OTAPA Request (stop)");
    assert_eq!(after_stop(&s, &c), Outcome::Failure(Cause::PrlCrcError));
    // A refused commit: the same.
    let s = PlanState::new(prl_download(10, Some(1)));
    let (s, _) = run(&s, Event::Start);
    let (s, c) = run(&s, otapa_result(0, false));
    let ev = sspr_answer(&c, 0);
    let (s, _) = run(&s, ev);
    let (s, c) = run(&s, commit_result(4));
    assert_eq!(
        after_stop(&s, &c),
        Outcome::Failure(Cause::CommitRejected { result: 4 })
    );
    // A timeout ends at once: the handset is not answering.
    let s = PlanState::new(prl_download(150, Some(1)));
    let (s, _) = run(&s, Event::Start);
    let (s, _) = run(&s, otapa_result(0, false));
    let (_, c) = run(&s, Event::Timeout);
    assert_eq!(outcome(&c), Outcome::Failure(Cause::Timeout));
    // An unanswered stop does not change the outcome it was closing with.
    let s = PlanState::new(prl_download(10, Some(3)));
    let (s, _) = run(&s, Event::Start);
    let (s, c) = run(&s, otapa_result(0, false));
    let ev = sspr_answer(&c, 35);
    let (s, _) = run(&s, ev);
    let (_, c) = run(&s, Event::Timeout);
    assert_eq!(outcome(&c), Outcome::Failure(Cause::PrlFormatUnavailable));
    let s = PlanState::new(prl_download(10, Some(1)));
    let (s, _) = run(&s, Event::Start);
    let (s, c) = run(&s, otapa_result(0, false));
    let ev = sspr_answer(&c, 0);
    let (s, _) = run(&s, ev);
    let (s, _) = run(&s, commit_result(0));
    let (_, c) = run(&s, Event::Timeout);
    assert_eq!(outcome(&c), Outcome::Success, "the commit was accepted");
    // The refused start needs no stop.
    let s = PlanState::new(prl_download(10, None));
    let (s, _) = run(&s, Event::Start);
    let (_, c) = run(&s, otapa_result(6, false));
    assert!(matches!(
        outcome(&c),
        Outcome::Failure(Cause::OtapaRejected { .. })
    ));
}

const SPASM_KEY: &str = "0123456789ABCDEF";
const SPASM_ESN: u32 = 0x1F2E_3D4C;

fn with_spasm(mut p: Programme, keep_locked: bool) -> Programme {
    p.spasm = Some(SpasmMaterial {
        key: SPASM_KEY.parse().unwrap(),
        esn: SPASM_ESN,
        keep_locked,
    });
    p
}

#[test]
fn a_spasm_challenge_is_answered_with_auth_otapa_then_the_prl_goes() {
    use otagw_codecs::is683::{ValidationBlock, ValidationRequest};
    let s = PlanState::new(with_spasm(prl_download(150, Some(1)), true));
    let (s, _) = run(&s, Event::Start);
    let (s, c) = run(&s, otapa_result(0, true));
    let [Command::Send(ForwardMessage::Validation(ValidationRequest { blocks }))] = c.as_slice()
    else {
        panic!("{c:?}")
    };
    let [ValidationBlock::ValidateSpasm(v)] = blocks.as_slice() else {
        panic!("{blocks:?}")
    };
    let key = SPASM_KEY.parse().unwrap();
    let expected = otagw_codecs::spasm::auth_otapa(
        &key,
        0x1234_5678,
        otagw_codecs::identity::Esn::new(SPASM_ESN),
    );
    assert_eq!(v.auth_otapa, Some(expected));
    assert!(v.nam_lock, "the NAM stays protected");
    assert_eq!(s.outstanding(), "Validation Request (Validate SPASM)");
    let (s, c) = run(
        &s,
        Event::Response(ReverseMessage::Validation(block_results(2, 0))),
    );
    assert_eq!(sent_type(&c), "SSPR Download");
    // The rest is the plain OTAPA download.
    let (mut s, mut c) = (s, c);
    while let [Command::Send(ForwardMessage::SsprDownload(_))] = c.as_slice() {
        let ev = sspr_answer(&c, 0);
        (s, c) = run(&s, ev);
    }
    let (s, _) = run(&s, commit_result(0));
    let (_, c) = run(&s, otapa_result(0, false));
    assert_eq!(outcome(&c), Outcome::Success);
}

#[test]
fn a_refused_spasm_fails_before_anything_is_written() {
    let s = PlanState::new(with_spasm(prl_download(150, Some(1)), false));
    let (s, _) = run(&s, Event::Start);
    let (s, c) = run(&s, otapa_result(0, true));
    let [Command::Send(ForwardMessage::Validation(v))] = c.as_slice() else {
        panic!("{c:?}")
    };
    assert!(
        matches!(v.blocks.as_slice(), [otagw_codecs::is683::ValidationBlock::ValidateSpasm(b)] if !b.nam_lock)
    );
    let (s2, c) = run(
        &s,
        Event::Response(ReverseMessage::Validation(block_results(2, 13))),
    );
    assert_eq!(
        after_stop(&s2, &c),
        Outcome::Failure(Cause::SpasmRejected { result: 13 })
    );
    assert_eq!(
        Cause::SpasmRejected { result: 13 }.label(),
        "spasm-rejected"
    );
    // A Validation Response with no result at all is not an acceptance.
    let (s2, c) = run(
        &s,
        Event::Response(ReverseMessage::Validation(BlockResults {
            results: Vec::new(),
        })),
    );
    assert!(matches!(
        after_stop(&s2, &c),
        Outcome::Failure(Cause::SpasmRejected { .. })
    ));
}

#[test]
fn the_spasm_key_is_stored_as_hex_and_never_shown() {
    let p = with_spasm(prl_download(10, Some(1)), true);
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["spasm"]["key"], SPASM_KEY);
    let back: Programme = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, p);
    assert!(!format!("{p:?}").contains(SPASM_KEY), "Debug hides the key");
    // A stored key that is not 16 hex digits does not load.
    let mut bad = json;
    bad["spasm"]["key"] = serde_json::json!("not a key");
    assert!(serde_json::from_value::<Programme>(bad).is_err());
}

/// The profile change a finished step asks for, if any.
fn profile_change(cmds: &[Command]) -> Option<ProfileChange> {
    cmds.iter().find_map(|c| match c {
        Command::Profile(p) => Some(*p),
        _ => None,
    })
}

#[test]
fn the_end_of_a_session_says_what_changes_in_the_profile() {
    // An activation that commits activates the profile; one that fails changes nothing.
    let (s, c) = to_sspr(programme(Some(50), None), 1);
    let (s, _) = run(&s, sspr_answer(&c, 0));
    let (_, c) = run(&s, commit_result(0));
    assert_eq!(outcome(&c), Outcome::Success);
    assert_eq!(profile_change(&c), Some(ProfileChange::Activate));
    let (_, c) = run(&s, Event::Timeout);
    assert_eq!(profile_change(&c), None);

    // A PRL download adopts the pending PRL when it commits, and drops it when it fails.
    let s = PlanState::new(prl_download(50, None));
    let (s, _) = run(&s, Event::Start);
    let (s, c) = run(&s, otapa_result(0, false));
    let (s2, _) = run(&s, sspr_answer(&c, 0));
    let (s2, c) = run(&s2, commit_result(0));
    assert_eq!(profile_change(&c), None, "the OTAPA stop is still to come");
    let (_, c) = run(&s2, otapa_result(0, false));
    assert_eq!(outcome(&c), Outcome::Success);
    assert_eq!(profile_change(&c), Some(ProfileChange::AdoptPendingPrl));
    let (_, c) = run(&s, Event::Timeout);
    assert_eq!(profile_change(&c), Some(ProfileChange::DropPendingPrl));
    // The change comes just before the end.
    assert!(matches!(
        c.as_slice(),
        [Command::Profile(_), Command::Finish(_)]
    ));
}

#[test]
fn a_failed_bearer_ends_the_session_without_an_otapa_stop() {
    let failed = || Event::BearerFailed {
        failure: BearerFailure::LinkDown,
        reason: "no active M3UA association".into(),
    };
    // Mid-download, with the OTAPA session open: no stop is sent, the bearer is gone.
    let s = PlanState::new(prl_download(50, None));
    let (s, _) = run(&s, Event::Start);
    let (s, _) = run(&s, otapa_result(0, false));
    assert!(s.otapa_open);
    let (s, c) = run(&s, failed());
    assert_eq!(
        outcome(&c),
        Outcome::Failure(Cause::Bearer {
            failure: BearerFailure::LinkDown,
            reason: "no active M3UA association".into()
        })
    );
    assert_eq!(profile_change(&c), Some(ProfileChange::DropPendingPrl));
    assert!(s.is_finished());
    assert_eq!(step(&s, failed()), Err(StepError::Ended));

    // With only the stop outstanding, the outcome settled before it stands.
    let s = PlanState::new(prl_download(50, None));
    let (s, _) = run(&s, Event::Start);
    let (s, c) = run(&s, otapa_result(0, false));
    let (s, _) = run(&s, sspr_answer(&c, 0));
    let (s, c) = run(&s, commit_result(0));
    assert_eq!(sent_type(&c), "OTAPA");
    let (_, c) = run(&s, failed());
    assert_eq!(outcome(&c), Outcome::Success);

    // Before the plan started (the serving MSC could not be found).
    let (_, c) = run(&PlanState::new(prl_download(50, None)), failed());
    assert!(matches!(
        outcome(&c),
        Outcome::Failure(Cause::Bearer { .. })
    ));
}

#[test]
fn a_cancel_ends_a_session_that_never_started() {
    let s = PlanState::new(prl_download(50, None));
    let (s, c) = run(&s, Event::Cancelled);
    assert_eq!(outcome(&c), Outcome::Failure(Cause::Cancelled));
    assert_eq!(profile_change(&c), Some(ProfileChange::DropPendingPrl));
    assert_eq!(step(&s, Event::Start), Err(StepError::Ended));
}

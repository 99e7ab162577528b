//! The customer-profile store against a real PostgreSQL: typed errors, optimistic concurrency,
//! all-or-nothing imports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use otagw::import::{self, prl::PrlImportError, profiles::ImportError};
use otagw::store::models::{ActivationState, AuditRecord, NewProfile};
use otagw::store::profiles::{self, Lookup};
use otagw::store::sessions::{self, Bearer, Flow, NewSession, SessionStatus, Transition};
use otagw::store::{audit, prl_library, StoreError};
use otagw::testkit::TestDb;
use otagw_codecs::prl::classic::{AcqRecord, ClassicPrl, Nid, PrefNeg, SysRecord};
use otagw_codecs::prl::PrlError;

fn new_profile(esn: &str, mdn: &str) -> NewProfile {
    NewProfile {
        esn: Some(esn.to_string()),
        meid: None,
        pesn: None,
        min: Some(mdn.to_string()),
        mdn: Some(mdn.to_string()),
        imsi_m: None,
        imsi_t: None,
        make: "Acme".into(),
        model: "X1".into(),
        firmware_version: "1.0".into(),
        capabilities: serde_json::json!({}),
        nam: serde_json::json!({}),
        prl_id: None,
        sspr_table_number: None,
        spc: Some("123456".into()),
        spasm_key: None,
        activation_state: "pending_activation".into(),
    }
}

fn sample_prl(pr_list_id: u16) -> Vec<u8> {
    ClassicPrl {
        pr_list_id,
        pref_only: false,
        def_roam_ind: 1,
        acq_records: vec![
            AcqRecord::CellularCdmaStandard { a_b: 3, pri_sec: 3 },
            AcqRecord::PcsCdmaBlocks {
                blocks: vec![0, 1, 7],
            },
        ],
        sys_records: vec![
            SysRecord {
                sid: 4139,
                nid: Nid::Wildcard,
                pref_neg: PrefNeg::Preferred {
                    pri: true,
                    roam_ind: 1,
                },
                geo: false,
                acq_index: 0,
            },
            SysRecord {
                sid: 4140,
                nid: Nid::Included(7),
                pref_neg: PrefNeg::Negative,
                geo: true,
                acq_index: 1,
            },
        ],
    }
    .encode()
    .unwrap()
}

#[tokio::test]
async fn duplicate_esn_and_unknown_profile_are_typed() {
    let db = TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    profiles::insert(&mut conn, &new_profile("1A2B3C4D", "6195550001"))
        .await
        .unwrap();
    let err = profiles::insert(&mut conn, &new_profile("1A2B3C4D", "6195550002"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate { field: "ESN", ref value } if value == "1A2B3C4D"),
        "{err:?}"
    );
    let err = profiles::insert(&mut conn, &new_profile("1A2B3C4E", "6195550001"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate { field, .. } if field == "MDN" || field == "MIN"),
        "{err:?}"
    );
    let err = profiles::find(&mut conn, &Lookup::parse("DEADBEEF").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ProfileNotFound(_)), "{err:?}");
    assert_eq!(profiles::count(&mut conn).await.unwrap(), 1);
}

#[tokio::test]
async fn spc_is_kept_but_never_listed() {
    let db = TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    let p = profiles::insert(&mut conn, &new_profile("1A2B3C4D", "6195550001"))
        .await
        .unwrap();
    let json = serde_json::to_value(&p).unwrap();
    assert!(json.get("spc").is_none());
    assert!(!format!("{p:?}").contains("123456"));
    assert!(!otagw::store::models::render_profile(&p).contains("123456"));
    assert_eq!(
        profiles::spc(&mut conn, p.id).await.unwrap().as_deref(),
        Some("123456")
    );
}

#[tokio::test]
async fn stale_versions_are_refused() {
    let db = TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    let p = profiles::insert(&mut conn, &new_profile("1A2B3C4D", "6195550001"))
        .await
        .unwrap();
    let activated =
        profiles::set_activation_state(&mut conn, p.id, p.version, ActivationState::Activated)
            .await
            .unwrap();
    assert_eq!(activated.version, p.version + 1);
    assert_eq!(activated.activation_state, "activated");
    assert!(activated.activated_at.is_some());
    let err =
        profiles::set_activation_state(&mut conn, p.id, p.version, ActivationState::Deactivated)
            .await
            .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::StaleVersion {
                what: "profile",
                ..
            }
        ),
        "{err:?}"
    );
    let err = profiles::set_activation_state(&mut conn, 999_999, 0, ActivationState::Activated)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ProfileNotFound(_)), "{err:?}");

    let s = sessions::create(
        &mut conn,
        &NewSession {
            token: "tok-1".into(),
            profile_id: p.id,
            flow: Flow::OneButton,
            bearer: Bearer::Iota,
            state: serde_json::json!({"step": "capability"}),
            deadline: None,
            campaign_id: None,
            started_at: None,
            device: None,
        },
    )
    .await
    .unwrap();
    let t = Transition {
        state: serde_json::json!({"step": "nam"}),
        status: SessionStatus::Active,
        cause: None,
        deadline: None,
        bearer: Bearer::Iota,
        started_at: None,
    };
    let s2 = sessions::advance(&mut conn, s.id, s.version, &t)
        .await
        .unwrap();
    assert_eq!(s2.version, s.version + 1);
    let err = sessions::advance(&mut conn, s.id, s.version, &t)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::StaleVersion {
                what: "session",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        sessions::by_token(&mut conn, "tok-1").await.unwrap().state,
        serde_json::json!({"step": "nam"})
    );

    let now = chrono::Utc::now();
    audit::insert(
        &mut conn,
        &AuditRecord {
            session_id: Some(s.id),
            profile_id: Some(p.id),
            flow: Flow::OneButton,
            bearer: Bearer::Iota,
            started_at: now,
            ended_at: now,
            messages_exchanged: 6,
            outcome: "completed".into(),
            cause: None,
            detail: serde_json::json!({}),
        },
    )
    .await
    .unwrap();
    let records = audit::for_session(&mut conn, s.id).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].messages_exchanged, 6);
}

#[tokio::test]
async fn deactivated_profiles_free_their_identities() {
    let db = TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    let p = profiles::insert(&mut conn, &new_profile("1A2B3C4D", "6195550001"))
        .await
        .unwrap();
    profiles::set_activation_state(&mut conn, p.id, p.version, ActivationState::Deactivated)
        .await
        .unwrap();
    let again = profiles::insert(&mut conn, &new_profile("1A2B3C4D", "6195550001"))
        .await
        .unwrap();
    let found = profiles::find(&mut conn, &Lookup::parse("1a2b3c4d").unwrap())
        .await
        .unwrap();
    assert_eq!(found.id, again.id, "the active profile wins a lookup");
}

#[tokio::test]
async fn prl_import_validates_and_writes_nothing_on_error() {
    let db = TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    let good = sample_prl(42);

    let mut bad_crc = good.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0x01;
    let err = import::prl::import(&mut conn, 1, &bad_crc, None, "", false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PrlImportError::Invalid(PrlError::BadCrc { .. })),
        "{err:?}"
    );

    let mut bad_size = good.clone();
    bad_size.push(0);
    let err = import::prl::import(&mut conn, 1, &bad_size, None, "", false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PrlImportError::Invalid(PrlError::WrongSize { .. })),
        "{err:?}"
    );
    assert!(prl_library::ids(&mut conn).await.unwrap().is_empty());

    let summary = import::prl::import(&mut conn, 1, &good, None, "test list", false)
        .await
        .unwrap();
    assert_eq!(summary.pr_list_id, 42);
    let stored = prl_library::get(&mut conn, 1).await.unwrap();
    assert_eq!(stored.data, good);
    assert_eq!(stored.pr_list_id, 42);
    assert_eq!(stored.sspr_p_rev, 1);

    let other = sample_prl(43);
    let err = import::prl::import(&mut conn, 1, &other, None, "", false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PrlImportError::Store(StoreError::DuplicatePrl(1))),
        "{err:?}"
    );
    assert_eq!(prl_library::get(&mut conn, 1).await.unwrap().pr_list_id, 42);
    import::prl::import(&mut conn, 1, &other, None, "", true)
        .await
        .unwrap();
    assert_eq!(prl_library::get(&mut conn, 1).await.unwrap().pr_list_id, 43);
}

const GOOD_CSV: &str = "\
esn,meid,min,mdn,make,model,iota,sspr_p_rev,home_sid_nid,mcc,imsi_11_12,prl_id,spc
1A2B3C4D,,6195550001,6195550001,Acme,X1,yes,1,4139/65535,310,00,5,123456
,A0000000002329,6195550002,6195550002,Acme,X2,no,3,4139,310,00,,000000
";

#[tokio::test]
async fn profile_import_is_all_or_nothing() {
    let db = TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    let none = |_: usize, _: usize| {};

    // PRL 5 is not in the library yet: the whole file is refused.
    let err = import::profiles::import(&mut conn, GOOD_CSV.as_bytes(), &none)
        .await
        .unwrap_err();
    match &err {
        ImportError::Rows(rows) => {
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].line, 2);
            assert!(rows[0].reason.contains("PRL 5"), "{}", rows[0]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(profiles::count(&mut conn).await.unwrap(), 0);

    import::prl::import(&mut conn, 5, &sample_prl(5), None, "", false)
        .await
        .unwrap();
    let written = import::profiles::import(&mut conn, GOOD_CSV.as_bytes(), &none)
        .await
        .unwrap();
    assert_eq!(written, 2);
    let meid = profiles::find(&mut conn, &Lookup::parse("A0000000002329").unwrap())
        .await
        .unwrap();
    assert_eq!(meid.model, "X2");
    // The pESN finds the MEID device too.
    let by_pesn = profiles::find(
        &mut conn,
        &Lookup::parse(meid.pesn.as_deref().unwrap()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(by_pesn.id, meid.id);

    // A second file with one new row and one ESN already in the store: nothing written.
    let clash = "esn,mdn\n1A2B3C4F,6195550009\n1A2B3C4D,6195550010\n";
    let err = import::profiles::import(&mut conn, clash.as_bytes(), &none)
        .await
        .unwrap_err();
    match &err {
        ImportError::Rows(rows) => {
            assert_eq!(rows.len(), 1, "{rows:?}");
            assert_eq!(rows[0].line, 3);
            assert!(rows[0].reason.contains("1A2B3C4D"), "{}", rows[0]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(profiles::count(&mut conn).await.unwrap(), 2);
}

#[tokio::test]
async fn a_failed_push_clears_only_its_own_pending_prl() {
    let db = TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    import::prl::import(&mut conn, 2, &sample_prl(2), None, "new", false)
        .await
        .unwrap();
    let p = profiles::insert(&mut conn, &new_profile("1A2B3C4D", "6195550001"))
        .await
        .unwrap();
    let url = "http://otaf.example:8181/iota/otapa/newer_Token-2";
    let pending = profiles::set_pending_prl(&mut conn, p.id, p.version, 2, url)
        .await
        .unwrap();
    // An older push's session ends: the newer push's pending fields stay.
    for stale in ["older_Token-1", "Token-2", ""] {
        assert!(!profiles::clear_pending_prl(&mut conn, p.id, stale)
            .await
            .unwrap());
    }
    let still = profiles::find(&mut conn, &Lookup::Id(p.id)).await.unwrap();
    assert_eq!(
        (still.pending_prl_id, still.otapa_callback_url.as_deref()),
        (Some(2), Some(url))
    );
    assert_eq!(still.version, pending.version);
    // Its own session ends: cleared, the PRL untouched, the version moved on.
    assert!(
        profiles::clear_pending_prl(&mut conn, p.id, "newer_Token-2")
            .await
            .unwrap()
    );
    let cleared = profiles::find(&mut conn, &Lookup::Id(p.id)).await.unwrap();
    assert_eq!(
        (
            cleared.pending_prl_id,
            cleared.otapa_callback_url,
            cleared.prl_id
        ),
        (None, None, None)
    );
    assert_eq!(cleared.version, pending.version + 1);
    assert!(
        !profiles::clear_pending_prl(&mut conn, p.id, "newer_Token-2")
            .await
            .unwrap()
    );
}

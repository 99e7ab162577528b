//! The example files the docs point at stay valid: the PRL decodes and the CSV imports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use otagw::import;
use otagw::store::profiles::{self, Lookup};
use otagw::testkit::TestDb;
use otagw_codecs::prl::{Prl, PrlFormat};

const LAB_PRL: &[u8] = include_bytes!("../docs/examples/lab.prl");
const PROFILES_CSV: &str = include_str!("../docs/examples/profiles.csv");

#[test]
fn lab_prl_is_a_valid_classic_prl() {
    let summary = Prl::validate(LAB_PRL, None).unwrap();
    assert_eq!(summary.format, PrlFormat::Classic);
    assert_eq!(summary.pr_list_id, 1001);
    assert_eq!(usize::from(summary.pr_list_size), LAB_PRL.len());
    assert_eq!((summary.num_acq_recs, summary.num_sys_recs), (4, 4));
}

#[tokio::test]
async fn example_profiles_import_against_the_lab_prl() {
    let db = TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    import::prl::import(&mut conn, 1, LAB_PRL, None, "lab PRL", false)
        .await
        .unwrap();
    let written = import::profiles::import(&mut conn, PROFILES_CSV.as_bytes(), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(written, 3);
    let p = profiles::find(&mut conn, &Lookup::parse("1A2B3C4D").unwrap())
        .await
        .unwrap();
    assert_eq!(p.prl_id, Some(1));
    assert_eq!(p.nam().unwrap().mcc.as_deref(), Some("310"));
}

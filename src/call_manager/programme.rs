//! Building a session's [`Programme`] from the customer profile: the NAM blocks the profile
//! defines, encoded as an IS-683 Download Request, and the profile's PRL in the formats the
//! library holds. Pure: the caller reads the profile and the library.

use otagw_codecs::is683::{
    AccessSettings, CdmaAnalogNam, CdmaNam, DownloadRequest, ForwardMessage, ImsiParams, Mdn,
    NamDownloadBlock, SidNid,
};
use thiserror::Error;

use crate::ospp_driver::plan::{PlanKind, Programme, SpasmMaterial};
use crate::store::models::{NamSettings, PrlEntry, Profile};
use otagw_codecs::identity::Esn;

/// Why a profile cannot be programmed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProgrammeError {
    /// A stored value does not encode.
    #[error("profile {profile}: {field}: {reason}")]
    BadValue {
        /// Profile id.
        profile: i64,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Nothing to write at all.
    #[error("profile {0} defines no NAM settings and no PRL: nothing to program")]
    Empty(i64),
}

pub use crate::ospp_driver::plan::MAX_SEGMENT_SIZE;

/// Builds the programme for `profile`. `prls` are the library entries of the profile's PRL, one
/// per format the library holds (classic and/or extended).
pub fn build(
    profile: &Profile,
    spc: Option<String>,
    prls: &[PrlEntry],
    segment_size: u8,
) -> Result<Programme, ProgrammeError> {
    let bad = |field: &'static str, reason: String| ProgrammeError::BadValue {
        profile: profile.id,
        field,
        reason,
    };
    let nam = profile.nam().map_err(|e| bad("nam", e.to_string()))?;
    let blocks = nam_blocks(profile, &nam).map_err(|(field, reason)| bad(field, reason))?;
    let nam_download = if blocks.is_empty() {
        None
    } else {
        let message = ForwardMessage::Download(DownloadRequest {
            blocks,
            fresh: None,
        });
        Some(
            message
                .encode()
                .map_err(|e| bad("nam", format!("Download Request: {e}")))?,
        )
    };
    let prl_of = |rev: i16| {
        prls.iter()
            .find(|p| (p.sspr_p_rev >= 3) == (rev >= 3))
            .map(|p| p.data.clone())
    };
    let programme = Programme {
        nam_download,
        prl_classic: prl_of(1),
        prl_extended: prl_of(3),
        spc,
        segment_size: segment_size.clamp(1, MAX_SEGMENT_SIZE),
        kind: PlanKind::Activation,
        sspr_p_rev: profile.capabilities().ok().and_then(|c| c.sspr_p_rev),
        spasm: None,
    };
    if programme.nam_download.is_none()
        && programme.prl_classic.is_none()
        && programme.prl_extended.is_none()
    {
        return Err(ProgrammeError::Empty(profile.id));
    }
    Ok(programme)
}

/// The programme of an OTAPA PRL download: the PRL `prls` holds (one entry per format), no NAM.
/// With the profile's SPASM key the plan can answer a protected NAM's challenge; the NAM is
/// left protected after the session.
pub fn build_prl_download(
    profile: &Profile,
    spasm_key: Option<String>,
    prls: &[PrlEntry],
    segment_size: u8,
) -> Result<Programme, ProgrammeError> {
    let spasm = match spasm_key {
        None => None,
        Some(key) => {
            let esn = profile
                .esn
                .as_deref()
                .or(profile.pesn.as_deref())
                .and_then(|e| e.parse::<Esn>().ok())
                .ok_or_else(|| ProgrammeError::BadValue {
                    profile: profile.id,
                    field: "spasm_key",
                    reason:
                        "AUTH_OTAPA needs the handset's ESN or pseudo-ESN, the profile has neither"
                            .into(),
                })?;
            let key = key
                .parse()
                .map_err(
                    |e: otagw_codecs::spasm::SpasmKeyError| ProgrammeError::BadValue {
                        profile: profile.id,
                        field: "spasm_key",
                        reason: e.to_string(),
                    },
                )?;
            Some(SpasmMaterial {
                key,
                esn: esn.as_u32(),
                keep_locked: true,
            })
        }
    };
    let prl_of = |extended: bool| {
        prls.iter()
            .find(|p| (p.sspr_p_rev >= 3) == extended)
            .map(|p| p.data.clone())
    };
    let programme = Programme {
        nam_download: None,
        prl_classic: prl_of(false),
        prl_extended: prl_of(true),
        spc: None,
        segment_size: segment_size.clamp(1, MAX_SEGMENT_SIZE),
        kind: PlanKind::PrlDownload,
        sspr_p_rev: profile.capabilities().ok().and_then(|c| c.sspr_p_rev),
        spasm,
    };
    if programme.prl_classic.is_none() && programme.prl_extended.is_none() {
        return Err(ProgrammeError::Empty(profile.id));
    }
    Ok(programme)
}

/// The IMSI_M of a profile: its stored IMSI_M, else MCC + IMSI_11_12 + MIN from the NAM.
fn imsi_m(
    profile: &Profile,
    nam: &NamSettings,
) -> Result<Option<ImsiParams>, (&'static str, String)> {
    if let Some(imsi) = &profile.imsi_m {
        return imsi_params(imsi).map(Some).map_err(|e| ("imsi_m", e));
    }
    match (&nam.mcc, &nam.imsi_11_12, &profile.min) {
        (Some(mcc), Some(i1112), Some(min)) => ImsiParams::class0(mcc, i1112, min)
            .map(Some)
            .map_err(|e| ("nam", e.to_string())),
        _ => Ok(None),
    }
}

/// A class 0 IMSI from its digits: the last 10 are IMSI_S, the 2 before them IMSI_11_12, the
/// first 3 the MCC. A shorter IMSI is padded with zeros in front (C.S0005 2.3.1).
fn imsi_params(digits: &str) -> Result<ImsiParams, String> {
    if digits.len() < 6 || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("not an IMSI: {digits:?}"));
    }
    let padded = format!("{digits:0>15}");
    ImsiParams::class0(&padded[0..3], &padded[3..5], &padded[5..15]).map_err(|e| e.to_string())
}

fn nam_blocks(
    profile: &Profile,
    nam: &NamSettings,
) -> Result<Vec<NamDownloadBlock>, (&'static str, String)> {
    let mut blocks = Vec::new();
    let access = AccessSettings {
        accolc: nam.accolc.unwrap_or(0),
        local_control: false,
        mob_term_home: nam.mob_term_home,
        mob_term_for_sid: nam.mob_term_for_sid,
        mob_term_for_nid: nam.mob_term_for_nid,
    };
    let sid_nid: Vec<SidNid> = nam
        .home_sid_nid
        .iter()
        .map(|p| SidNid {
            sid: p.sid,
            nid: p.nid,
        })
        .collect();
    if let Some(imsi_m) = imsi_m(profile, nam)? {
        match (nam.first_paging_channel, sid_nid.first()) {
            // With analog settings (FIRSTCHP and a home SID) the CDMA/Analog NAM block 0.
            (Some(firstchp), Some(home)) => {
                blocks.push(NamDownloadBlock::CdmaAnalog(CdmaAnalogNam {
                    firstchp,
                    home_sid: home.sid,
                    ex: true,
                    imsi_m,
                    access,
                    sid_nid: sid_nid.clone(),
                }))
            }
            _ => blocks.push(NamDownloadBlock::Cdma(CdmaNam {
                imsi_m,
                access,
                sid_nid: sid_nid.clone(),
            })),
        }
    }
    if let Some(mdn) = &profile.mdn {
        blocks.push(NamDownloadBlock::Mdn(
            Mdn::new(mdn).map_err(|e| ("mdn", e.to_string()))?,
        ));
    }
    if let Some(imsi_t) = &profile.imsi_t {
        blocks.push(NamDownloadBlock::ImsiT(
            imsi_params(imsi_t).map_err(|e| ("imsi_t", e))?,
        ));
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn profile() -> Profile {
        Profile {
            id: 1,
            esn: Some("1A2B3C4D".into()),
            meid: None,
            pesn: None,
            min: Some("6195551234".into()),
            mdn: Some("6195551234".into()),
            imsi_m: None,
            imsi_t: Some("310009876543210".into()),
            make: String::new(),
            model: String::new(),
            firmware_version: String::new(),
            capabilities: serde_json::json!({}),
            nam: serde_json::json!({"mcc": "310", "imsi_11_12": "00", "home_sid_nid": [{"sid": 4139, "nid": 65535}], "accolc": 4}),
            prl_id: Some(1),
            sspr_table_number: None,
            pending_prl_id: None,
            otapa_callback_url: None,
            settings_3gpd: None,
            settings_puzl: None,
            activation_state: "pending_activation".into(),
            new_esn: None,
            activated_esn: None,
            activated_at: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            version: 0,
        }
    }

    fn prl(rev: i16) -> PrlEntry {
        PrlEntry {
            prl_id: 1,
            pr_list_id: 5,
            sspr_p_rev: rev,
            pr_list_crc: 0,
            pr_list_size: 3,
            description: String::new(),
            data: vec![rev as u8; 3],
        }
    }

    #[test]
    fn nam_blocks_come_from_the_profile() {
        let p = build(&profile(), Some("123456".into()), &[prl(1)], 200).unwrap();
        let Ok(ForwardMessage::Download(req)) = ForwardMessage::decode(&p.nam_download.unwrap())
        else {
            panic!()
        };
        let ids: Vec<u8> = req.blocks.iter().map(NamDownloadBlock::block_id).collect();
        assert_eq!(ids, vec![2, 1, 3]);
        let NamDownloadBlock::Cdma(cdma) = &req.blocks[0] else {
            panic!()
        };
        assert_eq!(cdma.imsi_m.digits().unwrap(), "310006195551234");
        assert_eq!(cdma.access.accolc, 4);
        assert_eq!(
            cdma.sid_nid,
            vec![SidNid {
                sid: 4139,
                nid: 65535
            }]
        );
        assert_eq!(p.prl_classic, Some(vec![1, 1, 1]));
        assert_eq!(p.prl_extended, None);
        assert_eq!(p.spc.as_deref(), Some("123456"));
    }

    #[test]
    fn analog_settings_give_block_zero_and_both_prl_formats_are_kept() {
        let mut prof = profile();
        prof.nam = serde_json::json!({"mcc": "310", "imsi_11_12": "00", "home_sid_nid": [{"sid": 22, "nid": 0}], "first_paging_channel": 283});
        let p = build(&prof, None, &[prl(1), prl(3)], 255).unwrap();
        assert_eq!(p.segment_size, MAX_SEGMENT_SIZE);
        assert!(p.prl_classic.is_some() && p.prl_extended.is_some());
        let Ok(ForwardMessage::Download(req)) = ForwardMessage::decode(&p.nam_download.unwrap())
        else {
            panic!()
        };
        let NamDownloadBlock::CdmaAnalog(nam) = &req.blocks[0] else {
            panic!()
        };
        assert_eq!((nam.firstchp, nam.home_sid), (283, 22));
    }

    #[test]
    fn nothing_to_program_is_an_error() {
        let mut prof = profile();
        prof.min = None;
        prof.mdn = None;
        prof.imsi_t = None;
        assert_eq!(build(&prof, None, &[], 100), Err(ProgrammeError::Empty(1)));
        prof.mdn = Some("12x".into());
        assert!(matches!(
            build(&prof, None, &[], 100),
            Err(ProgrammeError::BadValue { field: "mdn", .. })
        ));
    }
}

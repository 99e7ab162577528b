//! Import of a binary PRL into the PRL (SSPR) library.

use diesel_async::AsyncPgConnection;
use otagw_codecs::prl::{Prl, PrlError, PrlSummary};
use thiserror::Error;

use crate::store::models::PrlEntry;
use crate::store::{prl_library, StoreError};

/// Why a PRL was not imported. Nothing is written in any of these cases.
#[derive(Debug, Error)]
pub enum PrlImportError {
    /// The file is not a valid PRL.
    #[error("not a valid PRL: {0}")]
    Invalid(#[from] PrlError),
    /// The library id is out of range.
    #[error("PRL id must be from 0 to {max}, got {0}", max = i32::MAX)]
    BadId(i64),
    /// The store refused it (duplicate id ...).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validates `data` (size field, CRC, every record) and builds the library entry.
pub fn entry(
    prl_id: i64,
    data: &[u8],
    sspr_p_rev_hint: Option<u8>,
    description: &str,
) -> Result<(PrlEntry, PrlSummary), PrlImportError> {
    let id = i32::try_from(prl_id)
        .ok()
        .filter(|id| *id >= 0)
        .ok_or(PrlImportError::BadId(prl_id))?;
    let summary = Prl::validate(data, sspr_p_rev_hint)?;
    let entry = PrlEntry {
        prl_id: id,
        pr_list_id: i32::from(summary.pr_list_id),
        sspr_p_rev: i16::from(summary.format.sspr_p_rev()),
        pr_list_crc: i32::from(summary.pr_list_crc),
        pr_list_size: i32::from(summary.pr_list_size),
        description: description.to_string(),
        data: data.to_vec(),
    };
    Ok((entry, summary))
}

/// Validates and stores a PRL under `prl_id`.
pub async fn import(
    conn: &mut AsyncPgConnection,
    prl_id: i64,
    data: &[u8],
    sspr_p_rev_hint: Option<u8>,
    description: &str,
    replace: bool,
) -> Result<PrlSummary, PrlImportError> {
    let (entry, summary) = entry(prl_id, data, sspr_p_rev_hint, description)?;
    prl_library::insert(conn, &entry, replace).await?;
    Ok(summary)
}

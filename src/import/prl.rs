//! Import of a binary PRL into the PRL (SSPR) library.

use std::io::Read;
use std::path::{Path, PathBuf};

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
    /// The file is larger than any PRL can be (PR_LIST_SIZE is 16 bits); it was not read.
    #[error(
        "{path} is {size} octets; a PRL is at most {MAX_PRL_OCTETS} (PR_LIST_SIZE is 16 bits)"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (at least; a file read to its end is counted up to one octet over).
        size: u64,
    },
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The largest PRL: PR_LIST_SIZE is a 16-bit count of octets.
pub const MAX_PRL_OCTETS: u64 = 65_535;

/// Reads a PRL file, refusing one larger than [`MAX_PRL_OCTETS`] before reading it (by its
/// size, and by reading at most one octet more than that from whatever the path is).
pub fn read_file(path: &Path) -> Result<Vec<u8>, PrlImportError> {
    let read_error = |source| PrlImportError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    let too_large = |size| PrlImportError::TooLarge {
        path: path.to_path_buf(),
        size,
    };
    if size > MAX_PRL_OCTETS {
        return Err(too_large(size));
    }
    let mut data = Vec::new();
    file.take(MAX_PRL_OCTETS + 1)
        .read_to_end(&mut data)
        .map_err(read_error)?;
    if data.len() as u64 > MAX_PRL_OCTETS {
        return Err(too_large(data.len() as u64));
    }
    Ok(data)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_file_over_65535_octets_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.prl");
        let file = std::fs::File::create(&path).unwrap();
        // 200 MB, sparse: refused by its size, not read.
        file.set_len(200_000_000).unwrap();
        match read_file(&path) {
            Err(PrlImportError::TooLarge { size, .. }) => assert_eq!(size, 200_000_000),
            other => panic!("{other:?}"),
        }
        std::fs::write(&path, vec![0u8; 65_535]).unwrap();
        assert_eq!(read_file(&path).unwrap().len(), 65_535);
        std::fs::write(&path, vec![0u8; 65_536]).unwrap();
        assert!(matches!(
            read_file(&path),
            Err(PrlImportError::TooLarge { size: 65_536, .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_file_is_read_no_further_than_the_limit() {
        // /dev/zero has size 0 and never ends.
        match read_file(Path::new("/dev/zero")) {
            Err(PrlImportError::TooLarge { size, .. }) => assert_eq!(size, MAX_PRL_OCTETS + 1),
            other => panic!("{other:?}"),
        }
    }
}

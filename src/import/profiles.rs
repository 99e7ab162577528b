//! Import of legacy customer profiles from CSV.
//!
//! Every row is validated before anything is written; then all rows are written in one
//! transaction, or none. Bad rows are reported with their line number and reason. The pure part,
//! [`parse`], needs no database; [`import`] adds the checks that do (identities already taken,
//! PRLs not in the library) and the write.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use diesel_async::AsyncPgConnection;
use otagw_codecs::identity::{Esn, Imsi, Meid, Min};
use thiserror::Error;

use crate::store::models::{ActivationState, Capabilities, NamSettings, NewProfile, SidNid};
use crate::store::{prl_library, profiles, StoreError};

/// The columns a profile CSV may have. `esn` or `meid` is required on every row; the others may
/// be left out of the header or left empty.
pub const COLUMNS: &[&str] = &[
    "esn",
    "meid",
    "min",
    "mdn",
    "imsi_m",
    "imsi_t",
    "make",
    "model",
    "firmware_version",
    "iota",
    "oma_dm",
    "brew",
    "sspr_p_rev",
    "band_classes",
    "home_sid_nid",
    "mcc",
    "imsi_11_12",
    "accolc",
    "mob_term_home",
    "mob_term_for_sid",
    "mob_term_for_nid",
    "first_paging_channel",
    "prl_id",
    "sspr_table_number",
    "spc",
    "spasm_key",
    "activation_state",
];

/// Longest value of a field, in octets. Longer values are refused with their line and column
/// before anything reaches the database (whose indexes cannot hold a value of megabytes).
pub const MAX_FIELD_OCTETS: usize = 1024;

/// One rejected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Why an import wrote nothing.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The file is not CSV with a usable header.
    #[error("{0}")]
    Format(String),
    /// Some rows are invalid; nothing was written.
    #[error("{} invalid row(s); nothing was imported:\n{}", .0.len(), join_rows(.0))]
    Rows(Vec<RowError>),
    /// The store failed; the transaction was rolled back.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn join_rows(rows: &[RowError]) -> String {
    rows.iter()
        .map(|r| format!("  {r}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A validated row, with the line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRow {
    /// Line number in the file.
    pub line: u64,
    /// The profile to insert.
    pub profile: NewProfile,
}

/// Parses and validates a whole CSV document without touching the database. Returns every
/// valid row, or every row error (including identities repeated within the file).
pub fn parse(input: impl Read) -> Result<Vec<ParsedRow>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ImportError::Format(format!("cannot read the CSV header: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    for h in &header {
        if !COLUMNS.contains(&h.as_str()) {
            return Err(ImportError::Format(format!(
                "unknown column {h:?} in the header; known columns: {}",
                COLUMNS.join(", ")
            )));
        }
    }
    if !header.iter().any(|h| h == "esn" || h == "meid") {
        return Err(ImportError::Format(
            "the header needs an esn or a meid column".to_string(),
        ));
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    // (field, value) -> first line it was seen on.
    let mut seen: HashMap<(&'static str, String), u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(RowError {
                    line,
                    reason: format!("not valid CSV: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let too_long: Vec<RowError> = header
            .iter()
            .zip(record.iter())
            .enumerate()
            .filter(|(_, (_, value))| value.len() > MAX_FIELD_OCTETS)
            .map(|(i, (column, value))| RowError {
                line,
                reason: format!(
                    "column {} ({column}) is {} octets long; at most {MAX_FIELD_OCTETS}",
                    i + 1,
                    value.len()
                ),
            })
            .collect();
        if !too_long.is_empty() {
            errors.extend(too_long);
            continue;
        }
        let fields: HashMap<&str, &str> = header
            .iter()
            .map(String::as_str)
            .zip(record.iter())
            .filter(|(_, v)| !v.is_empty())
            .collect();
        match parse_row(&fields) {
            Ok(profile) => {
                let mut duplicate = false;
                for (field, value) in identities(&profile) {
                    if let Some(first) = seen.get(&(field, value.clone())) {
                        errors.push(RowError {
                            line,
                            reason: format!("{field} {value} is already on line {first}"),
                        });
                        duplicate = true;
                    } else {
                        seen.insert((field, value), line);
                    }
                }
                if !duplicate {
                    rows.push(ParsedRow { line, profile });
                }
            }
            Err(reason) => errors.push(RowError { line, reason }),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(ImportError::Rows(errors))
    }
}

/// The identities of a profile that must be unique among active profiles.
fn identities(p: &NewProfile) -> Vec<(&'static str, String)> {
    if p.activation_state == ActivationState::Deactivated.as_str() {
        return Vec::new();
    }
    [
        ("ESN", &p.esn),
        ("MEID", &p.meid),
        ("MDN", &p.mdn),
        ("MIN", &p.min),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.clone().map(|v| (f, v)))
    .collect()
}

fn digits(field: &str, value: &str, min: usize, max: usize) -> Result<String, String> {
    if value.len() < min || value.len() > max || !value.bytes().all(|b| b.is_ascii_digit()) {
        let len = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(format!(
            "{field} must be {len} decimal digits, got {value:?}"
        ));
    }
    Ok(value.to_string())
}

fn boolean(field: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" => Ok(true),
        "0" | "false" | "no" | "n" => Ok(false),
        _ => Err(format!("{field} must be true or false, got {value:?}")),
    }
}

fn number<T: std::str::FromStr>(field: &str, value: &str, max: u64) -> Result<T, String> {
    let n: u64 = value
        .parse()
        .map_err(|_| format!("{field} must be a number from 0 to {max}, got {value:?}"))?;
    if n > max {
        return Err(format!("{field} must be a number from 0 to {max}, got {n}"));
    }
    value
        .parse()
        .map_err(|_| format!("{field} must be a number from 0 to {max}, got {value:?}"))
}

/// `SID/NID;SID/NID`, NID optional (65535, any network).
fn sid_nid_pairs(value: &str) -> Result<Vec<SidNid>, String> {
    value
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (sid, nid) = pair.split_once('/').unwrap_or((pair, "65535"));
            Ok(SidNid {
                sid: number("home_sid_nid SID", sid.trim(), 32767)?,
                nid: number("home_sid_nid NID", nid.trim(), 65535)?,
            })
        })
        .collect()
}

fn parse_row(f: &HashMap<&str, &str>) -> Result<NewProfile, String> {
    let get = |k: &str| f.get(k).copied();
    let meid: Option<Meid> = get("meid")
        .map(|v| v.parse::<Meid>().map_err(|e| e.to_string()))
        .transpose()?;
    let esn: Option<Esn> = get("esn")
        .map(|v| v.parse::<Esn>().map_err(|e| e.to_string()))
        .transpose()?;
    let pesn = meid.map(Meid::pesn);
    match (&esn, &pesn) {
        (None, None) => return Err("a row needs an ESN or a MEID".to_string()),
        (Some(esn), Some(pesn)) if esn != pesn => {
            return Err(format!(
            "ESN {esn} is not the pseudo-ESN of MEID {} (expected {pesn}); give one or the other",
            meid.as_ref().map(ToString::to_string).unwrap_or_default()
        ))
        }
        _ => {}
    }
    // A MEID device is stored by its MEID and pESN; its ESN column stays empty.
    let esn = if meid.is_some() { None } else { esn };
    let min = get("min")
        .map(|v| v.parse::<Min>().map_err(|e| e.to_string()))
        .transpose()?;
    let mdn = get("mdn").map(|v| digits("mdn", v, 1, 15)).transpose()?;
    let imsi = |k: &str| -> Result<Option<String>, String> {
        get(k)
            .map(|v| {
                v.parse::<Imsi>()
                    .map(|i| i.to_string())
                    .map_err(|e| format!("{k}: {e}"))
            })
            .transpose()
    };
    let imsi_m = imsi("imsi_m")?;
    let imsi_t = imsi("imsi_t")?;
    let bool_or = |k: &str, default: bool| get(k).map_or(Ok(default), |v| boolean(k, v));
    let capabilities = Capabilities {
        iota: bool_or("iota", false)?,
        oma_dm: bool_or("oma_dm", false)?,
        brew: bool_or("brew", false)?,
        sspr_p_rev: get("sspr_p_rev")
            .map(|v| match number::<u8>("sspr_p_rev", v, 3)? {
                0 => Err("sspr_p_rev must be 1, 2 or 3, got 0".to_string()),
                n => Ok(n),
            })
            .transpose()?,
        band_classes: get("band_classes")
            .map(|v| {
                v.split(';')
                    .map(str::trim)
                    .filter(|b| !b.is_empty())
                    .map(|b| number::<u8>("band_classes", b, 31))
                    .collect::<Result<Vec<u8>, String>>()
            })
            .transpose()?
            .unwrap_or_default(),
    };
    let nam = NamSettings {
        home_sid_nid: get("home_sid_nid")
            .map(sid_nid_pairs)
            .transpose()?
            .unwrap_or_default(),
        mcc: get("mcc").map(|v| digits("mcc", v, 3, 3)).transpose()?,
        imsi_11_12: get("imsi_11_12")
            .map(|v| digits("imsi_11_12", v, 2, 2))
            .transpose()?,
        accolc: get("accolc").map(|v| number("accolc", v, 15)).transpose()?,
        mob_term_home: bool_or("mob_term_home", true)?,
        mob_term_for_sid: bool_or("mob_term_for_sid", true)?,
        mob_term_for_nid: bool_or("mob_term_for_nid", true)?,
        first_paging_channel: get("first_paging_channel")
            .map(|v| number("first_paging_channel", v, 2047))
            .transpose()?,
    };
    let activation_state: ActivationState = get("activation_state")
        .unwrap_or("")
        .trim()
        .parse()
        .map_err(|e: crate::store::stored_enum::UnknownSpelling| e.to_string())?;
    let to_json = |field: &'static str, v: serde_json::Result<serde_json::Value>| {
        v.map_err(|e| format!("{field}: {e}"))
    };
    Ok(NewProfile {
        esn: esn.map(|e| e.to_string()),
        meid: meid.map(|m| m.to_string()),
        pesn: pesn.map(|p| p.to_string()),
        min: min.map(|m| m.to_string()),
        mdn,
        imsi_m,
        imsi_t,
        make: get("make").unwrap_or_default().to_string(),
        model: get("model").unwrap_or_default().to_string(),
        firmware_version: get("firmware_version").unwrap_or_default().to_string(),
        capabilities: to_json("capabilities", serde_json::to_value(&capabilities))?,
        nam: to_json("nam", serde_json::to_value(&nam))?,
        prl_id: get("prl_id")
            .map(|v| number("prl_id", v, i32::MAX as u64))
            .transpose()?,
        sspr_table_number: get("sspr_table_number")
            .map(|v| number("sspr_table_number", v, i16::MAX as u64))
            .transpose()?,
        spc: get("spc").map(|v| digits("spc", v, 6, 6)).transpose()?,
        spasm_key: get("spasm_key")
            .map(|v| {
                v.parse::<otagw_codecs::spasm::SpasmKey>()
                    .map(|k| k.to_hex())
                    .map_err(|e| format!("spasm_key: {e}"))
            })
            .transpose()?,
        activation_state: activation_state.as_str().to_string(),
    })
}

/// Validates `input` against the file and the store, then writes every row or none.
/// `progress(done, total)` is called as rows are written.
pub async fn import(
    conn: &mut AsyncPgConnection,
    input: impl Read,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<usize, ImportError> {
    let rows = parse(input)?;
    let mut errors = Vec::new();

    // PRLs named by the file must be in the library.
    let known: HashSet<i32> = prl_library::ids(conn).await?.into_iter().collect();
    for row in &rows {
        if let Some(id) = row.profile.prl_id.filter(|id| !known.contains(id)) {
            errors.push(RowError {
                line: row.line,
                reason: format!(
                    "PRL {id} is not in the PRL library (import it first with `otagw prl import`)"
                ),
            });
        }
    }

    // Identities already taken by active profiles in the store.
    let mut wanted: HashMap<&'static str, Vec<String>> = HashMap::new();
    let mut line_of: HashMap<(&'static str, String), u64> = HashMap::new();
    for row in &rows {
        for (field, value) in identities(&row.profile) {
            wanted.entry(field).or_default().push(value.clone());
            line_of.insert((field, value), row.line);
        }
    }
    let list = |f: &str| wanted.get(f).cloned().unwrap_or_default();
    let taken = profiles::taken_identities(
        conn,
        &list("ESN"),
        &list("MEID"),
        &list("MDN"),
        &list("MIN"),
    )
    .await?;
    for (field, value) in taken {
        let line = line_of.get(&(field, value.clone())).copied().unwrap_or(0);
        errors.push(RowError {
            line,
            reason: format!("{field} {value} already belongs to an active profile in the store"),
        });
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(ImportError::Rows(errors));
    }

    let total = rows.len();
    let new: Vec<NewProfile> = rows.into_iter().map(|r| r.profile).collect();
    let written = profiles::insert_all(conn, &new, &|done| progress(done, total)).await?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn rows_err(csv: &str) -> Vec<RowError> {
        match parse(csv.as_bytes()) {
            Err(ImportError::Rows(rows)) => rows,
            other => panic!("expected row errors, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_full_row() {
        let csv = "esn,min,mdn,make,model,iota,sspr_p_rev,home_sid_nid,mcc,imsi_11_12,accolc,prl_id,spc\n\
                   1A2B3C4D,6195551234,6195551234,Acme,X1,yes,3,4139/65535;4140/7,310,00,3,7,123456\n";
        let rows = parse(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        let p = &rows[0].profile;
        assert_eq!(rows[0].line, 2);
        assert_eq!(p.esn.as_deref(), Some("1A2B3C4D"));
        assert_eq!(p.prl_id, Some(7));
        let nam: NamSettings = serde_json::from_value(p.nam.clone()).unwrap();
        assert_eq!(nam.home_sid_nid[1], SidNid { sid: 4140, nid: 7 });
        assert_eq!(nam.mcc.as_deref(), Some("310"));
        let caps: Capabilities = serde_json::from_value(p.capabilities.clone()).unwrap();
        assert!(caps.iota);
        assert_eq!(caps.sspr_p_rev, Some(3));
        assert_eq!(p.activation_state, "pending_activation");
    }

    #[test]
    fn meid_rows_store_the_pesn() {
        let rows = parse("meid\nA0000000002329\n".as_bytes()).unwrap();
        let p = &rows[0].profile;
        assert_eq!(p.meid.as_deref(), Some("A0000000002329"));
        assert!(p.pesn.as_deref().unwrap().starts_with("80"));
        assert_eq!(p.esn, None);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let csv = "esn,mdn,accolc,spc\n\
                   1A2B3C4D,6195550001,3,123456\n\
                   1A2B3C4,6195550002,3,123456\n\
                   1A2B3C4E,6195550001,3,123456\n\
                   1A2B3C4F,6195550003,16,123456\n\
                   ,6195550004,1,123456\n\
                   1A2B3C50,6195550005,1,12345\n";
        let errs = rows_err(csv);
        let lines: Vec<u64> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7], "{errs:?}");
        assert!(errs[0].reason.contains("ESN"), "{}", errs[0]);
        assert!(errs[1].reason.contains("already on line 2"), "{}", errs[1]);
        assert!(errs[2].reason.contains("accolc"), "{}", errs[2]);
        assert!(errs[3].reason.contains("ESN or a MEID"), "{}", errs[3]);
        assert!(errs[4].reason.contains("spc"), "{}", errs[4]);
    }

    #[test]
    fn spasm_keys_are_checked_stored_upper_case_and_never_echoed() {
        let rows = parse("esn,spasm_key\n1A2B3C4D,8899aabbccddeeff\n".as_bytes()).unwrap();
        assert_eq!(
            rows[0].profile.spasm_key.as_deref(),
            Some("8899AABBCCDDEEFF")
        );
        let errs = rows_err("esn,spasm_key\n1A2B3C4D,SECRETSECRETSECR\n1A2B3C4E,12AB\n");
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].reason.contains("spasm_key"), "{}", errs[0]);
        assert!(
            !errs[0].reason.contains("SECRET"),
            "the key is not echoed: {}",
            errs[0]
        );
        assert!(
            errs[1].reason.contains("16 hexadecimal digits"),
            "{}",
            errs[1]
        );
    }

    #[test]
    fn a_field_too_long_is_reported_with_its_line_and_column() {
        let long = "x".repeat(4 * 1024 * 1024);
        let csv = format!("esn,make,model\nD3000001,Acme,M1\nD3000002,{long},M2\n");
        let errors = rows_err(&csv);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 3);
        assert_eq!(
            errors[0].reason,
            format!(
                "column 2 (make) is {} octets long; at most 1024",
                long.len()
            )
        );
    }

    #[test]
    fn header_problems_are_format_errors() {
        assert!(
            matches!(parse("esn,colour\n".as_bytes()), Err(ImportError::Format(m)) if m.contains("colour"))
        );
        assert!(matches!(
            parse("mdn\n1\n".as_bytes()),
            Err(ImportError::Format(_))
        ));
    }

    #[test]
    fn esn_must_match_the_meid_pesn() {
        let errs = rows_err("esn,meid\n12345678,A0000000002329\n");
        assert!(errs[0].reason.contains("pseudo-ESN"), "{}", errs[0]);
    }
}

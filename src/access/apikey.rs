//! API keys: `otagw_<prefix>_<secret>`, 8 hex digits of public prefix (how the store finds the
//! key) and 32 random octets of secret (base64url). The key is shown once, when made; the store
//! keeps only the prefix and the SHA-256 digest of the whole key, compared in constant time.
//! A key has 256 bits of entropy, so a fast digest is enough (no password hashing needed).

use base64::Engine;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// What every key starts with (so a leaked key is recognisable by secret scanners).
pub const SCHEME: &str = "otagw";
/// Length of the public prefix (hex digits).
pub const PREFIX_LEN: usize = 8;
const SECRET_OCTETS: usize = 32;

/// A freshly made key.
pub struct NewKey {
    /// The whole key, to be shown once and never stored.
    pub key: String,
    /// Its public prefix.
    pub prefix: String,
    /// The digest the store keeps.
    pub digest: Vec<u8>,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Why a key cannot be made or read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApiKeyError {
    /// The random source failed.
    #[error("no randomness for a new key: {0}")]
    Random(String),
    /// Not of the form `otagw_<prefix>_<secret>`.
    #[error("not an otagw API key")]
    Malformed,
}

/// Makes a new random key.
pub fn generate() -> Result<NewKey, ApiKeyError> {
    let mut prefix = [0u8; PREFIX_LEN / 2];
    let mut secret = [0u8; SECRET_OCTETS];
    getrandom::fill(&mut prefix).map_err(|e| ApiKeyError::Random(e.to_string()))?;
    getrandom::fill(&mut secret).map_err(|e| ApiKeyError::Random(e.to_string()))?;
    let prefix: String = prefix.iter().map(|b| format!("{b:02x}")).collect();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let key = format!("{SCHEME}_{prefix}_{secret}");
    let digest = digest(&key);
    Ok(NewKey {
        key,
        prefix,
        digest,
    })
}

/// The prefix of a presented key, after checking its shape.
pub fn prefix_of(key: &str) -> Result<&str, ApiKeyError> {
    let rest = key
        .strip_prefix(SCHEME)
        .and_then(|r| r.strip_prefix('_'))
        .ok_or(ApiKeyError::Malformed)?;
    let (prefix, secret) = rest.split_once('_').ok_or(ApiKeyError::Malformed)?;
    let hex = prefix.len() == PREFIX_LEN
        && prefix
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let secret_ok = secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if hex && secret_ok {
        Ok(prefix)
    } else {
        Err(ApiKeyError::Malformed)
    }
}

/// The SHA-256 digest of a whole key.
pub fn digest(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Whether `key` is the key whose digest is `stored` (constant-time).
pub fn matches(stored: &[u8], key: &str) -> bool {
    super::constant_time_eq(stored, &digest(key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_back_and_matches_only_itself() {
        let k = generate().unwrap();
        assert_eq!(prefix_of(&k.key).unwrap(), k.prefix);
        assert!(matches(&k.digest, &k.key));
        let other = generate().unwrap();
        assert_ne!(k.key, other.key);
        assert!(!matches(&k.digest, &other.key));
        assert!(!format!("{k:?}").contains(&k.key[15..]));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "otagw",
            "otagw_",
            "otagw_0011aabb",
            "otagw_0011AABB_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "other_0011aabb_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "otagw_0011aabb_short",
        ] {
            assert_eq!(prefix_of(bad), Err(ApiKeyError::Malformed), "{bad}");
        }
    }
}

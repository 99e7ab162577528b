//! Passwords: argon2id hashes in the PHC string format (`$argon2id$v=19$m=...`), the rules a
//! new password must meet, and a verification that costs the same whether or not the account
//! exists.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use thiserror::Error;

/// Shortest password of an operator (a person using the API or the console).
pub const MIN_OPERATOR_LEN: usize = 10;
/// Longest password of an SMPP account (SMPP 3.4 `password`: 9 octets with the NUL).
pub const MAX_SMPP_LEN: usize = 8;

/// Why a password or a hash cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasswordError {
    /// Empty passwords are never accepted.
    #[error("the password is empty")]
    Empty,
    /// Too short for an operator.
    #[error("an operator's password needs at least {MIN_OPERATOR_LEN} characters")]
    TooShort,
    /// Too long for SMPP.
    #[error("an SMPP account's password has at most {MAX_SMPP_LEN} characters (SMPP 3.4)")]
    TooLongForSmpp,
    /// A control character (a pasted newline, a NUL).
    #[error("the password contains a control character")]
    ControlCharacter,
    /// The random source or the hasher failed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// Checks a new password for an account whose roles are SMPP roles (`smpp`) or not.
pub fn check_new(password: &str, smpp: bool) -> Result<(), PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    if password.chars().any(char::is_control) {
        return Err(PasswordError::ControlCharacter);
    }
    if smpp {
        if password.len() > MAX_SMPP_LEN {
            return Err(PasswordError::TooLongForSmpp);
        }
    } else if password.chars().count() < MIN_OPERATOR_LEN {
        return Err(PasswordError::TooShort);
    }
    Ok(())
}

/// The argon2id hash of `password` with a fresh random salt, as a PHC string.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// A hash of a password nobody has, verified against when the account is unknown so that an
/// unknown name costs as much as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("no account has this password").unwrap_or_default())
}

/// Whether `password` matches `stored` (a PHC string); with no stored hash (unknown account,
/// account without password), a dummy hash is checked so the time taken is the same, and the
/// answer is false. The comparison of the digests is constant-time (argon2's own).
pub fn verify(stored: Option<&str>, password: &str) -> bool {
    let (phc, real) = match stored {
        Some(s) => (s, true),
        None => (dummy_hash(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real && !password.is_empty()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_salted_and_verifies() {
        let a = hash("correct horse").unwrap();
        let b = hash("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "fresh salt each time");
        assert!(!a.contains("correct horse"));
        assert!(verify(Some(&a), "correct horse"));
        assert!(!verify(Some(&a), "correct hors"));
        assert!(!verify(None, "correct horse"));
        assert!(!verify(Some("not a hash"), "x"));
    }

    #[test]
    fn new_passwords_are_checked() {
        assert_eq!(check_new("", true), Err(PasswordError::Empty));
        assert_eq!(check_new("", false), Err(PasswordError::Empty));
        assert_eq!(check_new("short", false), Err(PasswordError::TooShort));
        assert_eq!(
            check_new("123456789", true),
            Err(PasswordError::TooLongForSmpp)
        );
        assert_eq!(
            check_new("abc\n", true),
            Err(PasswordError::ControlCharacter)
        );
        assert!(check_new("ivrpw", true).is_ok());
        assert!(check_new("long enough password", false).is_ok());
    }
}

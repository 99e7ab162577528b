//! How a setting is written in the configuration file, and how a section says a value is out of
//! range.
//!
//! Each section of the configuration is owned by the component that uses it (`smpp::SmppConfig`,
//! `mniu::Ss7Config`, ...) and holds typed values: a timer is a [`Duration`], an address a
//! [`SocketAddr`], a point code a [`PointCode`]. `crate::config::Config` composes the sections.
//! This module sits below all of them (it imports no component), so every section can use it:
//!
//! - [`secs`] and [`millis`]: a [`Duration`] written as a whole number of seconds or
//!   milliseconds, the unit in the key (`session_timeout_secs = 120`, `invoke_timeout_ms = 5000`);
//! - [`addr`], [`addrs`], [`point_code`]: a value written as text, read through its `FromStr`
//!   with an error that says what was expected;
//! - [`InvalidSetting`], [`within`], [`secs_within`], [`millis_within`]: what a section's
//!   `validate` reports when a value of the right type is not acceptable, naming its key.
//!
//! Use the helpers with `#[serde(rename = "session_timeout_secs", with = "crate::setting::secs")]`.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::time::Duration;

use thiserror::Error;

#[cfg(doc)]
use otagw_codecs::m3ua::PointCode;
#[cfg(doc)]
use std::net::SocketAddr;

/// A value of the right type that is not acceptable, with the key it was given for.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid value for {key}: {message}")]
pub struct InvalidSetting {
    /// The key, e.g. `smpp.window`.
    pub key: &'static str,
    /// What was expected (and what was found).
    pub message: String,
}

impl InvalidSetting {
    /// The value of `key` is not acceptable: `message` says what was expected.
    pub fn new(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            key,
            message: message.into(),
        }
    }
}

/// Checks that `value` of `key` lies in `range`: "expected 1 to 251 octets, got 0".
pub fn within<T: PartialOrd + Display>(
    key: &'static str,
    value: T,
    range: RangeInclusive<T>,
    unit: &str,
) -> Result<(), InvalidSetting> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(InvalidSetting::new(
        key,
        format!(
            "expected {} to {} {unit}, got {value}",
            range.start(),
            range.end()
        ),
    ))
}

/// Checks that a timer written in whole seconds (`key`) lies in `range` seconds.
pub fn secs_within(
    key: &'static str,
    value: Duration,
    range: RangeInclusive<u64>,
) -> Result<(), InvalidSetting> {
    duration_within(key, value, range, Duration::from_secs, "seconds", |d| {
        (d.subsec_nanos() == 0).then(|| d.as_secs().to_string())
    })
}

/// Checks that a timer written in whole milliseconds (`key`) lies in `range` milliseconds.
pub fn millis_within(
    key: &'static str,
    value: Duration,
    range: RangeInclusive<u64>,
) -> Result<(), InvalidSetting> {
    duration_within(
        key,
        value,
        range,
        Duration::from_millis,
        "milliseconds",
        |d| (d.subsec_nanos() % 1_000_000 == 0).then(|| d.as_millis().to_string()),
    )
}

fn duration_within(
    key: &'static str,
    value: Duration,
    range: RangeInclusive<u64>,
    unit: fn(u64) -> Duration,
    unit_name: &str,
    whole: fn(Duration) -> Option<String>,
) -> Result<(), InvalidSetting> {
    if (unit(*range.start())..=unit(*range.end())).contains(&value) {
        return Ok(());
    }
    let got = whole(value).unwrap_or_else(|| format!("{value:?}"));
    Err(InvalidSetting::new(
        key,
        format!(
            "expected {} to {} {unit_name}, got {got}",
            range.start(),
            range.end()
        ),
    ))
}

/// A [`Duration`] written as whole seconds (sub-second parts are dropped when written).
pub mod secs {
    use super::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the whole seconds.
    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_secs())
    }

    /// Reads a number of seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// A [`Duration`] written as whole milliseconds (sub-millisecond parts are dropped when
/// written).
pub mod millis {
    use super::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the whole milliseconds.
    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    /// Reads a number of milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Reads text through `T::from_str`; a refusal becomes `expected {expected}, got "text"`, with
/// the parser's reason when `with_reason`.
fn parse_text<'de, D, T>(d: D, expected: &str, with_reason: bool) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: Display,
{
    use serde::Deserialize;
    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    text.parse().map_err(|e: T::Err| {
        serde::de::Error::custom(if with_reason {
            format!("expected {expected}, got {text:?}: {e}")
        } else {
            format!("expected {expected}, got {text:?}")
        })
    })
}

/// A [`SocketAddr`] written as text (`"127.0.0.1:8080"`).
pub mod addr {
    use std::net::SocketAddr;

    use serde::{Deserializer, Serializer};

    /// What an address looks like, for errors.
    pub(crate) const EXPECTED: &str = "an IP address and port like 127.0.0.1:8080";

    /// Writes the address.
    pub fn serialize<S: Serializer>(value: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    /// Reads an address.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
        super::parse_text(d, EXPECTED, false)
    }
}

/// A list of [`SocketAddr`]s written as text (`["10.0.0.1:2905", "10.0.0.2:2905"]`).
pub mod addrs {
    use std::net::SocketAddr;

    use serde::de::{SeqAccess, Visitor};
    use serde::ser::SerializeSeq;
    use serde::{Deserializer, Serializer};

    /// Writes the addresses.
    pub fn serialize<S: Serializer>(value: &[SocketAddr], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(value.len()))?;
        for a in value {
            seq.serialize_element(&a.to_string())?;
        }
        seq.end()
    }

    /// Reads a list of addresses.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SocketAddr>, D::Error> {
        struct Addrs;
        impl<'de> Visitor<'de> for Addrs {
            type Value = Vec<SocketAddr>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a list of {}", super::addr::EXPECTED)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(a) = seq.next_element::<Addr>()? {
                    out.push(a.0);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Addrs)
    }

    struct Addr(SocketAddr);

    impl<'de> serde::Deserialize<'de> for Addr {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            super::addr::deserialize(d).map(Addr)
        }
    }
}

/// An ANSI [`PointCode`] written as text, network-cluster-member (`"1-1-1"`).
pub mod point_code {
    use otagw_codecs::m3ua::PointCode;
    use serde::{Deserializer, Serializer};

    /// Writes the point code.
    pub fn serialize<S: Serializer>(value: &PointCode, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    /// Reads a point code.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PointCode, D::Error> {
        super::parse_text(d, "an ANSI point code like 1-1-1", true)
    }
}

/// A [`chrono::Duration`] from a configured timer (for the code that counts in chrono); a timer
/// too long for it (beyond any range a section accepts) becomes the longest chrono duration.
pub fn to_chrono(value: Duration) -> chrono::Duration {
    chrono::Duration::from_std(value).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::net::SocketAddr;

    use otagw_codecs::m3ua::PointCode;
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Section {
        #[serde(rename = "timeout_secs", with = "secs")]
        timeout: Duration,
        #[serde(rename = "timer_ms", with = "millis")]
        timer: Duration,
        #[serde(with = "addr")]
        listen: SocketAddr,
        #[serde(with = "addrs")]
        peers: Vec<SocketAddr>,
        #[serde(with = "point_code")]
        pc: PointCode,
    }

    const TEXT: &str = r#"
timeout_secs = 120
timer_ms = 5000
listen = "127.0.0.1:8080"
peers = ["10.0.0.1:2905", "[::1]:2906"]
pc = "1-2-3"
"#;

    /// The section of [`TEXT`] with `key` set to the TOML value `bad`; errors as
    /// `Config::load` reports them (the key's path, then the message).
    fn read_with(key: &str, bad: &str) -> Result<Section, String> {
        let mut table: toml::Table = toml::from_str(TEXT).unwrap();
        let value: toml::Table = toml::from_str(&format!("v = {bad}")).unwrap();
        table.insert(key.to_string(), value["v"].clone());
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let path = e.path().to_string();
            format!("{path}: {}", e.into_inner().message())
        })
    }

    fn section() -> Section {
        toml::from_str(TEXT).unwrap()
    }

    #[test]
    fn values_are_typed_and_written_back_in_the_units_of_their_keys() {
        let s = section();
        assert_eq!(s.timeout, Duration::from_secs(120));
        assert_eq!(s.timer, Duration::from_millis(5000));
        assert_eq!(s.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(s.peers.len(), 2);
        assert_eq!(s.peers[1].port(), 2906);
        assert_eq!(s.pc, PointCode::from_parts(1, 2, 3));
        let written = toml::to_string(&s).unwrap();
        assert!(written.contains("timeout_secs = 120"), "{written}");
        assert!(written.contains("timer_ms = 5000"), "{written}");
        assert!(written.contains("pc = \"1-2-3\""), "{written}");
        assert_eq!(toml::from_str::<Section>(&written).unwrap(), s);
    }

    #[test]
    fn bad_text_says_what_was_expected_and_where() {
        for (key, bad, expected) in [
            ("listen", "\"localhost\"", "expected an IP address and port"),
            ("peers", "[\"10.0.0.1\"]", "expected an IP address and port"),
            ("pc", "\"1-2\"", "expected an ANSI point code like 1-1-1"),
            (
                "pc",
                "\"1-2-300\"",
                "expected an ANSI point code like 1-1-1",
            ),
            ("timeout_secs", "-1", "u64"),
            ("timer_ms", "\"5s\"", "u64"),
        ] {
            let err = read_with(key, bad).unwrap_err();
            assert!(err.starts_with(key), "{key}: {err}");
            assert!(err.contains(expected), "{key}: {err}");
        }
    }

    #[test]
    fn ranges_name_the_key_and_the_bounds() {
        assert!(within("a.b", 5u8, 1..=251, "octets").is_ok());
        let err = within("iota.segment_size", 0u8, 1..=251, "octets").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for iota.segment_size: expected 1 to 251 octets, got 0"
        );
        assert!(secs_within("k", Duration::from_secs(1), 1..=86_400).is_ok());
        assert!(secs_within("k", Duration::from_secs(86_400), 1..=86_400).is_ok());
        let err = secs_within("k", Duration::ZERO, 1..=86_400).unwrap_err();
        assert_eq!(err.message, "expected 1 to 86400 seconds, got 0");
        let err = secs_within("k", Duration::from_millis(86_400_500), 1..=86_400).unwrap_err();
        assert_eq!(err.message, "expected 1 to 86400 seconds, got 86400.5s");
        assert!(millis_within("k", Duration::from_millis(10), 10..=60_000).is_ok());
        let err = millis_within("k", Duration::from_millis(5), 10..=60_000).unwrap_err();
        assert_eq!(err.message, "expected 10 to 60000 milliseconds, got 5");
        assert_eq!(err.key, "k");
    }

    #[test]
    fn chrono_saturates() {
        assert_eq!(
            to_chrono(Duration::from_secs(120)),
            chrono::Duration::seconds(120)
        );
        assert_eq!(to_chrono(Duration::MAX), chrono::Duration::MAX);
    }
}

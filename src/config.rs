//! Configuration: one TOML file, every setting overridable by an `OTAGW_*` environment variable,
//! defaults that need no file at all.
//!
//! A setting `section.key` is overridden by `OTAGW_SECTION_KEY` (upper case), e.g.
//! `database.pool_size` by `OTAGW_DATABASE_POOL_SIZE`. Unknown keys, unknown `OTAGW_*` variables
//! and invalid values stop start-up with a [`ConfigError`] naming the key and what was expected.
//!
//! Each section is a type owned by the component that uses it ([`SmppConfig`] by the SMPP
//! sender, [`Ss7Config`] by the MNIU, [`OsppConfig`] by the OSPP handler, [`PrlCampaignConfig`]
//! by the campaign worker, [`DatabaseConfig`] by the store's opener, [`LogConfig`] by telemetry);
//! [`Config`] composes them with the sections only the wiring reads ([`HttpConfig`],
//! [`IotaConfig`], [`IvrConfig`], [`TraceConfig`]). Values are typed when the file and the
//! variables are read (addresses, point codes, timers as [`Duration`], with the unit in the key:
//! see [`crate::setting`]); [`Config::load`] then checks the ranges and the settings that
//! depend on each other.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use crate::database::redact_url;
use crate::database::DatabaseConfig;
use crate::flows::prl_campaign::worker::PrlCampaignConfig;
use crate::mniu::Ss7Config;
use crate::ospp_handler::OsppConfig;
use crate::setting::{self, InvalidSetting};
use crate::smpp::SmppConfig;
use crate::store::outbox::OutboxBearer;
pub use crate::telemetry::{LogConfig, LogFormat};

/// Prefix of the environment variables that override settings.
pub const ENV_PREFIX: &str = "OTAGW_";

/// Why the configuration was refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file, or the file with environment overrides applied, is not valid.
    #[error("invalid configuration{origin}: {message}")]
    Invalid {
        /// Where the bad value came from (" in FILE" or "").
        origin: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// An `OTAGW_*` variable names no setting.
    #[error("environment variable {var} names no setting (known: {known})")]
    UnknownVariable {
        /// The variable.
        var: String,
        /// The variables that exist.
        known: String,
    },
    /// A value is of the right type but not acceptable.
    #[error("invalid value for {key}: {message}")]
    Value {
        /// The key, e.g. `smpp.window`.
        key: &'static str,
        /// What was expected.
        message: String,
    },
}

impl From<InvalidSetting> for ConfigError {
    fn from(e: InvalidSetting) -> Self {
        Self::Value {
            key: e.key,
            message: e.message,
        }
    }
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The customer-profile store.
    pub database: DatabaseConfig,
    /// The admin HTTP server (/healthz, /metrics).
    pub http: HttpConfig,
    /// The IOTA HTTP server (IS-683 over HTTP).
    pub iota: IotaConfig,
    /// The SS7 side (MNIU): M3UA associations, point codes, MSCs and HLR.
    pub ss7: Ss7Config,
    /// The signalling trace (pcap).
    pub trace: TraceConfig,
    /// The SMPP sender (the gateway as ESME towards the SMSC).
    pub smpp: SmppConfig,
    /// IVR-assisted activation.
    pub ivr: IvrConfig,
    /// The OSPP handler: the SMPP server IVRs and OTAP tools bind to.
    pub ospp: OsppConfig,
    /// PRL campaigns.
    pub prl_campaign: PrlCampaignConfig,
    /// Logging.
    pub log: LogConfig,
}

/// Admin HTTP settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address the admin HTTP server listens on (port 0: any).
    #[serde(with = "crate::setting::addr")]
    pub listen: SocketAddr,
    /// Connections the admin server serves at once (more are closed at once).
    pub max_connections: usize,
    /// Connections the admin server serves at once from one source address.
    pub max_connections_per_source: usize,
    /// Time for a request's head to arrive (`header_timeout_secs`).
    #[serde(rename = "header_timeout_secs", with = "crate::setting::secs")]
    pub header_timeout: Duration,
    /// Time for a request's body to arrive (`body_timeout_secs`).
    #[serde(rename = "body_timeout_secs", with = "crate::setting::secs")]
    pub body_timeout: Duration,
    /// Time a connection may make no progress while the server waits on it
    /// (`idle_timeout_secs`).
    #[serde(rename = "idle_timeout_secs", with = "crate::setting::secs")]
    pub idle_timeout: Duration,
    /// Largest request body in octets.
    pub max_body_bytes: usize,
    /// Host names the API answers to besides IP literals and `localhost` (the `Host` header
    /// is checked on every `/api/v1` request, against DNS rebinding; an `Origin` on a
    /// state-changing request must be the same host or one of these).
    pub allowed_hosts: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_connections: 64,
            max_connections_per_source: 32,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_body_bytes: 2 * 1024 * 1024,
            allowed_hosts: Vec::new(),
        }
    }
}

impl HttpConfig {
    /// Checks the values the types allow but the admin server does not take.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        validate_listener(
            "http",
            ListenerValues {
                max_connections: self.max_connections,
                max_connections_per_source: self.max_connections_per_source,
                header_timeout: self.header_timeout,
                body_timeout: self.body_timeout,
                idle_timeout: self.idle_timeout,
                max_body_bytes: self.max_body_bytes,
            },
        )
    }

    /// The limits the admin server serves within.
    pub(crate) fn limits(&self) -> crate::http::server::HttpLimits {
        crate::http::server::HttpLimits {
            max_connections: self.max_connections,
            max_connections_per_source: self.max_connections_per_source,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            idle_timeout: self.idle_timeout,
            max_body: self.max_body_bytes,
            too_large: crate::http::server::too_large,
        }
    }
}

/// An HTTP listener's limits, for [`validate_listener`].
struct ListenerValues {
    max_connections: usize,
    max_connections_per_source: usize,
    header_timeout: Duration,
    body_timeout: Duration,
    idle_timeout: Duration,
    max_body_bytes: usize,
}

/// Checks the limits of the HTTP listener of `section` (`http` or `iota`).
fn validate_listener(section: &'static str, v: ListenerValues) -> Result<(), InvalidSetting> {
    let key = |k: &str| -> &'static str {
        match (section, k) {
            ("http", "max") => "http.max_connections",
            ("http", "per") => "http.max_connections_per_source",
            ("http", "header") => "http.header_timeout_secs",
            ("http", "body") => "http.body_timeout_secs",
            ("http", "idle") => "http.idle_timeout_secs",
            ("http", _) => "http.max_body_bytes",
            (_, "max") => "iota.max_connections",
            (_, "per") => "iota.max_connections_per_source",
            (_, "header") => "iota.header_timeout_secs",
            (_, "body") => "iota.body_timeout_secs",
            (_, "idle") => "iota.idle_timeout_secs",
            _ => "iota.max_body_bytes",
        }
    };
    setting::within(key("max"), v.max_connections, 1..=100_000, "connections")?;
    setting::within(
        key("per"),
        v.max_connections_per_source,
        1..=v.max_connections.max(1),
        "connections (at most max_connections)",
    )?;
    setting::secs_within(key("header"), v.header_timeout, 1..=3600)?;
    setting::secs_within(key("body"), v.body_timeout, 1..=3600)?;
    setting::secs_within(key("idle"), v.idle_timeout, 1..=86_400)?;
    setting::within(
        key("body_bytes"),
        v.max_body_bytes,
        1024..=64 * 1024 * 1024,
        "octets",
    )
}

/// IOTA settings: the IOTA HTTP server, its sessions, and the PRL pushes that wake handsets
/// (read by the wiring, which hands each component its part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IotaConfig {
    /// Address the IOTA HTTP server listens on (port 0: any).
    #[serde(with = "crate::setting::addr")]
    pub listen: SocketAddr,
    /// How long a session may wait for the handset's next request before it is closed with
    /// cause "timeout" (`session_timeout_secs`).
    #[serde(rename = "session_timeout_secs", with = "crate::setting::secs")]
    pub session_timeout: Duration,
    /// Largest SSPR Download segment in octets (1-251).
    pub segment_size: u8,
    /// How often the deadline scheduler looks for expired sessions (`scheduler_interval_ms`).
    #[serde(rename = "scheduler_interval_ms", with = "crate::setting::millis")]
    pub scheduler_interval: Duration,
    /// Base URL handsets reach the IOTA server at (for the OTAPA call-back URLs in WAP pushes);
    /// empty: `http://` + the listen address.
    pub public_url: String,
    /// How long a handset has to follow a PRL push before the session closes with `timeout`
    /// (`otapa_callback_timeout_secs`).
    #[serde(rename = "otapa_callback_timeout_secs", with = "crate::setting::secs")]
    pub otapa_callback_timeout: Duration,
    /// How the PRL push (WAP Service Loading with the OTAPA call-back URL) reaches the handset:
    /// `smsc` (SMPP, to the MDN) or `ss7` (SMDPP with teleservice 4100 straight to the serving
    /// MSC the HLR names, to the MIN; needs `ss7.enabled`).
    #[serde(deserialize_with = "push_bearer")]
    pub otapa_push_bearer: OutboxBearer,
    /// Connections the IOTA server serves at once (more are closed at once).
    pub max_connections: usize,
    /// Connections the IOTA server serves at once from one source address (a WAP gateway
    /// carries many handsets).
    pub max_connections_per_source: usize,
    /// Time for a request's head to arrive (`header_timeout_secs`).
    #[serde(rename = "header_timeout_secs", with = "crate::setting::secs")]
    pub header_timeout: Duration,
    /// Time for a request's body to arrive (`body_timeout_secs`).
    #[serde(rename = "body_timeout_secs", with = "crate::setting::secs")]
    pub body_timeout: Duration,
    /// Time a connection may make no progress while the server waits on it
    /// (`idle_timeout_secs`).
    #[serde(rename = "idle_timeout_secs", with = "crate::setting::secs")]
    pub idle_timeout: Duration,
    /// Largest request body in octets.
    pub max_body_bytes: usize,
}

impl Default for IotaConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8181)),
            session_timeout: Duration::from_secs(120),
            segment_size: 251,
            scheduler_interval: Duration::from_millis(1000),
            public_url: String::new(),
            otapa_callback_timeout: Duration::from_secs(600),
            otapa_push_bearer: OutboxBearer::Smsc,
            max_connections: 512,
            max_connections_per_source: 256,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_body_bytes: 64 * 1024,
        }
    }
}

impl IotaConfig {
    /// Checks the values the types allow but the IOTA side does not take.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        setting::secs_within(
            "iota.session_timeout_secs",
            self.session_timeout,
            1..=86_400,
        )?;
        setting::within("iota.segment_size", self.segment_size, 1..=251, "octets")?;
        setting::millis_within(
            "iota.scheduler_interval_ms",
            self.scheduler_interval,
            10..=60_000,
        )?;
        setting::secs_within(
            "iota.otapa_callback_timeout_secs",
            self.otapa_callback_timeout,
            1..=604_800,
        )?;
        validate_listener(
            "iota",
            ListenerValues {
                max_connections: self.max_connections,
                max_connections_per_source: self.max_connections_per_source,
                header_timeout: self.header_timeout,
                body_timeout: self.body_timeout,
                idle_timeout: self.idle_timeout,
                max_body_bytes: self.max_body_bytes,
            },
        )
    }

    /// The limits the IOTA server serves within.
    pub(crate) fn limits(&self) -> crate::http::server::HttpLimits {
        crate::http::server::HttpLimits {
            max_connections: self.max_connections,
            max_connections_per_source: self.max_connections_per_source,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            idle_timeout: self.idle_timeout,
            max_body: self.max_body_bytes,
            too_large: crate::http::iota::too_large,
        }
    }
}

/// Reads `iota.otapa_push_bearer`, saying which spellings there are.
fn push_bearer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<OutboxBearer, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    text.parse().map_err(|_| {
        let expected: Vec<String> = OutboxBearer::SPELLINGS
            .iter()
            .map(|s| format!("{s:?}"))
            .collect();
        serde::de::Error::custom(format!("expected {}, got {text:?}", expected.join(" or ")))
    })
}

/// IVR-assisted activation settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IvrConfig {
    /// The welcome SMS sent before the WAP push (empty: none).
    pub welcome_text: String,
    /// The text of the WAP push Service Indication.
    pub push_text: String,
}

impl Default for IvrConfig {
    fn default() -> Self {
        Self {
            welcome_text: "Welcome! Your phone is being activated.".to_string(),
            push_text: "Activate your phone".to_string(),
        }
    }
}

/// Signalling trace settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TraceConfig {
    /// pcap file to write every M3UA and IOTA IS-683 message to; empty: no trace.
    pub file: String,
    /// Size at which the file is rotated to `FILE.1` (0: never).
    pub max_bytes: u64,
}

impl Default for TraceConfig {
    fn default() -> Self {
        Self {
            file: String::new(),
            max_bytes: 100 * 1024 * 1024,
        }
    }
}

impl Config {
    /// Loads the configuration: defaults, then `file` if given, then `OTAGW_*` variables from
    /// `env`, then validation.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let (mut table, origin) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let table: toml::Table =
                    toml::from_str(&text).map_err(|e| ConfigError::Invalid {
                        origin: format!(" in {}", path.display()),
                        message: e.message().to_string(),
                    })?;
                // Reject unknown keys and wrong types in the file before mixing in the env.
                Self::from_table(table.clone(), &format!(" in {}", path.display()))?;
                (table, format!(" in {}", path.display()))
            }
            None => (Self::defaults_table()?, String::new()),
        };
        let mut overridden = false;
        for (var, value) in env {
            let Some(name) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let (section, key) = Self::env_key(&name.to_ascii_lowercase()).ok_or_else(|| {
                ConfigError::UnknownVariable {
                    var: var.clone(),
                    known: Self::env_names().join(", "),
                }
            })?;
            let section_table = table
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = section_table {
                t.insert(key, Self::env_value(&section, &var, &value));
            }
            overridden = true;
        }
        let origin = if overridden {
            format!("{origin} (with OTAGW_* overrides)")
        } else {
            origin
        };
        let config = Self::from_table(table, &origin)?;
        config.validate()?;
        Ok(config)
    }

    fn from_table(table: toml::Table, origin: &str) -> Result<Self, ConfigError> {
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().message().to_string();
            ConfigError::Invalid {
                origin: origin.to_string(),
                message: if path == "." {
                    message
                } else {
                    format!("{path}: {message}")
                },
            }
        })
    }

    fn defaults_table() -> Result<toml::Table, ConfigError> {
        toml::Table::try_from(Config::default()).map_err(|e| ConfigError::Invalid {
            origin: String::new(),
            message: e.to_string(),
        })
    }

    /// `(section, key)` of every setting, from the defaults.
    fn keys() -> Vec<(String, String)> {
        let mut keys = Vec::new();
        if let Ok(table) = Self::defaults_table() {
            for (section, value) in table {
                if let toml::Value::Table(t) = value {
                    keys.extend(t.keys().map(|k| (section.clone(), k.clone())));
                }
            }
        }
        keys
    }

    /// The environment variable of every setting.
    pub fn env_names() -> Vec<String> {
        Self::keys()
            .into_iter()
            .map(|(s, k)| format!("{ENV_PREFIX}{}_{}", s, k).to_ascii_uppercase())
            .collect()
    }

    fn env_key(name: &str) -> Option<(String, String)> {
        Self::keys()
            .into_iter()
            .find(|(s, k)| format!("{s}_{k}") == name)
    }

    /// Types an environment value like the default it replaces, so that `pool_size=abc` is
    /// reported as a type error on the key rather than silently becoming a string.
    fn env_value(section: &str, var: &str, value: &str) -> toml::Value {
        let default = Self::defaults_table().ok().and_then(|t| {
            let key = var
                .strip_prefix(ENV_PREFIX)?
                .to_ascii_lowercase()
                .strip_prefix(&format!("{section}_"))?
                .to_string();
            t.get(section)?.get(&key).cloned()
        });
        match default {
            Some(toml::Value::Integer(_)) => value
                .trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .unwrap_or_else(|_| toml::Value::String(value.to_string())),
            Some(toml::Value::Array(_)) => toml::Value::Array(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| toml::Value::String(v.to_string()))
                    .collect(),
            ),
            Some(toml::Value::Boolean(_)) => value
                .trim()
                .parse::<bool>()
                .map(toml::Value::Boolean)
                .unwrap_or_else(|_| toml::Value::String(value.to_string())),
            _ => toml::Value::String(value.to_string()),
        }
    }

    /// Checks the values that parse but make no sense: each section's ranges, then the
    /// settings that depend on each other. [`Config::load`] runs it; a configuration built in
    /// code is checked again when the gateway starts.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.database.validate()?;
        self.http.validate()?;
        self.iota.validate()?;
        self.ss7.validate()?;
        if self.iota.otapa_push_bearer == OutboxBearer::Ss7 && !self.ss7.enabled {
            return Err(ConfigError::Value {
                key: "iota.otapa_push_bearer",
                message:
                    "\"ss7\" sends pushes through the serving MSC and needs ss7.enabled = true"
                        .to_string(),
            });
        }
        self.smpp.validate()?;
        self.ospp.validate()?;
        self.prl_campaign.validate()?;
        tracing_subscriber::EnvFilter::try_new(&self.log.level).map_err(|e| ConfigError::Value {
            key: "log.level",
            message: format!(
                "expected a level (error, warn, info, debug, trace) or a filter like \"otagw=debug\": {e}"
            ),
        })?;
        Ok(())
    }

    /// The settings of the PRL push flow, for an IOTA server reachable at `iota_addr` (unless
    /// `iota.public_url` says otherwise).
    pub fn prl_push_settings(
        &self,
        iota_addr: SocketAddr,
    ) -> crate::flows::prl_push::PrlPushSettings {
        crate::flows::prl_push::PrlPushSettings {
            iota_base_url: if self.iota.public_url.is_empty() {
                format!("http://{iota_addr}")
            } else {
                self.iota.public_url.clone()
            },
            callback_timeout: setting::to_chrono(self.iota.otapa_callback_timeout),
            segment_size: self.iota.segment_size,
            push_bearer: self.iota.otapa_push_bearer,
        }
    }

    /// The embedded cluster's data directory (configured or default).
    pub fn data_dir(&self) -> PathBuf {
        self.database.data_dir()
    }

    /// The configuration as TOML with secrets redacted (the password of the database URL, the
    /// SMPP password, the OSPP accounts' passwords). [`Config::load`] reads it back.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = redact_url(&shown.database.url);
        if !shown.smpp.password.is_empty() {
            shown.smpp.password = "***".to_string();
        }
        for account in &mut shown.ospp.accounts {
            account.password = "***".to_string();
        }
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_no_file() {
        let c = Config::load(None, env(&[("PATH", "/bin")])).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.http.listen.port(), 8080);
    }

    #[test]
    fn env_overrides_file_and_is_typed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otagw.toml");
        std::fs::write(
            &path,
            "[database]\npool_size = 3\n[http]\nlisten = \"127.0.0.1:9000\"\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&path),
            env(&[
                ("OTAGW_DATABASE_POOL_SIZE", "5"),
                ("OTAGW_LOG_FORMAT", "json"),
            ]),
        )
        .unwrap();
        assert_eq!(c.database.pool_size, 5);
        assert_eq!(
            c.http.listen,
            "127.0.0.1:9000".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(c.log.format, LogFormat::Json);
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = Config::load(None, env(&[("OTAGW_DATABASE_POOL_SIZE", "lots")])).unwrap_err();
        assert!(err.to_string().contains("pool_size"), "{err}");
        let err = Config::load(None, env(&[("OTAGW_HTTP_LISTEN", "localhost")])).unwrap_err();
        assert!(err.to_string().contains("http.listen"), "{err}");
        let err = Config::load(None, env(&[("OTAGW_DATABASE_POOL_SIZE", "0")])).unwrap_err();
        assert!(err.to_string().contains("database.pool_size"), "{err}");
        let err = Config::load(None, env(&[("OTAGW_LOG_FORMAT", "xml")])).unwrap_err();
        assert!(err.to_string().contains("xml"), "{err}");
        let err = Config::load(
            None,
            env(&[("OTAGW_PRL_CAMPAIGN_REFRESH_INTERVAL_MS", "5")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("prl_campaign.refresh_interval_ms"),
            "{err}"
        );
        let c = Config::load(None, env(&[("OTAGW_PRL_CAMPAIGN_MAX_QUEUED", "0")])).unwrap();
        assert_eq!(c.prl_campaign.max_queued, 0);
        let err = Config::load(None, env(&[("OTAGW_HTTP_LISTN", "x")])).unwrap_err();
        assert!(
            matches!(err, ConfigError::UnknownVariable { ref var, .. } if var == "OTAGW_HTTP_LISTN")
        );
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otagw.toml");
        std::fs::write(&path, "[database]\npool_sise = 3\n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err();
        assert!(err.to_string().contains("pool_sise"), "{err}");
        assert!(err.to_string().contains("otagw.toml"), "{err}");
    }

    /// A configuration with a value other than the default in every section.
    fn everything_changed() -> Config {
        use crate::mniu::is725::MscRoute;
        use crate::mniu::transport::TransportKind;
        use crate::smpp::InterfaceVersion;
        use otagw_codecs::m3ua::PointCode;

        let mut c = Config::default();
        c.database.data_dir = "/var/lib/otagw/pg".into();
        c.database.pool_size = 16;
        c.http.listen = "0.0.0.0:9080".parse().unwrap();
        c.iota.listen = "[::1]:0".parse().unwrap();
        c.iota.session_timeout = Duration::from_secs(90);
        c.iota.segment_size = 120;
        c.iota.scheduler_interval = Duration::from_millis(250);
        c.iota.public_url = "http://iota.example".into();
        c.iota.otapa_callback_timeout = Duration::from_secs(900);
        c.iota.otapa_push_bearer = OutboxBearer::Ss7;
        c.ss7.enabled = true;
        c.ss7.transport = TransportKind::Sctp;
        c.ss7.peers = vec![
            "10.0.0.1:2905".parse().unwrap(),
            "10.0.0.2:2906".parse().unwrap(),
        ];
        c.ss7.routing_context = 7;
        c.ss7.point_code = PointCode::from_parts(2, 3, 4);
        c.ss7.ssn = 11;
        c.ss7.hlr_point_code = PointCode::from_parts(2, 3, 5);
        c.ss7.hlr_ssn = 12;
        c.ss7.invoke_timeout = Duration::from_millis(2500);
        c.ss7.heartbeat = Duration::from_secs(3);
        c.ss7.session_timeout = Duration::from_secs(200);
        c.ss7.force_ss7 = false;
        c.ss7.msc = vec![
            MscRoute {
                name: "north".into(),
                point_code: PointCode::from_parts(2, 3, 6),
                ssn: MscRoute::DEFAULT_SSN,
                trn_prefix: "555".into(),
                sms_address: Some("14085550000".into()),
            },
            MscRoute {
                name: "south".into(),
                point_code: PointCode::from_parts(2, 3, 7),
                ssn: 9,
                trn_prefix: "5556".into(),
                sms_address: None,
            },
        ];
        c.trace.file = "/tmp/otagw.pcap".into();
        c.trace.max_bytes = 0;
        c.smpp.enabled = true;
        c.smpp.smsc = "192.0.2.1:2775".parse().unwrap();
        c.smpp.system_id = "gw".into();
        c.smpp.system_type = "VMA".into();
        c.smpp.source_addr = "4000".into();
        c.smpp.binds = 2;
        c.smpp.window = 20;
        c.smpp.max_rate_per_sec = 50;
        c.smpp.max_attempts = 3;
        c.smpp.interface_version = InterfaceVersion::V3_4;
        c.smpp.enquire_link = Duration::from_secs(15);
        c.smpp.response_timeout = Duration::from_millis(4000);
        c.smpp.retry_backoff = Duration::from_millis(750);
        c.smpp.lease = Duration::from_secs(30);
        c.smpp.poll_interval = Duration::from_millis(50);
        c.smpp.max_reconnect_backoff = Duration::from_millis(2000);
        c.ivr.welcome_text = String::new();
        c.ivr.push_text = "Tap to activate".into();
        c.ospp.enabled = true;
        c.ospp.listen = "127.0.0.1:3776".parse().unwrap();
        c.ospp.poll_interval = Duration::from_millis(100);
        c.ospp.result_watch = Duration::from_secs(60);
        c.ospp.reply_wait = Duration::from_secs(5);
        c.prl_campaign.max_queued = 0;
        c.prl_campaign.batch = 10;
        c.prl_campaign.refresh_interval = Duration::from_millis(1500);
        c.log.format = LogFormat::Json;
        c.log.level = "otagw=debug,info".into();
        c
    }

    /// Writes `text` to a file and loads it (no environment).
    fn load_text(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otagw.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path), env(&[]))
    }

    #[test]
    fn what_otagw_config_prints_reads_back_the_same() {
        use crate::ospp_handler::OsppAccount;

        let defaults = Config::default();
        assert_eq!(load_text(&defaults.to_redacted_toml()).unwrap(), defaults);

        let changed = everything_changed();
        changed.validate().unwrap();
        let text = changed.to_redacted_toml();
        assert!(text.contains("invoke_timeout_ms = 2500"), "{text}");
        assert!(text.contains("heartbeat_secs = 3"), "{text}");
        assert!(text.contains("interface_version = \"3.4\""), "{text}");
        assert!(text.contains("point_code = \"2-3-4\""), "{text}");
        assert!(text.contains("[[ss7.msc]]"), "{text}");
        assert_eq!(load_text(&text).unwrap(), changed);

        // Secrets come back as the redaction, everything else as it was.
        let mut secret = changed.clone();
        secret.database.url = "postgres://otagw:hunter2@db.example/otagw".into();
        secret.smpp.password = "pw".into();
        secret.ospp.accounts = vec![OsppAccount {
            system_id: "ivr".into(),
            password: "ivrpw".into(),
        }];
        let back = load_text(&secret.to_redacted_toml()).unwrap();
        let mut expected = secret;
        expected.database.url = "postgres://otagw:***@db.example/otagw".into();
        expected.smpp.password = "***".into();
        expected.ospp.accounts[0].password = "***".into();
        assert_eq!(back, expected);
    }

    #[test]
    fn the_keys_and_variables_are_those_of_the_file() {
        let names = Config::env_names();
        for var in [
            "OTAGW_DATABASE_POOL_SIZE",
            "OTAGW_HTTP_LISTEN",
            "OTAGW_IOTA_SESSION_TIMEOUT_SECS",
            "OTAGW_IOTA_SCHEDULER_INTERVAL_MS",
            "OTAGW_IOTA_OTAPA_CALLBACK_TIMEOUT_SECS",
            "OTAGW_IOTA_OTAPA_PUSH_BEARER",
            "OTAGW_SS7_TRANSPORT",
            "OTAGW_SS7_PEERS",
            "OTAGW_SS7_POINT_CODE",
            "OTAGW_SS7_HLR_POINT_CODE",
            "OTAGW_SS7_INVOKE_TIMEOUT_MS",
            "OTAGW_SS7_HEARTBEAT_SECS",
            "OTAGW_SS7_SESSION_TIMEOUT_SECS",
            "OTAGW_SMPP_SMSC",
            "OTAGW_SMPP_INTERFACE_VERSION",
            "OTAGW_SMPP_ENQUIRE_LINK_SECS",
            "OTAGW_SMPP_RESPONSE_TIMEOUT_MS",
            "OTAGW_SMPP_RETRY_BACKOFF_MS",
            "OTAGW_SMPP_LEASE_SECS",
            "OTAGW_SMPP_POLL_INTERVAL_MS",
            "OTAGW_SMPP_MAX_RECONNECT_BACKOFF_MS",
            "OTAGW_OSPP_LISTEN",
            "OTAGW_OSPP_POLL_INTERVAL_MS",
            "OTAGW_OSPP_RESULT_WATCH_SECS",
            "OTAGW_OSPP_REPLY_WAIT_SECS",
            "OTAGW_PRL_CAMPAIGN_MAX_QUEUED",
            "OTAGW_PRL_CAMPAIGN_BATCH",
            "OTAGW_PRL_CAMPAIGN_REFRESH_INTERVAL_MS",
        ] {
            assert!(names.iter().any(|n| n == var), "{var} in {names:?}");
        }
        let c = Config::load(
            None,
            env(&[
                ("OTAGW_SS7_PEERS", "10.0.0.1:2905, 10.0.0.2:2905"),
                ("OTAGW_SS7_POINT_CODE", "3-2-1"),
                ("OTAGW_SS7_TRANSPORT", "sctp"),
                ("OTAGW_SS7_INVOKE_TIMEOUT_MS", "750"),
                ("OTAGW_SMPP_ENQUIRE_LINK_SECS", "45"),
                ("OTAGW_IOTA_OTAPA_PUSH_BEARER", "smsc"),
            ]),
        )
        .unwrap();
        assert_eq!(c.ss7.peers.len(), 2);
        assert_eq!(c.ss7.point_code.parts(), (3, 2, 1));
        assert_eq!(c.ss7.transport, crate::mniu::transport::TransportKind::Sctp);
        assert_eq!(c.ss7.invoke_timeout, Duration::from_millis(750));
        assert_eq!(c.smpp.enquire_link, Duration::from_secs(45));
    }

    #[test]
    fn every_bad_value_is_refused_with_its_key() {
        for (var, value, key) in [
            ("OTAGW_DATABASE_POOL_SIZE", "0", "database.pool_size"),
            ("OTAGW_DATABASE_POOL_SIZE", "1001", "database.pool_size"),
            ("OTAGW_DATABASE_URL", "mysql:db", "database.url"),
            ("OTAGW_HTTP_LISTEN", "localhost:8080", "http.listen"),
            ("OTAGW_IOTA_LISTEN", "8181", "iota.listen"),
            (
                "OTAGW_IOTA_SESSION_TIMEOUT_SECS",
                "0",
                "iota.session_timeout_secs",
            ),
            (
                "OTAGW_IOTA_SESSION_TIMEOUT_SECS",
                "86401",
                "iota.session_timeout_secs",
            ),
            ("OTAGW_IOTA_SEGMENT_SIZE", "0", "iota.segment_size"),
            ("OTAGW_IOTA_SEGMENT_SIZE", "252", "iota.segment_size"),
            (
                "OTAGW_IOTA_SCHEDULER_INTERVAL_MS",
                "9",
                "iota.scheduler_interval_ms",
            ),
            (
                "OTAGW_IOTA_SCHEDULER_INTERVAL_MS",
                "60001",
                "iota.scheduler_interval_ms",
            ),
            (
                "OTAGW_IOTA_OTAPA_CALLBACK_TIMEOUT_SECS",
                "0",
                "iota.otapa_callback_timeout_secs",
            ),
            (
                "OTAGW_IOTA_OTAPA_PUSH_BEARER",
                "pigeon",
                "iota.otapa_push_bearer",
            ),
            (
                "OTAGW_IOTA_OTAPA_PUSH_BEARER",
                "ss7",
                "iota.otapa_push_bearer",
            ),
            ("OTAGW_SS7_TRANSPORT", "udp", "ss7.transport"),
            ("OTAGW_SS7_PEERS", "10.0.0.1", "ss7.peers"),
            ("OTAGW_SS7_POINT_CODE", "1-1", "ss7.point_code"),
            ("OTAGW_SS7_HLR_POINT_CODE", "1-1-256", "ss7.hlr_point_code"),
            ("OTAGW_SS7_INVOKE_TIMEOUT_MS", "0", "ss7.invoke_timeout_ms"),
            (
                "OTAGW_SS7_INVOKE_TIMEOUT_MS",
                "600001",
                "ss7.invoke_timeout_ms",
            ),
            ("OTAGW_SS7_HEARTBEAT_SECS", "0", "ss7.heartbeat_secs"),
            (
                "OTAGW_SS7_SESSION_TIMEOUT_SECS",
                "0",
                "ss7.session_timeout_secs",
            ),
            ("OTAGW_SMPP_SMSC", "smsc.example", "smpp.smsc"),
            (
                "OTAGW_SMPP_SYSTEM_ID",
                "a-system-id-too-long",
                "smpp.system_id",
            ),
            ("OTAGW_SMPP_PASSWORD", "123456789", "smpp.password"),
            (
                "OTAGW_SMPP_SYSTEM_TYPE",
                "thirteen-char",
                "smpp.system_type",
            ),
            ("OTAGW_SMPP_BINDS", "0", "smpp.binds"),
            ("OTAGW_SMPP_BINDS", "1001", "smpp.binds"),
            ("OTAGW_SMPP_WINDOW", "10001", "smpp.window"),
            ("OTAGW_SMPP_WINDOW", "0", "smpp.window"),
            ("OTAGW_SMPP_MAX_RATE_PER_SEC", "0", "smpp.max_rate_per_sec"),
            ("OTAGW_SMPP_MAX_ATTEMPTS", "0", "smpp.max_attempts"),
            (
                "OTAGW_SMPP_INTERFACE_VERSION",
                "4.0",
                "smpp.interface_version",
            ),
            (
                "OTAGW_SMPP_ENQUIRE_LINK_SECS",
                "0",
                "smpp.enquire_link_secs",
            ),
            (
                "OTAGW_SMPP_RESPONSE_TIMEOUT_MS",
                "99",
                "smpp.response_timeout_ms",
            ),
            ("OTAGW_SMPP_RETRY_BACKOFF_MS", "0", "smpp.retry_backoff_ms"),
            ("OTAGW_SMPP_LEASE_SECS", "0", "smpp.lease_secs"),
            ("OTAGW_SMPP_LEASE_SECS", "10", "smpp.lease_secs"),
            ("OTAGW_SMPP_POLL_INTERVAL_MS", "5", "smpp.poll_interval_ms"),
            (
                "OTAGW_SMPP_MAX_RECONNECT_BACKOFF_MS",
                "50",
                "smpp.max_reconnect_backoff_ms",
            ),
            ("OTAGW_OSPP_LISTEN", "anywhere", "ospp.listen"),
            ("OTAGW_OSPP_POLL_INTERVAL_MS", "0", "ospp.poll_interval_ms"),
            (
                "OTAGW_OSPP_RESULT_WATCH_SECS",
                "0",
                "ospp.result_watch_secs",
            ),
            ("OTAGW_OSPP_REPLY_WAIT_SECS", "3601", "ospp.reply_wait_secs"),
            (
                "OTAGW_PRL_CAMPAIGN_MAX_QUEUED",
                "10000001",
                "prl_campaign.max_queued",
            ),
            ("OTAGW_PRL_CAMPAIGN_BATCH", "0", "prl_campaign.batch"),
            (
                "OTAGW_PRL_CAMPAIGN_REFRESH_INTERVAL_MS",
                "600001",
                "prl_campaign.refresh_interval_ms",
            ),
            ("OTAGW_LOG_LEVEL", "otagw=loud", "log.level"),
        ] {
            let err = Config::load(None, env(&[(var, value)]))
                .expect_err(var)
                .to_string();
            assert!(err.contains(key), "{var}={value}: {err}");
            // What was expected, or (the one setting that depends on another) what it needs.
            assert!(
                err.contains("expected") || err.contains("needs ss7.enabled"),
                "{var}={value}: {err}"
            );
        }
    }

    #[test]
    fn a_refused_password_is_not_repeated() {
        let err = Config::load(None, env(&[("OTAGW_SMPP_PASSWORD", "hunter2!!")]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid value for smpp.password: expected at most 8 characters, got 9"
        );
    }

    #[test]
    fn a_range_error_says_what_was_expected_in_the_units_of_the_key() {
        let err = Config::load(None, env(&[("OTAGW_IOTA_SCHEDULER_INTERVAL_MS", "5")]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid value for iota.scheduler_interval_ms: expected 10 to 60000 milliseconds, got 5"
        );
        let err = load_text("[ss7]\npoint_code = \"1-1\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("otagw.toml"), "{err}");
        assert!(
            err.contains("ss7.point_code: expected an ANSI point code like 1-1-1, got \"1-1\""),
            "{err}"
        );
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact_url("postgres://otagw:s3cret@db.example/otagw"),
            "postgres://otagw:***@db.example/otagw"
        );
        assert_eq!(
            redact_url("host=/tmp user=x password=s3cret"),
            "host=/tmp user=x password=***"
        );
        let mut c = Config::default();
        c.database.url = "postgres://u:hunter2@h/db".into();
        assert!(!c.to_redacted_toml().contains("hunter2"));
    }

    /// Every form libpq takes a password in, through `otagw config` (the TOML) and through
    /// the `Debug` a log line would use: the secret never shows, the rest stays readable.
    #[test]
    fn the_database_password_never_shows_in_any_libpq_form() {
        let cases = [
            ("postgresql://u:s3cr3tA@db/x", "postgresql://u:***@db/x"),
            (
                "postgres://u:s3cr3tA@db:5432/x?sslmode=require",
                "postgres://u:***@db:5432/x?sslmode=require",
            ),
            (
                "postgresql://u:p@ss/s3cr3tA@db/x",
                "postgresql://u:***@db/x",
            ),
            (
                "postgresql://u@db/x?password=s3cr3tA",
                "postgresql://u@db/x?password=***",
            ),
            (
                "postgresql://db/x?user=x&password=s3cr3tA&sslmode=disable",
                "postgresql://db/x?user=x&password=***&sslmode=disable",
            ),
            (
                "postgresql://db/x?user=x&PASSWORD=s3cr3tA",
                "postgresql://db/x?user=x&PASSWORD=***",
            ),
            (
                "postgresql://db/x?pass%77ord=s3cr3tA",
                "postgresql://db/x?pass%77ord=***",
            ),
            (
                "postgresql://db/x?user=a@b&password=s3cr3tA",
                "postgresql://db/x?user=a@b&password=***",
            ),
            (
                "host=db user=x password=s3cr3tA",
                "host=db user=x password=***",
            ),
            (
                "host=db password = s3cr3tA user=x",
                "host=db password = *** user=x",
            ),
            (
                "host=db password='my s3cr3tA' user=x",
                "host=db password=*** user=x",
            ),
            (
                "host=db password = 'my \\' s3cr3tA' dbname=x",
                "host=db password = *** dbname=x",
            ),
            ("host=db PassWord=s3cr3tA", "host=db PassWord=***"),
            (
                "host=db password='unterminated s3cr3tA",
                "<connection string redacted: ***>",
            ),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
            let mut c = Config::default();
            c.database.url = url.to_string();
            let toml = c.to_redacted_toml();
            assert!(!toml.contains("s3cr3tA"), "{url}: {toml}");
            let debug = format!("{:?}", c.database);
            assert!(!debug.contains("s3cr3tA"), "{url}: {debug}");
        }
        // Nothing to hide: left alone.
        assert_eq!(
            redact_url("host=/tmp dbname=otagw"),
            "host=/tmp dbname=otagw"
        );
        assert_eq!(redact_url("postgresql://u@db/x"), "postgresql://u@db/x");
    }
}

//! Configuration: one TOML file, every setting overridable by an `OTAGW_*` environment variable,
//! defaults that need no file at all.
//!
//! A setting `section.key` is overridden by `OTAGW_SECTION_KEY` (upper case), e.g.
//! `database.pool_size` by `OTAGW_DATABASE_POOL_SIZE`. Unknown keys, unknown `OTAGW_*` variables
//! and invalid values stop start-up with a [`ConfigError`] naming the key and what was expected.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::telemetry::{LogConfig, LogFormat};
use thiserror::Error;

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
        /// The key, e.g. `http.listen`.
        key: &'static str,
        /// What was expected.
        message: String,
    },
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

/// Database settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Postgres URL. Empty: run the embedded private cluster in `data_dir`.
    pub url: String,
    /// Data directory of the embedded cluster. Empty: the per-user default.
    pub data_dir: String,
    /// Maximum connections in the pool.
    pub pool_size: usize,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            data_dir: String::new(),
            pool_size: 8,
        }
    }
}

/// Admin HTTP settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address the admin HTTP server listens on.
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_string(),
        }
    }
}

/// IOTA HTTP server settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IotaConfig {
    /// Address the IOTA HTTP server listens on.
    pub listen: String,
    /// Seconds a session may wait for the handset's next request before it is closed with
    /// cause "timeout".
    pub session_timeout_secs: u64,
    /// Largest SSPR Download segment in octets (1-251).
    pub segment_size: u8,
    /// How often the deadline scheduler looks for expired sessions, in milliseconds.
    pub scheduler_interval_ms: u64,
    /// Base URL handsets reach the IOTA server at (for the OTAPA call-back URLs in WAP pushes);
    /// empty: `http://` + the listen address.
    pub public_url: String,
    /// Seconds a handset has to follow a PRL push before the session closes with `timeout`.
    pub otapa_callback_timeout_secs: u64,
    /// How the PRL push (WAP Service Loading with the OTAPA call-back URL) reaches the handset:
    /// `smsc` (SMPP, to the MDN) or `ss7` (SMDPP with teleservice 4100 straight to the serving
    /// MSC the HLR names, to the MIN; needs `ss7.enabled`).
    pub otapa_push_bearer: String,
}

impl Default for IotaConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8181".to_string(),
            session_timeout_secs: 120,
            segment_size: 251,
            scheduler_interval_ms: 1000,
            public_url: String::new(),
            otapa_callback_timeout_secs: 600,
            otapa_push_bearer: "smsc".to_string(),
        }
    }
}

/// SS7 settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ss7Config {
    /// Whether the gateway connects to the SS7 network.
    pub enabled: bool,
    /// `tcp` or `sctp`.
    pub transport: String,
    /// Signalling gateways / STPs, one M3UA association each (`host:port`).
    pub peers: Vec<String>,
    /// M3UA routing context (0: none sent).
    pub routing_context: u32,
    /// The OTAF's point code (`network-cluster-member`).
    pub point_code: String,
    /// The OTAF's subsystem number.
    pub ssn: u8,
    /// The HLR's point code.
    pub hlr_point_code: String,
    /// The HLR's subsystem number.
    pub hlr_ssn: u8,
    /// TCAP invoke timer, milliseconds.
    pub invoke_timeout_ms: u64,
    /// M3UA heartbeat interval, seconds.
    pub heartbeat_secs: u64,
    /// Deadline of an SS7 session, renewed at each step, seconds.
    pub session_timeout_secs: u64,
    /// Program IOTA-capable handsets over SS7 too when they call in (star code). Off: such a
    /// handset is told to activate over IOTA instead.
    pub force_ss7: bool,
    /// The MSCs and the TRNs they allocate.
    pub msc: Vec<MscConfig>,
}

/// One MSC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MscConfig {
    /// Name in logs.
    pub name: String,
    /// Point code.
    pub point_code: String,
    /// Subsystem number (8 by default).
    #[serde(default = "default_msc_ssn")]
    pub ssn: u8,
    /// TRNs starting with this prefix belong to this MSC.
    pub trn_prefix: String,
    /// The MSC's SMS_Address, as the HLR answers SMSRequest (for OTAPA over SS7).
    #[serde(default)]
    pub sms_address: Option<String>,
}

fn default_msc_ssn() -> u8 {
    8
}

impl Default for Ss7Config {
    fn default() -> Self {
        Self {
            enabled: false,
            transport: "tcp".to_string(),
            peers: vec!["127.0.0.1:2905".to_string()],
            routing_context: 0,
            point_code: "1-1-1".to_string(),
            ssn: 5,
            hlr_point_code: "1-1-3".to_string(),
            hlr_ssn: 6,
            invoke_timeout_ms: 5000,
            heartbeat_secs: 10,
            session_timeout_secs: 300,
            force_ss7: true,
            msc: Vec::new(),
        }
    }
}

/// SMPP sender settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmppConfig {
    /// Whether the gateway binds to an SMSC (WAP push, text SMS).
    pub enabled: bool,
    /// The SMSC, `host:port`.
    pub smsc: String,
    /// system_id of bind_transceiver.
    pub system_id: String,
    /// password of bind_transceiver (redacted by `otagw config`).
    pub password: String,
    /// system_type of bind_transceiver.
    pub system_type: String,
    /// source_addr of the messages (empty: the SMSC's default).
    pub source_addr: String,
    /// Binds sharing the outbox.
    pub binds: usize,
    /// submit_sm awaiting their response, per bind.
    pub window: usize,
    /// submit_sm per second, per bind.
    pub max_rate_per_sec: u32,
    /// Attempts per message before it fails.
    pub max_attempts: i32,
    /// SMPP version offered: `5.0` (used when the SMSC answers that it speaks it, else 3.4; an
    /// SMSC that refuses a 5.0 bind is bound again with 3.4) or `3.4`.
    pub interface_version: String,
}

impl Default for SmppConfig {
    fn default() -> Self {
        let d = crate::smpp::SmppSettings::default();
        Self {
            enabled: false,
            smsc: d.smsc.to_string(),
            system_id: d.system_id,
            password: d.password,
            system_type: d.system_type,
            source_addr: d.source_addr,
            binds: d.binds,
            window: d.window,
            max_rate_per_sec: d.max_rate_per_sec,
            max_attempts: d.max_attempts,
            interface_version: crate::smpp::version_name(d.interface_version),
        }
    }
}

/// OSPP handler settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OsppConfig {
    /// Whether the gateway accepts SMPP binds from tools.
    pub enabled: bool,
    /// Listen address.
    pub listen: String,
    /// The accounts tools bind with (file only; passwords are redacted by `otagw config`).
    pub accounts: Vec<OsppAccount>,
}

/// One tool account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsppAccount {
    /// system_id.
    pub system_id: String,
    /// password.
    pub password: String,
}

impl Default for OsppConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: "127.0.0.1:2776".to_string(),
            accounts: Vec::new(),
        }
    }
}

/// IVR-assisted activation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// PRL campaign settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrlCampaignConfig {
    /// Outbox rows of a campaign that may wait to be sent before more of its pushes are created
    /// (0: no bound).
    pub max_queued: u64,
    /// How often campaign states and the campaign gauges are refreshed from the database.
    pub refresh_interval_ms: u64,
}

impl Default for PrlCampaignConfig {
    fn default() -> Self {
        let d = crate::flows::prl_campaign::worker::CampaignWorkerSettings::default();
        Self {
            max_queued: d.max_queued,
            refresh_interval_ms: u64::try_from(d.refresh_interval.as_millis()).unwrap_or(5000),
        }
    }
}

/// Signalling trace settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.database.pool_size == 0 || self.database.pool_size > 1000 {
            return Err(ConfigError::Value {
                key: "database.pool_size",
                message: format!(
                    "expected a number of connections from 1 to 1000, got {}",
                    self.database.pool_size
                ),
            });
        }
        self.http_listen()?;
        self.iota_listen()?;
        if self.iota.session_timeout_secs == 0 || self.iota.session_timeout_secs > 86_400 {
            return Err(ConfigError::Value {
                key: "iota.session_timeout_secs",
                message: format!(
                    "expected 1 to 86400 seconds, got {}",
                    self.iota.session_timeout_secs
                ),
            });
        }
        if self.iota.segment_size == 0 || self.iota.segment_size > 251 {
            return Err(ConfigError::Value {
                key: "iota.segment_size",
                message: format!("expected 1 to 251 octets, got {}", self.iota.segment_size),
            });
        }
        if self.iota.scheduler_interval_ms < 10 || self.iota.scheduler_interval_ms > 60_000 {
            return Err(ConfigError::Value {
                key: "iota.scheduler_interval_ms",
                message: format!(
                    "expected 10 to 60000 milliseconds, got {}",
                    self.iota.scheduler_interval_ms
                ),
            });
        }
        self.ss7_settings()?;
        self.otapa_push_bearer()?;
        self.smpp_settings()?;
        self.ospp_listen()?;
        self.campaign_settings()?;
        tracing_subscriber::EnvFilter::try_new(&self.log.level).map_err(|e| ConfigError::Value {
            key: "log.level",
            message: format!(
                "expected a level (error, warn, info, debug, trace) or a filter like \"otagw=debug\": {e}"
            ),
        })?;
        if !self.database.url.is_empty()
            && !self.database.url.starts_with("postgres://")
            && !self.database.url.starts_with("postgresql://")
            && !self.database.url.contains('=')
        {
            return Err(ConfigError::Value {
                key: "database.url",
                message: "expected a postgres:// URL or a key=value connection string".to_string(),
            });
        }
        Ok(())
    }

    /// The bearer of PRL pushes (`iota.otapa_push_bearer`).
    pub fn otapa_push_bearer(&self) -> Result<crate::store::outbox::OutboxBearer, ConfigError> {
        use crate::store::outbox::OutboxBearer;
        let key = "iota.otapa_push_bearer";
        match self.iota.otapa_push_bearer.parse::<OutboxBearer>().ok() {
            Some(OutboxBearer::Ss7) if !self.ss7.enabled => Err(ConfigError::Value {
                key,
                message:
                    "\"ss7\" sends pushes through the serving MSC and needs ss7.enabled = true"
                        .to_string(),
            }),
            Some(bearer) => Ok(bearer),
            None => Err(ConfigError::Value {
                key,
                message: format!(
                    "expected \"smsc\" or \"ss7\", got {:?}",
                    self.iota.otapa_push_bearer
                ),
            }),
        }
    }

    /// The settings of the PRL push flow, for an IOTA server reachable at `iota_addr` (unless
    /// `iota.public_url` says otherwise).
    pub fn prl_push_settings(
        &self,
        iota_addr: SocketAddr,
    ) -> Result<crate::flows::prl_push::PrlPushSettings, ConfigError> {
        Ok(crate::flows::prl_push::PrlPushSettings {
            iota_base_url: if self.iota.public_url.is_empty() {
                format!("http://{iota_addr}")
            } else {
                self.iota.public_url.clone()
            },
            callback_timeout: chrono::Duration::seconds(
                i64::try_from(self.iota.otapa_callback_timeout_secs).unwrap_or(86_400),
            ),
            segment_size: self.iota.segment_size,
            push_bearer: self.otapa_push_bearer()?,
        })
    }

    /// The admin HTTP listen address.
    pub fn http_listen(&self) -> Result<SocketAddr, ConfigError> {
        self.http.listen.parse().map_err(|_| ConfigError::Value {
            key: "http.listen",
            message: format!(
                "expected an address like 127.0.0.1:8080, got {:?}",
                self.http.listen
            ),
        })
    }

    /// The IOTA HTTP listen address.
    pub fn iota_listen(&self) -> Result<SocketAddr, ConfigError> {
        self.iota.listen.parse().map_err(|_| ConfigError::Value {
            key: "iota.listen",
            message: format!(
                "expected an address like 127.0.0.1:8181, got {:?}",
                self.iota.listen
            ),
        })
    }

    /// The OSPP handler's listen address.
    pub fn ospp_listen(&self) -> Result<SocketAddr, ConfigError> {
        self.ospp.listen.parse().map_err(|_| ConfigError::Value {
            key: "ospp.listen",
            message: format!(
                "expected an address like 127.0.0.1:2776, got {:?}",
                self.ospp.listen
            ),
        })
    }

    /// The SMPP sender settings, parsed and checked.
    pub fn smpp_settings(&self) -> Result<crate::smpp::SmppSettings, ConfigError> {
        let smsc = self.smpp.smsc.parse().map_err(|_| ConfigError::Value {
            key: "smpp.smsc",
            message: format!("expected host:port, got {:?}", self.smpp.smsc),
        })?;
        if self.smpp.system_id.len() > 15 || self.smpp.password.len() > 8 {
            return Err(ConfigError::Value {
                key: "smpp.system_id",
                message: "system_id is at most 15 characters and password at most 8".to_string(),
            });
        }
        if self.smpp.binds == 0 || self.smpp.window == 0 || self.smpp.max_rate_per_sec == 0 {
            return Err(ConfigError::Value {
                key: "smpp.binds",
                message: "binds, window and max_rate_per_sec must be at least 1".to_string(),
            });
        }
        let interface_version = match self.smpp.interface_version.as_str() {
            "3.4" => crate::smpp::SMPP_3_4,
            "5.0" => crate::smpp::SMPP_5_0,
            other => {
                return Err(ConfigError::Value {
                    key: "smpp.interface_version",
                    message: format!("expected \"3.4\" or \"5.0\", got {other:?}"),
                })
            }
        };
        Ok(crate::smpp::SmppSettings {
            smsc,
            interface_version,
            system_id: self.smpp.system_id.clone(),
            password: self.smpp.password.clone(),
            system_type: self.smpp.system_type.clone(),
            source_addr: self.smpp.source_addr.clone(),
            binds: self.smpp.binds,
            window: self.smpp.window,
            max_rate_per_sec: self.smpp.max_rate_per_sec,
            max_attempts: self.smpp.max_attempts.max(1),
            ..crate::smpp::SmppSettings::default()
        })
    }

    /// The PRL campaign worker's settings, checked.
    pub fn campaign_settings(
        &self,
    ) -> Result<crate::flows::prl_campaign::worker::CampaignWorkerSettings, ConfigError> {
        let c = &self.prl_campaign;
        if !(100..=600_000).contains(&c.refresh_interval_ms) {
            return Err(ConfigError::Value {
                key: "prl_campaign.refresh_interval_ms",
                message: format!(
                    "expected 100 to 600000 milliseconds, got {}",
                    c.refresh_interval_ms
                ),
            });
        }
        if c.max_queued > 10_000_000 {
            return Err(ConfigError::Value {
                key: "prl_campaign.max_queued",
                message: format!(
                    "expected 0 (no bound) to 10000000 outbox rows, got {}",
                    c.max_queued
                ),
            });
        }
        Ok(crate::flows::prl_campaign::worker::CampaignWorkerSettings {
            max_queued: c.max_queued,
            refresh_interval: std::time::Duration::from_millis(c.refresh_interval_ms),
            ..Default::default()
        })
    }

    /// The SS7 settings, parsed and checked.
    pub fn ss7_settings(&self) -> Result<Ss7Settings, ConfigError> {
        use otagw_codecs::m3ua::PointCode;
        let pc = |key: &'static str, text: &str| -> Result<u32, ConfigError> {
            text.parse::<PointCode>()
                .map(PointCode::value)
                .map_err(|e| ConfigError::Value {
                    key,
                    message: format!("expected an ANSI point code like 1-1-1: {e}"),
                })
        };
        let transport = match self.ss7.transport.as_str() {
            "tcp" => crate::mniu::transport::TransportKind::Tcp,
            "sctp" => crate::mniu::transport::TransportKind::Sctp,
            other => {
                return Err(ConfigError::Value {
                    key: "ss7.transport",
                    message: format!("expected tcp or sctp, got {other:?}"),
                })
            }
        };
        let peers = self
            .ss7
            .peers
            .iter()
            .map(|p| {
                p.parse::<SocketAddr>().map_err(|_| ConfigError::Value {
                    key: "ss7.peers",
                    message: format!("expected host:port addresses, got {p:?}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.ss7.enabled && peers.is_empty() {
            return Err(ConfigError::Value {
                key: "ss7.peers",
                message: "SS7 is enabled but no peer is configured".to_string(),
            });
        }
        let mscs = self
            .ss7
            .msc
            .iter()
            .map(|m| {
                Ok(crate::mniu::is725::MscRoute {
                    name: m.name.clone(),
                    endpoint: crate::mniu::tcap::Endpoint {
                        point_code: pc("ss7.msc.point_code", &m.point_code)?,
                        ssn: m.ssn,
                    },
                    trn_prefix: m.trn_prefix.clone(),
                    sms_address: m.sms_address.clone(),
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        if !(1..=600_000).contains(&self.ss7.invoke_timeout_ms) {
            return Err(ConfigError::Value {
                key: "ss7.invoke_timeout_ms",
                message: format!(
                    "expected 1 to 600000 milliseconds, got {}",
                    self.ss7.invoke_timeout_ms
                ),
            });
        }
        if self.ss7.heartbeat_secs == 0 {
            return Err(ConfigError::Value {
                key: "ss7.heartbeat_secs",
                message: "timers must be above zero".to_string(),
            });
        }
        Ok(Ss7Settings {
            transport,
            peers,
            routing_context: (self.ss7.routing_context != 0).then_some(self.ss7.routing_context),
            local: crate::mniu::tcap::Endpoint {
                point_code: pc("ss7.point_code", &self.ss7.point_code)?,
                ssn: self.ss7.ssn,
            },
            hlr: crate::mniu::tcap::Endpoint {
                point_code: pc("ss7.hlr_point_code", &self.ss7.hlr_point_code)?,
                ssn: self.ss7.hlr_ssn,
            },
            mscs,
            invoke_timeout: std::time::Duration::from_millis(self.ss7.invoke_timeout_ms),
            heartbeat: std::time::Duration::from_secs(self.ss7.heartbeat_secs),
            session_timeout: chrono::Duration::seconds(
                i64::try_from(self.ss7.session_timeout_secs).unwrap_or(86_400),
            ),
        })
    }

    /// The embedded cluster's data directory (configured or default).
    pub fn data_dir(&self) -> PathBuf {
        if self.database.data_dir.is_empty() {
            crate::store::embedded::default_data_dir()
        } else {
            PathBuf::from(&self.database.data_dir)
        }
    }

    /// The configuration as TOML with secrets redacted (the password of the database URL).
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

/// [`Ss7Config`] parsed into the types the MNIU takes.
#[derive(Debug, Clone)]
pub struct Ss7Settings {
    /// Transport.
    pub transport: crate::mniu::transport::TransportKind,
    /// One association per peer.
    pub peers: Vec<SocketAddr>,
    /// Routing context.
    pub routing_context: Option<u32>,
    /// The OTAF.
    pub local: crate::mniu::tcap::Endpoint,
    /// The HLR.
    pub hlr: crate::mniu::tcap::Endpoint,
    /// The MSCs.
    pub mscs: Vec<crate::mniu::is725::MscRoute>,
    /// TCAP invoke timer.
    pub invoke_timeout: std::time::Duration,
    /// M3UA heartbeat.
    pub heartbeat: std::time::Duration,
    /// SS7 session deadline.
    pub session_timeout: chrono::Duration,
}

/// Replaces the password of a `postgres://user:password@host/db` URL or a `password=...` pair.
pub fn redact_url(url: &str) -> String {
    if let Some(rest) = url.split_once("://").map(|(_, r)| r) {
        if let Some((userinfo, _)) = rest.split_once('@') {
            if let Some((user, _password)) = userinfo.split_once(':') {
                return url.replacen(userinfo, &format!("{user}:***"), 1);
            }
        }
        return url.to_string();
    }
    url.split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
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
        assert_eq!(c.http_listen().unwrap().port(), 8080);
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
        assert_eq!(c.http.listen, "127.0.0.1:9000");
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
        assert_eq!(c.campaign_settings().unwrap().max_queued, 0);
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
}

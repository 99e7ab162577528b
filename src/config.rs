//! Configuration: one TOML file, every setting overridable by an `OTAGW_*` environment variable,
//! defaults that need no file at all.
//!
//! A setting `section.key` is overridden by `OTAGW_SECTION_KEY` (upper case), e.g.
//! `database.pool_size` by `OTAGW_DATABASE_POOL_SIZE`. Unknown keys, unknown `OTAGW_*` variables
//! and invalid values stop start-up with a [`ConfigError`] naming the key and what was expected.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
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
}

impl Default for IotaConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8181".to_string(),
            session_timeout_secs: 120,
            segment_size: 251,
            scheduler_interval_ms: 1000,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Output format.
    pub format: LogFormat,
    /// Filter in `tracing` env-filter syntax (`RUST_LOG` overrides it).
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_string(),
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
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
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

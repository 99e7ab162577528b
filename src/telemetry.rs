//! Logging (tracing) and metrics (Prometheus exposition).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use serde::{Deserialize, Serialize};

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

/// Installs the global tracing subscriber: `RUST_LOG` if set, else the configured filter;
/// human-readable or JSON lines on standard error.
pub fn init_logging(log: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: the first subscriber stays.
    let _ = match log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Installs the global metrics recorder (once per process) and returns the handle that
/// renders `/metrics`. Later calls return the same handle, so several gateways in one process
/// (tests, the demo) share one registry.
pub fn init_metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(names::SESSION_DURATION.to_string()),
                    SESSION_DURATION_BUCKETS,
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics will be empty");
            }
            describe();
            handle
        })
        .clone()
}

/// Metric names. Keep docs/operations.md in step.
pub mod names {
    /// Admin HTTP requests, labelled by route and status.
    pub const HTTP_REQUESTS: &str = "otagw_http_requests_total";
    /// Database pool connections checked out.
    pub const STORE_POOL_IN_USE: &str = "otagw_store_pool_connections_in_use";
    /// Database pool connections open.
    pub const STORE_POOL_OPEN: &str = "otagw_store_pool_connections_open";
    /// Database pool maximum size.
    pub const STORE_POOL_MAX: &str = "otagw_store_pool_connections_max";
    /// Always 1, labelled with the version.
    pub const BUILD_INFO: &str = "otagw_build_info";
    /// OTA sessions started, by flow and bearer.
    pub const SESSIONS_STARTED: &str = "otagw_sessions_started_total";
    /// OTA sessions ended, by flow, bearer, outcome and cause.
    pub const SESSIONS_COMPLETED: &str = "otagw_sessions_completed_total";
    /// OTA session duration, by flow, bearer and outcome.
    pub const SESSION_DURATION: &str = "otagw_session_duration_seconds";
    /// IS-683 messages, by message, direction and result code.
    pub const IS683_MESSAGES: &str = "otagw_is683_messages_total";
    /// IOTA HTTP requests, by route and status.
    pub const IOTA_HTTP_REQUESTS: &str = "otagw_iota_http_requests_total";
    /// IOTA requests refused, by MMC error code.
    pub const IOTA_REJECTED: &str = "otagw_iota_rejected_total";
    /// Sessions closed by the deadline scheduler.
    pub const SCHEDULER_TIMEOUTS: &str = "otagw_scheduler_timeouts_total";
    /// WAP pushes sent to MSCs over SS7, by result (counter).
    pub const SS7_SMS: &str = "otagw_ss7_sms_total";
    /// Outbox rows for the SS7 bearer, by state (gauge).
    pub const SS7_OUTBOX_DEPTH: &str = "otagw_ss7_outbox_depth";
    /// SMDPPs sent again after their answer was lost (counter).
    pub const SS7_RELAY_RETRIES: &str = "otagw_ss7_relay_retries_total";
    /// Long-lived tasks started again after a panic, by task (counter).
    pub const TASK_RESTARTS: &str = "otagw_task_restarts_total";
    /// OSPP requests from tools, by protocol ID and outcome (counter).
    pub const OSPP_REQUESTS: &str = "otagw_ospp_requests_total";
    /// Tools bound to the OSPP handler (gauge).
    pub const OSPP_BINDS: &str = "otagw_ospp_binds";
    /// PRL pushes handed to the SS7 fallback (counter).
    pub const PRL_PUSH_FALLBACKS: &str = "otagw_prl_push_fallbacks_total";
    /// PRL pushes queued by campaigns.
    pub const PRL_CAMPAIGN_PUSHES: &str = "otagw_prl_campaign_pushes_total";
    /// PRL campaigns by state (rendered from the database, see `flows::prl_campaign::gauges`).
    pub const PRL_CAMPAIGNS: &str = "otagw_prl_campaigns";
    /// Targets of unfinished PRL campaigns, by campaign and state.
    pub const PRL_CAMPAIGN_TARGETS: &str = "otagw_prl_campaign_targets";
    /// Sessions of unfinished PRL campaigns, by campaign and state.
    pub const PRL_CAMPAIGN_SESSIONS: &str = "otagw_prl_campaign_sessions";
    /// Skipped targets and failed sessions of unfinished PRL campaigns, by campaign and cause.
    pub const PRL_CAMPAIGN_CAUSES: &str = "otagw_prl_campaign_causes";
    /// 1 while the M3UA association is ASP-ACTIVE, by association.
    pub const M3UA_ASSOCIATION_UP: &str = "otagw_m3ua_association_up";
    /// M3UA messages, by association, direction and message name.
    pub const M3UA_MESSAGES: &str = "otagw_m3ua_messages_total";
    /// M3UA associations lost and set up again, by association.
    pub const M3UA_RECONNECTS: &str = "otagw_m3ua_reconnects_total";
    /// TCAP packages sent and received, by direction and package.
    pub const TCAP_MESSAGES: &str = "otagw_tcap_messages_total";
    /// Invokes whose invoke timer ran out.
    pub const TCAP_TIMEOUTS: &str = "otagw_tcap_timeouts_total";
    /// Inbound SS7 messages dropped by the TCAP layer, by reason.
    pub const TCAP_DROPPED: &str = "otagw_tcap_dropped_total";
    /// Undecodable SS7 messages from a peer (M3UA, SCCP, TCAP), by layer: every one counted,
    /// a few a window logged.
    pub const SS7_UNDECODABLE: &str = "otagw_ss7_undecodable_total";
    /// 1 while an SMPP bind to the SMSC is up, by bind.
    pub const SMPP_BIND_UP: &str = "otagw_smpp_bind_up";
    /// SMPP version a bind runs (3.4, 5.0; 0 while unbound), by bind.
    pub const SMPP_INTERFACE_VERSION: &str = "otagw_smpp_interface_version";
    /// submit_sm awaiting their response, by bind.
    pub const SMPP_WINDOW_IN_USE: &str = "otagw_smpp_window_in_use";
    /// The SMSC's last congestion_state on an SMPP 5.0 bind, by bind.
    pub const SMPP_CONGESTION_STATE: &str = "otagw_smpp_congestion_state";
    /// submit_sm answered (or not), by bind and status.
    pub const SMPP_SUBMITS: &str = "otagw_smpp_submits_total";
    /// Delivery receipts, by state.
    pub const SMPP_RECEIPTS: &str = "otagw_smpp_receipts_total";
    /// Receipts answered without being recorded, by reason.
    pub const SMPP_RECEIPTS_DROPPED: &str = "otagw_smpp_receipts_dropped_total";
    /// Outbox rows for the SMSC, by state.
    pub const SMPP_OUTBOX_DEPTH: &str = "otagw_smpp_outbox_depth";

    /// Every metric otagw exports.
    pub const ALL: &[&str] = &[
        HTTP_REQUESTS,
        STORE_POOL_IN_USE,
        STORE_POOL_OPEN,
        STORE_POOL_MAX,
        BUILD_INFO,
        SESSIONS_STARTED,
        SESSIONS_COMPLETED,
        SESSION_DURATION,
        IS683_MESSAGES,
        IOTA_HTTP_REQUESTS,
        IOTA_REJECTED,
        SCHEDULER_TIMEOUTS,
        SS7_SMS,
        SS7_OUTBOX_DEPTH,
        SS7_RELAY_RETRIES,
        TASK_RESTARTS,
        OSPP_REQUESTS,
        OSPP_BINDS,
        PRL_PUSH_FALLBACKS,
        PRL_CAMPAIGN_PUSHES,
        PRL_CAMPAIGNS,
        PRL_CAMPAIGN_TARGETS,
        PRL_CAMPAIGN_SESSIONS,
        PRL_CAMPAIGN_CAUSES,
        M3UA_ASSOCIATION_UP,
        M3UA_MESSAGES,
        M3UA_RECONNECTS,
        TCAP_MESSAGES,
        TCAP_TIMEOUTS,
        TCAP_DROPPED,
        SS7_UNDECODABLE,
        SMPP_BIND_UP,
        SMPP_INTERFACE_VERSION,
        SMPP_WINDOW_IN_USE,
        SMPP_CONGESTION_STATE,
        SMPP_SUBMITS,
        SMPP_RECEIPTS,
        SMPP_RECEIPTS_DROPPED,
        SMPP_OUTBOX_DEPTH,
    ];
}

/// Buckets of the session duration histogram, in seconds.
pub const SESSION_DURATION_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

fn describe() {
    metrics::describe_counter!(
        names::HTTP_REQUESTS,
        "Admin HTTP requests by route and status"
    );
    metrics::describe_gauge!(names::STORE_POOL_IN_USE, "Database connections checked out");
    metrics::describe_gauge!(names::STORE_POOL_OPEN, "Database connections open");
    metrics::describe_gauge!(names::STORE_POOL_MAX, "Database pool maximum size");
    metrics::describe_gauge!(names::BUILD_INFO, "Build information (always 1)");
    metrics::describe_counter!(names::SESSIONS_STARTED, "OTA sessions started");
    metrics::describe_counter!(
        names::SESSIONS_COMPLETED,
        "OTA sessions ended, by outcome and cause"
    );
    metrics::describe_histogram!(
        names::SESSION_DURATION,
        metrics::Unit::Seconds,
        "OTA session duration"
    );
    metrics::describe_counter!(names::IS683_MESSAGES, "IS-683 messages exchanged");
    metrics::describe_counter!(
        names::IOTA_HTTP_REQUESTS,
        "IOTA HTTP requests by route and status"
    );
    metrics::describe_counter!(
        names::IOTA_REJECTED,
        "IOTA requests refused, by MMC error code"
    );
    metrics::describe_counter!(
        names::SCHEDULER_TIMEOUTS,
        "Sessions closed by the deadline scheduler"
    );
    metrics::describe_counter!(names::PRL_CAMPAIGN_PUSHES, "PRL pushes queued by campaigns");
    metrics::gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

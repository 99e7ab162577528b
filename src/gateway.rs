//! The running gateway: the IOTA HTTP server, the admin server and the deadline scheduler,
//! started together on one store and stopped together.

use std::net::SocketAddr;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError};
use crate::iota::{self, IotaSettings};
use crate::store::Store;

/// Why the gateway could not start.
#[derive(Debug, Error)]
pub enum GatewayError {
    /// A listen address is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr} ({key}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The setting it came from.
        key: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

/// A started gateway.
#[derive(Debug)]
pub struct Gateway {
    /// Where the IOTA server listens.
    pub iota_addr: SocketAddr,
    /// Where the admin server listens.
    pub admin_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Binds `addr` and returns the listener with the address it got (port 0 picks one).
async fn bind(
    addr: SocketAddr,
    key: &'static str,
) -> Result<(tokio::net::TcpListener, SocketAddr), GatewayError> {
    let error = |source| GatewayError::Bind { addr, key, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(error)?;
    let local = listener.local_addr().map_err(error)?;
    Ok((listener, local))
}

impl Gateway {
    /// Starts every component on `store` as `config` says (port 0 picks a free port).
    pub async fn start(config: &Config, store: Store) -> Result<Self, GatewayError> {
        let metrics = crate::telemetry::init_metrics();
        let (iota_listener, iota_addr) = bind(config.iota_listen()?, "iota.listen").await?;
        let (admin_listener, admin_addr) = bind(config.http_listen()?, "http.listen").await?;
        let (shutdown, _) = watch::channel(false);
        let settings = IotaSettings {
            session_timeout: chrono::Duration::seconds(
                i64::try_from(config.iota.session_timeout_secs).unwrap_or(i64::MAX / 1000),
            ),
            segment_size: config.iota.segment_size,
            session_path: iota::SESSION_PATH.to_string(),
        };
        let mut tasks = Vec::new();
        let iota_app = iota::router(iota::IotaState {
            store: store.clone(),
            settings,
        });
        let admin_app = crate::http::router(crate::http::AdminState {
            store: store.clone(),
            metrics,
        });
        for (listener, app, name) in [
            (iota_listener, iota_app, "IOTA"),
            (admin_listener, admin_app, "admin"),
        ] {
            let mut stop = shutdown.subscribe();
            tasks.push(tokio::spawn(async move {
                let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                });
                if let Err(err) = serve.await {
                    tracing::error!(%err, server = name, "HTTP server stopped");
                }
            }));
        }
        let interval = Duration::from_millis(config.iota.scheduler_interval_ms);
        tasks.push(tokio::spawn(supervise_scheduler(
            store,
            interval,
            shutdown.subscribe(),
        )));
        tracing::info!(%iota_addr, %admin_addr, "gateway started");
        Ok(Self {
            iota_addr,
            admin_addr,
            shutdown,
            tasks,
        })
    }

    /// The bootstrap URL handsets are provisioned with.
    pub fn bootstrap_url(&self) -> String {
        format!("http://{}{}", self.iota_addr, iota::BOOTSTRAP_PATH)
    }

    /// Stops every component and waits for them.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The deadline scheduler, restarted if it panics (a supervisor of one child).
async fn supervise_scheduler(store: Store, interval: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        let child = tokio::spawn(scheduler(store.clone(), interval, stop.clone()));
        match child.await {
            Ok(()) => return,
            Err(err) => {
                tracing::error!(%err, "deadline scheduler died; restarting it");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    }
}

/// Every `interval`, closes sessions whose deadline has passed.
async fn scheduler(store: Store, interval: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let result = async {
            let mut conn = store.conn().await?;
            iota::session::expire_due(&mut conn, 100).await
        }
        .await;
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "closed sessions past their deadline"),
            Err(err) => tracing::warn!(%err, "deadline scheduler"),
        }
    }
}

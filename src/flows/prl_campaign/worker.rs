//! The campaign worker: a supervised task of the gateway that works through the pending targets
//! of every campaign (resuming, at start, whatever a stopped or crashed gateway left), paces
//! itself on the outbox, moves campaign states on and refreshes the campaign gauges.
//!
//! Each round takes the campaigns still pushing, oldest first, and gives each up to `batch`
//! targets ([`super::work_one`], one transaction each), fewer when `max_queued` outbox rows of
//! the campaign already wait to be sent. Several workers (gateway instances) on one database
//! share the targets: claims skip the rows another transaction holds. The worker runs rounds
//! back to back while there is work, and otherwise sleeps until woken ([`CampaignWorker::wake`],
//! after a campaign is created) or until the next poll.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};

use super::gauges::{self, CampaignGauges};
use super::{room, work, CampaignError};
use crate::flows::prl_push::PrlPushSettings;
use crate::setting::{self, InvalidSetting};
use crate::store::campaigns;
use crate::store::Store;
use crate::supervisor::{Stage, Task};

/// The campaign worker's section of the configuration (`[prl_campaign]`). Typed when the file
/// is read; [`PrlCampaignConfig::validate`] checks the ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrlCampaignConfig {
    /// Outbox rows of a campaign that may wait to be sent before it gets more pushes (0: no
    /// bound).
    pub max_queued: u64,
    /// Targets per campaign per round (so campaigns take turns).
    pub batch: usize,
    /// How often campaign states and gauges are refreshed from the database
    /// (`refresh_interval_ms`); an idle worker also looks for new work this often (at least
    /// once a second).
    #[serde(rename = "refresh_interval_ms", with = "crate::setting::millis")]
    pub refresh_interval: Duration,
}

impl Default for PrlCampaignConfig {
    fn default() -> Self {
        Self {
            max_queued: 1000,
            batch: 50,
            refresh_interval: Duration::from_secs(5),
        }
    }
}

impl PrlCampaignConfig {
    /// Checks the values the types allow but the worker does not take.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        setting::millis_within(
            "prl_campaign.refresh_interval_ms",
            self.refresh_interval,
            100..=600_000,
        )?;
        if self.max_queued > 10_000_000 {
            return Err(InvalidSetting::new(
                "prl_campaign.max_queued",
                format!(
                    "expected 0 (no bound) to 10000000 outbox rows, got {}",
                    self.max_queued
                ),
            ));
        }
        setting::within("prl_campaign.batch", self.batch, 1..=10_000, "targets")
    }
}

/// Handle on a running campaign worker. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CampaignWorker {
    wake: Arc<Notify>,
    gauges: CampaignGauges,
}

impl CampaignWorker {
    /// The worker and its [`Task`] (for the supervisor: it works until its stop signal turns
    /// true).
    pub fn new(store: Store, push: PrlPushSettings, config: PrlCampaignConfig) -> (Self, Task) {
        let handle = Self {
            wake: Arc::new(Notify::new()),
            gauges: CampaignGauges::new(),
        };
        let context = Arc::new(Context {
            store,
            push,
            config,
            handle: handle.clone(),
        });
        let task = Task::new("prl-campaign-worker", Stage::Work, move |stop| {
            run(context.clone(), stop)
        });
        (handle, task)
    }

    /// Has the worker look for work now (a campaign was created).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The campaign gauges the worker refreshes (rendered by `/metrics`).
    pub fn gauges(&self) -> &CampaignGauges {
        &self.gauges
    }
}

#[derive(Debug)]
struct Context {
    store: Store,
    push: PrlPushSettings,
    config: PrlCampaignConfig,
    handle: CampaignWorker,
}

async fn run(context: Arc<Context>, mut stop: watch::Receiver<bool>) {
    let poll = context.config.refresh_interval.min(Duration::from_secs(1));
    let mut next_refresh = Instant::now();
    loop {
        if *stop.borrow() {
            return;
        }
        let worked = match round(&context).await {
            Ok(n) => n,
            Err(err) => {
                tracing::warn!(%err, "PRL campaign worker");
                0
            }
        };
        if Instant::now() >= next_refresh {
            next_refresh = Instant::now() + context.config.refresh_interval;
            if let Err(err) = refresh(&context).await {
                tracing::warn!(%err, "PRL campaign gauges");
            }
        }
        if worked > 0 {
            continue;
        }
        tokio::select! {
            _ = context.handle.wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// One round over the campaigns still pushing; returns the targets worked on.
async fn round(context: &Context) -> Result<usize, CampaignError> {
    let mut conn = context.store.conn().await?;
    let mut worked = 0;
    let mut ran_out = false;
    for (campaign_id, prl_id) in campaigns::pushing(&mut conn).await? {
        let room = room(
            &mut conn,
            campaign_id,
            context.config.max_queued,
            context.config.batch,
        )
        .await?;
        if room == 0 {
            continue;
        }
        let done = work(&mut conn, &context.push, campaign_id, prl_id, room).await?;
        worked += done.queued + done.skipped;
        ran_out |= done.ran_out;
    }
    if ran_out {
        let advanced = campaigns::advance_states(&mut conn).await?;
        for campaign_id in advanced.waiting {
            tracing::info!(
                campaign_id,
                "PRL campaign: every target worked on; waiting for the handsets"
            );
        }
    }
    Ok(worked)
}

async fn refresh(context: &Context) -> Result<(), CampaignError> {
    let mut conn = context.store.conn().await?;
    let advanced = gauges::refresh(&mut conn, &context.handle.gauges).await?;
    for campaign_id in advanced.waiting {
        tracing::info!(campaign_id, "PRL campaign: every target worked on");
    }
    for campaign_id in advanced.finished {
        tracing::info!(campaign_id, "PRL campaign finished");
    }
    Ok(())
}

//! Per-campaign gauges: what the campaign rows add up to, read from the database by the
//! campaign worker ([`refresh`]) and rendered into `/metrics` ([`CampaignGauges::render`]).
//!
//! They are not kept in the process-wide metrics registry because a series there cannot be
//! removed: a campaign that ended (finished or cancelled) must drop out of the exposition, so
//! that the number of series stays bounded by the campaigns not ended. Every gateway instance on one database exports
//! the same values (they come from the database); dashboards take `max` across instances.
//!
//! Families (see docs/operations.md):
//! - `otagw_prl_campaigns{state}`: campaigns by state (pushing, paused, waiting, finished,
//!   cancelled);
//! - `otagw_prl_campaign_targets{campaign,state}`: targets pending, queued, skipped;
//! - `otagw_prl_campaign_sessions{campaign,state}`: sessions active, completed, failed;
//! - `otagw_prl_campaign_causes{campaign,kind,cause}`: skipped targets (`kind="skipped"`) and
//!   failed sessions (`kind="failed"`) by cause.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, RwLock};

use diesel_async::AsyncPgConnection;

use crate::store::campaigns::{self, Advanced, CampaignCounts, CampaignState};
use crate::store::StoreError;
use crate::telemetry::names;

/// The last snapshot of the campaigns, shared by the worker (writer) and `/metrics` (reader).
/// Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct CampaignGauges {
    inner: Arc<RwLock<Option<Snapshot>>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Snapshot {
    by_state: BTreeMap<CampaignState, i64>,
    live: BTreeMap<i64, CampaignCounts>,
}

impl CampaignGauges {
    /// An empty set (renders nothing until the first refresh).
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the snapshot: campaigns by state, and the counts of every campaign not ended.
    pub fn set(&self, by_state: BTreeMap<CampaignState, i64>, live: BTreeMap<i64, CampaignCounts>) {
        let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
        *guard = Some(Snapshot { by_state, live });
    }

    /// The campaigns that have series (those not ended at the last refresh).
    pub fn campaigns(&self) -> Vec<i64> {
        let guard = self.inner.read().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .map(|s| s.live.keys().copied().collect())
            .unwrap_or_default()
    }

    /// The Prometheus text exposition of the snapshot (empty before the first refresh).
    pub fn render(&self) -> String {
        let guard = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let Some(snapshot) = guard.as_ref() else {
            return String::new();
        };
        let mut out = String::new();
        family(
            &mut out,
            names::PRL_CAMPAIGNS,
            "PRL campaigns by state (pushing, paused, waiting, finished, cancelled)",
        );
        for (state, n) in &snapshot.by_state {
            sample(
                &mut out,
                names::PRL_CAMPAIGNS,
                &[("state", state.as_str())],
                *n,
            );
        }
        if snapshot.live.is_empty() {
            return out;
        }
        family(
            &mut out,
            names::PRL_CAMPAIGN_TARGETS,
            "Targets of PRL campaigns not ended by state (pending, queued, skipped)",
        );
        for (id, c) in &snapshot.live {
            let id = id.to_string();
            for (state, n) in [
                ("pending", c.targets.pending),
                ("queued", c.targets.queued),
                ("skipped", c.targets.skipped),
            ] {
                let labels = [("campaign", id.as_str()), ("state", state)];
                sample(&mut out, names::PRL_CAMPAIGN_TARGETS, &labels, n);
            }
        }
        family(
            &mut out,
            names::PRL_CAMPAIGN_SESSIONS,
            "Push sessions of PRL campaigns not ended by state (active, completed, failed)",
        );
        for (id, c) in &snapshot.live {
            let id = id.to_string();
            for (state, n) in [
                ("active", c.sessions.active),
                ("completed", c.sessions.completed),
                ("failed", c.sessions.failed),
            ] {
                let labels = [("campaign", id.as_str()), ("state", state)];
                sample(&mut out, names::PRL_CAMPAIGN_SESSIONS, &labels, n);
            }
        }
        if snapshot
            .live
            .values()
            .all(|c| c.skipped_by_cause.is_empty() && c.failed_by_cause.is_empty())
        {
            return out;
        }
        family(
            &mut out,
            names::PRL_CAMPAIGN_CAUSES,
            "Skipped targets (kind=skipped) and failed sessions (kind=failed) of PRL campaigns not ended by cause",
        );
        for (id, c) in &snapshot.live {
            let id = id.to_string();
            for (kind, causes) in [
                ("skipped", &c.skipped_by_cause),
                ("failed", &c.failed_by_cause),
            ] {
                for (cause, n) in causes {
                    let labels = [("campaign", id.as_str()), ("kind", kind), ("cause", cause)];
                    sample(&mut out, names::PRL_CAMPAIGN_CAUSES, &labels, *n);
                }
            }
        }
        out
    }
}

fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: i64) {
    let _ = write!(out, "{name}{{");
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{k}=\"{}\"", escape(v));
    }
    let _ = writeln!(out, "}} {value}");
}

/// A label value as the text exposition wants it (backslash, double quote and newline escaped).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Moves campaign states on ([`campaigns::advance_states`]) and reads the gauges' snapshot
/// from the database: campaigns by state, and the counts of every campaign not ended (a
/// campaign that has just finished or been cancelled drops out of the exposition).
pub async fn refresh(
    conn: &mut AsyncPgConnection,
    gauges: &CampaignGauges,
) -> Result<Advanced, StoreError> {
    let advanced = campaigns::advance_states(conn).await?;
    let by_state = campaigns::count_by_state(conn).await?;
    let live = campaigns::live(conn).await?;
    let counts = campaigns::counts(conn, &live).await?;
    gauges.set(by_state, counts);
    Ok(advanced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_nothing_before_the_first_refresh() {
        assert_eq!(CampaignGauges::new().render(), "");
    }

    #[test]
    fn renders_every_state_of_each_live_campaign_and_only_causes_seen() {
        let gauges = CampaignGauges::new();
        let mut counts = CampaignCounts::default();
        counts.targets.pending = 3;
        counts.targets.skipped = 1;
        counts.skipped_by_cause.insert("no-mdn".into(), 1);
        counts.sessions.failed = 2;
        counts.failed_by_cause.insert("time\"out".into(), 2);
        gauges.set(
            CampaignState::ALL.into_iter().map(|s| (s, 1)).collect(),
            [(7, counts)].into_iter().collect(),
        );
        let text = gauges.render();
        for line in [
            "otagw_prl_campaigns{state=\"pushing\"} 1",
            "otagw_prl_campaigns{state=\"finished\"} 1",
            "otagw_prl_campaign_targets{campaign=\"7\",state=\"pending\"} 3",
            "otagw_prl_campaign_targets{campaign=\"7\",state=\"queued\"} 0",
            "otagw_prl_campaign_sessions{campaign=\"7\",state=\"failed\"} 2",
            "otagw_prl_campaign_causes{campaign=\"7\",kind=\"skipped\",cause=\"no-mdn\"} 1",
            "otagw_prl_campaign_causes{campaign=\"7\",kind=\"failed\",cause=\"time\\\"out\"} 2",
            "# TYPE otagw_prl_campaign_targets gauge",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert_eq!(gauges.campaigns(), vec![7]);
        // A campaign that finished is gone at the next refresh.
        gauges.set(BTreeMap::new(), BTreeMap::new());
        assert!(!gauges.render().contains("campaign=\"7\""));
    }
}

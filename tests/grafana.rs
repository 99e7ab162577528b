//! The Grafana dashboard stays importable and in step with the metrics otagw exports, and
//! docs/operations.md documents every one of those metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

const DASHBOARD: &str = include_str!("../grafana/dashboards/otagw-activation.json");
const OPERATIONS: &str = include_str!("../docs/operations.md");
const DATASOURCE_YAML: &str = include_str!("../grafana/provisioning/datasources/prometheus.yaml");
const PROVIDER_YAML: &str = include_str!("../grafana/provisioning/dashboards/otagw.yaml");

/// Every metric otagw exports: the one list, in src/telemetry.rs.
const METRICS: &[&str] = otagw::telemetry::names::ALL;

/// The histograms among [`METRICS`]: queried only through their exposed series.
const HISTOGRAMS: &[&str] = &["otagw_session_duration_seconds"];

const HISTOGRAM_SUFFIXES: &[&str] = &["_bucket", "_sum", "_count"];

/// The series names a query may use: plain metrics, and histograms with a suffix.
fn queryable_names() -> HashSet<String> {
    let mut names = HashSet::new();
    for &metric in METRICS {
        if HISTOGRAMS.contains(&metric) {
            for suffix in HISTOGRAM_SUFFIXES {
                names.insert(format!("{metric}{suffix}"));
            }
        } else {
            names.insert(metric.to_string());
        }
    }
    names
}

fn dashboard() -> Value {
    serde_json::from_str(DASHBOARD).expect("the dashboard is valid JSON")
}

/// All panels, including those nested in collapsed rows.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().expect("panels is an array") {
            out.push(panel);
            if let Some(nested) = panel.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

fn is_row(panel: &Value) -> bool {
    panel["type"] == "row"
}

fn title(panel: &Value) -> String {
    panel["title"].as_str().unwrap_or("(untitled)").to_string()
}

/// Identifiers in a PromQL expression that start with `otagw_`, ignoring quoted strings.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars().chain(std::iter::once(' ')) {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            current.push(c);
            continue;
        }
        if current.starts_with("otagw_") {
            names.push(current.clone());
        }
        current.clear();
        if c == '"' || c == '\'' || c == '`' {
            quote = Some(c);
        }
    }
    names
}

/// The contents of every `[...]` range selector in an expression, outside quoted strings.
fn range_selectors(expr: &str) -> Vec<String> {
    let mut ranges = Vec::new();
    let mut quote: Option<char> = None;
    let mut current: Option<String> = None;
    for c in expr.chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '[' => current = Some(String::new()),
            ']' => ranges.extend(current.take()),
            _ => {
                if let Some(range) = current.as_mut() {
                    range.push(c);
                }
            }
        }
    }
    ranges
}

/// Every target of every non-row panel: (panel title, target).
fn targets(dashboard: &Value) -> Vec<(String, &Value)> {
    panels(dashboard)
        .into_iter()
        .filter(|p| !is_row(p))
        .flat_map(|p| {
            let title = title(p);
            p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |t| (title.clone(), t))
        })
        .collect()
}

#[test]
fn dashboard_parses_and_is_identified() {
    let d = dashboard();
    assert_eq!(d["uid"], "otagw-activation");
    assert_eq!(d["title"], "otagw: activations");
    let schema = d["schemaVersion"]
        .as_u64()
        .expect("schemaVersion is a number");
    assert!((36..=41).contains(&schema), "schemaVersion {schema}");
    // An importable dashboard carries no database id.
    assert!(d["id"].is_null(), "id must be null, got {}", d["id"]);
}

#[test]
fn dashboard_has_a_prometheus_datasource_variable() {
    let d = dashboard();
    let vars = d["templating"]["list"].as_array().expect("templating.list");
    let ds = vars
        .iter()
        .find(|v| v["name"] == "datasource")
        .expect("a template variable named datasource");
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");
}

#[test]
fn every_panel_and_target_uses_the_datasource_variable() {
    let d = dashboard();
    let expected = serde_json::json!({"type": "prometheus", "uid": "${datasource}"});
    for panel in panels(&d).into_iter().filter(|p| !is_row(p)) {
        assert_eq!(panel["datasource"], expected, "panel {}", title(panel));
    }
    for (panel, target) in targets(&d) {
        if let Some(ds) = target.get("datasource") {
            assert_eq!(ds, &expected, "a target of panel {panel}");
        }
    }
}

#[test]
fn panel_ids_are_unique_and_panels_are_placed() {
    let d = dashboard();
    let all = panels(&d);
    assert!(!all.is_empty(), "the dashboard has panels");
    let mut ids = HashSet::new();
    for panel in all {
        let id = panel["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("panel {} has no numeric id", title(panel)));
        assert!(ids.insert(id), "panel id {id} is used twice");
        let pos = &panel["gridPos"];
        for key in ["x", "y", "w", "h"] {
            assert!(pos[key].is_u64(), "panel {} gridPos.{key}", title(panel));
        }
        let (x, w) = (pos["x"].as_u64().unwrap(), pos["w"].as_u64().unwrap());
        assert!(x + w <= 24, "panel {} is wider than the grid", title(panel));
    }
}

#[test]
fn every_panel_has_a_query() {
    let d = dashboard();
    for panel in panels(&d).into_iter().filter(|p| !is_row(p)) {
        let targets = panel["targets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert!(!targets.is_empty(), "panel {} has no target", title(panel));
        let mut refs = HashSet::new();
        for target in targets {
            let expr = target["expr"].as_str().unwrap_or_default();
            assert!(
                !expr.trim().is_empty(),
                "panel {} has an empty query",
                title(panel)
            );
            let ref_id = target["refId"].as_str().expect("refId");
            assert!(
                refs.insert(ref_id),
                "panel {} repeats refId {ref_id}",
                title(panel)
            );
        }
    }
}

#[test]
fn queries_only_use_known_metrics() {
    let d = dashboard();
    let known = queryable_names();
    let mut used = BTreeSet::new();
    for (panel, target) in targets(&d) {
        let expr = target["expr"].as_str().unwrap_or_default();
        let names = metric_names(expr);
        assert!(
            !names.is_empty(),
            "panel {panel}: `{expr}` queries no otagw metric"
        );
        for name in names {
            assert!(
                known.contains(&name),
                "panel {panel}: unknown metric {name} in `{expr}`"
            );
            used.insert(name);
        }
        for range in range_selectors(expr) {
            assert!(
                range == "$__rate_interval" || range == "$__range",
                "panel {panel}: hard-coded range [{range}] in `{expr}`"
            );
        }
    }
    // Template variable queries name metrics too.
    for var in d["templating"]["list"].as_array().expect("templating.list") {
        for key in ["definition", "query"] {
            let text = match &var[key] {
                Value::String(s) => s.clone(),
                Value::Object(o) => o
                    .get("query")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                _ => continue,
            };
            for name in metric_names(&text) {
                assert!(
                    known.contains(&name),
                    "variable {}: unknown metric {name}",
                    var["name"]
                );
            }
        }
    }
    // And every metric is charted somewhere.
    for &metric in METRICS {
        assert!(
            used.iter().any(|n| n == metric
                || n.strip_prefix(metric)
                    .is_some_and(|s| HISTOGRAM_SUFFIXES.contains(&s))),
            "no panel charts {metric}"
        );
    }
}

/// The metrics queried by the panels of the (expanded) row titled `row`: the panels placed
/// below it and above the next row.
fn metrics_of_row(dashboard: &Value, row: &str) -> BTreeSet<String> {
    let all = panels(dashboard);
    let y = |p: &Value| p["gridPos"]["y"].as_u64().unwrap();
    let start = all
        .iter()
        .find(|p| is_row(p) && title(p) == row)
        .map(|p| y(p))
        .unwrap_or_else(|| panic!("no row {row}"));
    let end = all
        .iter()
        .filter(|p| is_row(p) && y(p) > start)
        .map(|p| y(p))
        .min()
        .unwrap_or(u64::MAX);
    all.into_iter()
        .filter(|p| !is_row(p) && y(p) > start && y(p) < end)
        .flat_map(|p| {
            p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|t| metric_names(t["expr"].as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_smpp_and_campaign_rows_chart_what_operators_watch() {
    let d = dashboard();
    let smpp = metrics_of_row(&d, "SMPP and OSPP");
    for metric in [
        "otagw_smpp_bind_up",
        "otagw_smpp_window_in_use",
        "otagw_smpp_congestion_state",
        "otagw_smpp_submits_total",
        "otagw_smpp_receipts_total",
        "otagw_smpp_outbox_depth",
    ] {
        assert!(
            smpp.contains(metric),
            "the SMPP row does not chart {metric}"
        );
    }
    let campaigns = metrics_of_row(&d, "PRL campaigns");
    for metric in [
        "otagw_prl_campaigns",
        "otagw_prl_campaign_targets",
        "otagw_prl_campaign_sessions",
        "otagw_prl_campaign_causes",
        "otagw_prl_campaign_pushes_total",
        "otagw_sessions_completed_total",
    ] {
        assert!(
            campaigns.contains(metric),
            "the PRL campaigns row does not chart {metric}"
        );
    }
}

#[test]
fn operations_doc_lists_every_metric() {
    for &metric in METRICS {
        assert!(
            OPERATIONS.contains(&format!("`{metric}`")),
            "docs/operations.md does not list {metric}"
        );
    }
}

#[test]
fn provisioning_files_point_at_the_dashboard_and_prometheus() {
    assert!(DATASOURCE_YAML.contains("type: prometheus"));
    assert!(DATASOURCE_YAML.contains("url: http://localhost:9090"));
    assert!(PROVIDER_YAML.contains("type: file"));
    assert!(PROVIDER_YAML.contains("folder: otagw"));
    assert!(PROVIDER_YAML.contains("path: /var/lib/grafana/dashboards/otagw"));
    for text in [DATASOURCE_YAML, PROVIDER_YAML] {
        assert!(!text.contains('\t'), "YAML must be indented with spaces");
    }
}

#[test]
fn metric_name_extraction() {
    assert_eq!(
        metric_names(
            r#"sum by (le) (rate(otagw_a_bucket{x="otagw_not_me"}[$__rate_interval])) / otagw_b"#
        ),
        vec!["otagw_a_bucket", "otagw_b"]
    );
    assert_eq!(
        range_selectors(r#"rate(m{a="[x]"}[$__range])"#),
        vec!["$__range"]
    );
}

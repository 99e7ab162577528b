//! The REST API, `/api/v1`: JSON in and out, every request through [`super::guard`] (API key,
//! permission from the one table, Host/Origin, JSON only, operator audit). Errors are RFC 9457
//! problems; a validation error names its field (`field`).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::guard::{guard, GuardState};
use super::problem::Problem;
use super::state::{json, AdminState};
use crate::access::{password, Principal, Role};
use crate::flows::prl_campaign::{self, CampaignError, Target};
use crate::store::accounts::{self, Account, AccountError};
use crate::store::campaigns::CampaignAction;
use crate::store::models::{Profile, Session};
use crate::store::profiles::{self, Lookup};
use crate::store::{operator_audit, sessions, StoreError};

/// Longest TRN (an E.164 number: at most 15 digits).
const MAX_TRN_DIGITS: usize = 15;

/// The `/api/v1` router, every route behind the guard.
pub(crate) fn router(state: AdminState, guard_state: GuardState) -> Router {
    Router::new()
        .route("/api/v1/triggers/star-code", post(star_code))
        .route("/api/v1/triggers/ivr-star-code", post(ivr_star_code))
        .route("/api/v1/triggers/prl-push", post(prl_push))
        .route("/api/v1/campaigns", post(prl_campaign).get(prl_campaigns))
        .route("/api/v1/campaigns/{id}", get(prl_campaign_progress))
        .route(
            "/api/v1/campaigns/{id}/{action}",
            post(prl_campaign_control),
        )
        .route("/api/v1/subscribers", get(search_subscribers))
        .route("/api/v1/subscribers/{id}", get(subscriber))
        .route(
            "/api/v1/subscribers/{id}/sessions",
            get(subscriber_sessions),
        )
        .route("/api/v1/accounts", get(list_accounts).post(create_account))
        .route("/api/v1/accounts/{name}/disable", post(disable_account))
        .route("/api/v1/keys", get(list_keys).post(create_key))
        .route("/api/v1/keys/{prefix}", delete(revoke_key))
        .route("/api/v1/audit", get(audit))
        .route_layer(axum::middleware::from_fn_with_state(guard_state, guard))
        .with_state(state)
}

/// A request body read as JSON of type `T`; a bad field is named (`field`).
fn body_of<T: serde::de::DeserializeOwned>(body: &[u8], expected: &str) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            Problem::bad_request(format!("expected {expected}: {inner}"))
        } else {
            Problem::invalid_field(path.clone(), format!("{path}: {inner}"))
        }
    })
}

/// The query parameters of a request, each at most once and each one of `known` (an unknown
/// or repeated one is a 400 naming it).
fn params(
    raw: Option<String>,
    known: &[&'static str],
) -> Result<std::collections::BTreeMap<&'static str, String>, Problem> {
    let mut out = std::collections::BTreeMap::new();
    for pair in raw
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |t: &str| crate::database::percent_decode(&t.replace('+', " "));
        let key = decode(k);
        let Some(name) = known.iter().find(|n| **n == key) else {
            return Err(Problem::invalid_field(
                key.clone(),
                format!(
                    "unknown query parameter {key:?} (known: {})",
                    known.join(", ")
                ),
            ));
        };
        if out.insert(*name, decode(v)).is_some() {
            return Err(Problem::invalid_field(*name, format!("{name} given twice")));
        }
    }
    Ok(out)
}

/// Body of the star-code triggers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StarCodeTrigger {
    /// The TRN the MSC gave the handset's call.
    trn: String,
}

impl StarCodeTrigger {
    fn read(body: &[u8]) -> Result<String, Problem> {
        let trigger: Self = body_of(body, "{\"trn\": \"digits\"}")?;
        let digits = trigger.trn.len();
        if digits == 0 || !trigger.trn.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Problem::invalid_field("trn", "trn must be decimal digits"));
        }
        if digits > MAX_TRN_DIGITS {
            return Err(Problem::invalid_field(
                "trn",
                format!("trn must be 1 to {MAX_TRN_DIGITS} decimal digits, got {digits}"),
            ));
        }
        Ok(trigger.trn)
    }
}

/// `POST /api/v1/triggers/star-code`: runs the activation over SS7 and answers with its
/// outcome (200 activated, 422 failed with its cause, 202 an IOTA-capable handset handed to
/// the IVR-assisted IOTA path).
async fn star_code(
    State(state): State<AdminState>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let trn = StarCodeTrigger::read(&body)?;
    let report = state.driver.star_code(trn).await?;
    let status = match report.outcome.as_str() {
        "success" => StatusCode::OK,
        crate::flows::star_code::HANDED_TO_IOTA => StatusCode::ACCEPTED,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Ok(json(status, report))
}

/// Body of `POST /api/v1/triggers/prl-push`: a PRL library id and one subscriber identity.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrlPushTrigger {
    prl: i32,
    mdn: Option<String>,
    esn: Option<String>,
    meid: Option<String>,
}

/// `POST /api/v1/triggers/prl-push`: queues the WAP push and answers with the session.
async fn prl_push(
    State(state): State<AdminState>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let trigger: PrlPushTrigger =
        body_of(&body, "{\"prl\": N, \"mdn\"|\"esn\"|\"meid\": \"...\"}")?;
    let lookup = match (&trigger.mdn, &trigger.esn, &trigger.meid) {
        (Some(v), None, None) => field_lookup("mdn", v)?,
        (None, Some(v), None) => field_lookup("esn", v)?,
        (None, None, Some(v)) => field_lookup("meid", v)?,
        _ => return Err(Problem::bad_request("give exactly one of mdn, esn, meid")),
    };
    let started = state.driver.prl_push(trigger.prl, lookup).await?;
    Ok(json(StatusCode::ACCEPTED, started))
}

/// A subscriber identity given in `field` (`esn`, `meid`, `min`, `mdn`).
fn field_lookup(field: &str, value: &str) -> Result<Lookup, Problem> {
    let bad = |e: &dyn std::fmt::Display| Problem::invalid_field(field, format!("{field}: {e}"));
    let v = value.trim();
    Ok(match field {
        "esn" => Lookup::Esn(v.parse().map_err(|e| bad(&e))?),
        "meid" => Lookup::Meid(v.parse().map_err(|e| bad(&e))?),
        "min" => Lookup::Min(v.parse().map_err(|e| bad(&e))?),
        _ => Lookup::Mdn(v.parse().map_err(|e| bad(&e))?),
    })
}

/// `POST /api/v1/triggers/ivr-star-code`: attaches the TRN, queues the WAP push, answers with
/// the session.
async fn ivr_star_code(
    State(state): State<AdminState>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let trn = StarCodeTrigger::read(&body)?;
    let started = state.driver.ivr_star_code(trn).await?;
    Ok(json(StatusCode::ACCEPTED, started))
}

/// Body of `POST /api/v1/campaigns`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignTrigger {
    prl: i32,
    subscribers: Option<Vec<String>>,
    make: Option<String>,
    model: Option<String>,
}

/// `POST /api/v1/campaigns`: creates a PRL campaign.
async fn prl_campaign(
    State(state): State<AdminState>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let trigger: CampaignTrigger = body_of(
        &body,
        "{\"prl\": N, \"subscribers\": [...]} or {\"prl\": N, \"make\": ..., \"model\": ...}",
    )?;
    let target = match (trigger.subscribers, trigger.make, trigger.model) {
        (Some(list), None, None) => Target::Subscribers(list),
        (None, Some(make), Some(model)) => Target::MakeModel { make, model },
        _ => return Err(Problem::bad_request("give subscribers, or make and model")),
    };
    let started = state.driver.prl_campaign(trigger.prl, target).await?;
    state.campaigns.wake();
    Ok(json(StatusCode::ACCEPTED, started))
}

/// A row id in a path.
fn path_id(field: &str, raw: &str, what: &str) -> Result<i64, Problem> {
    raw.parse()
        .map_err(|_| Problem::invalid_field(field, format!("{raw:?} is not a {what} id")))
}

/// `POST /api/v1/campaigns/{id}/{action}`: pause, resume or cancel.
async fn prl_campaign_control(
    State(state): State<AdminState>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let id = path_id("id", &id, "campaign")?;
    let action: CampaignAction = action.parse().map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "unknown-action",
            format!("{action:?} is not pause, resume or cancel"),
        )
    })?;
    let mut conn = state.store.conn().await.map_err(CampaignError::from)?;
    let done = prl_campaign::control(&mut conn, id, action).await?;
    if action == CampaignAction::Resume {
        state.campaigns.wake();
    }
    Ok(json(StatusCode::OK, done))
}

/// `GET /api/v1/campaigns/{id}`: a campaign's progress.
async fn prl_campaign_progress(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = path_id("id", &id, "campaign")?;
    let mut conn = state.store.conn().await.map_err(CampaignError::from)?;
    Ok(json(
        StatusCode::OK,
        prl_campaign::progress(&mut conn, id).await?,
    ))
}

/// `GET /api/v1/campaigns`: every campaign not ended and the newest ended ones.
async fn prl_campaigns(State(state): State<AdminState>) -> Result<Response, Problem> {
    let mut conn = state.store.conn().await.map_err(CampaignError::from)?;
    let list = prl_campaign::list(&mut conn).await?;
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "campaigns": list }),
    ))
}

/// A store failure as a problem (its details logged, not answered).
fn store_problem(e: StoreError) -> Problem {
    match e {
        StoreError::ProfileNotFound(what) => Problem::new(
            StatusCode::NOT_FOUND,
            "unknown-subscriber",
            format!("no subscriber with {what}"),
        ),
        e => {
            tracing::error!(error = %e, "API request failed");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
                "internal error; the gateway logged the details",
            )
        }
    }
}

/// A subscriber as customer care sees it: the profile without the SPC and SPASM key (never
/// read) and without the OTAPA call-back URL (it carries the session's secret token), with
/// `otapa_callback_pending` instead.
fn subscriber_view(profile: Profile) -> serde_json::Value {
    let pending = profile.otapa_callback_url.is_some();
    let mut v = serde_json::to_value(profile).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.remove("otapa_callback_url");
        map.insert(
            "otapa_callback_pending".to_string(),
            serde_json::Value::Bool(pending),
        );
    }
    v
}

/// `GET /api/v1/subscribers?esn=|meid=|min=|mdn=`: the matching subscriber (a list of zero or
/// one; an ESN also matches a MEID device's pseudo-ESN).
async fn search_subscribers(
    State(state): State<AdminState>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let given = params(query, &["esn", "meid", "min", "mdn"])?;
    let given: Vec<(&str, &String)> = given.iter().map(|(k, v)| (*k, v)).collect();
    let [(field, value)] = given.as_slice() else {
        return Err(Problem::bad_request(
            "give exactly one of esn, meid, min, mdn",
        ));
    };
    let lookup = field_lookup(field, value)?;
    let mut conn = state.store.conn().await.map_err(store_problem)?;
    let found = match profiles::find(&mut conn, &lookup).await {
        Ok(p) => vec![subscriber_view(p)],
        Err(StoreError::ProfileNotFound(_)) => Vec::new(),
        Err(e) => return Err(store_problem(e)),
    };
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "subscribers": found }),
    ))
}

/// `GET /api/v1/subscribers/{id}`: one subscriber by row id.
async fn subscriber(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = path_id("id", &id, "subscriber")?;
    let mut conn = state.store.conn().await.map_err(store_problem)?;
    let p = profiles::find(&mut conn, &Lookup::Id(id))
        .await
        .map_err(store_problem)?;
    Ok(json(StatusCode::OK, subscriber_view(p)))
}

/// A session as listed: no token, no state (they hold secrets).
#[derive(Debug, Serialize)]
struct SessionView {
    id: i64,
    flow: String,
    bearer: String,
    status: String,
    cause: Option<String>,
    device: Option<String>,
    campaign_id: Option<i64>,
    fallback: bool,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        let text = |v: serde_json::Result<serde_json::Value>| match v {
            Ok(serde_json::Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(_) => String::new(),
        };
        Self {
            id: s.id,
            flow: text(serde_json::to_value(s.flow)),
            bearer: text(serde_json::to_value(s.bearer)),
            status: text(serde_json::to_value(s.status)),
            cause: s.cause,
            device: s.device,
            campaign_id: s.campaign_id,
            fallback: s.fallback,
            created_at: s.created_at,
            started_at: s.started_at,
            updated_at: s.updated_at,
            deadline: s.deadline,
        }
    }
}

/// `GET /api/v1/subscribers/{id}/sessions`: the subscriber's sessions, newest first.
async fn subscriber_sessions(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = path_id("id", &id, "subscriber")?;
    let mut conn = state.store.conn().await.map_err(store_problem)?;
    profiles::find(&mut conn, &Lookup::Id(id))
        .await
        .map_err(store_problem)?;
    let list: Vec<SessionView> = sessions::for_profile(&mut conn, id, 100)
        .await
        .map_err(store_problem)?
        .into_iter()
        .map(SessionView::from)
        .collect();
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "sessions": list }),
    ))
}

fn account_problem(e: AccountError) -> Problem {
    Problem::from(e)
}

async fn conn_for_accounts(state: &AdminState) -> Result<crate::store::Conn, Problem> {
    state
        .store
        .conn()
        .await
        .map_err(|e| account_problem(AccountError::Store(e)))
}

/// `GET /api/v1/accounts`.
async fn list_accounts(State(state): State<AdminState>) -> Result<Response, Problem> {
    let mut conn = conn_for_accounts(&state).await?;
    let list: Vec<Account> = accounts::list(&mut conn).await.map_err(account_problem)?;
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "accounts": list }),
    ))
}

/// Body of `POST /api/v1/accounts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    name: String,
    roles: Vec<String>,
    password: Option<String>,
}

fn roles_of(field: &str, names: &[String]) -> Result<Vec<Role>, Problem> {
    names
        .iter()
        .map(|n| n.parse::<Role>())
        .collect::<Result<_, _>>()
        .map_err(|e| Problem::invalid_field(field, e.to_string()))
}

/// `POST /api/v1/accounts`: 201 with the account (never its password).
async fn create_account(
    State(state): State<AdminState>,
    Extension(who): Extension<Principal>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let new: NewAccount = body_of(
        &body,
        "{\"name\": ..., \"roles\": [...], \"password\": ... (optional)}",
    )?;
    let roles = roles_of("roles", &new.roles)?;
    let smpp = roles.iter().any(|r| r.is_smpp());
    let hash = match new.password.as_deref() {
        Some(p) => {
            password::check_new(p, smpp)
                .map_err(|e| Problem::invalid_field("password", e.to_string()))?;
            Some(password::hash(p).map_err(|e| {
                tracing::error!(error = %e, "password hashing failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal-error",
                    "cannot hash the password",
                )
            })?)
        }
        None => None,
    };
    let mut conn = conn_for_accounts(&state).await?;
    let account = accounts::create(&mut conn, &new.name, &roles, hash.as_deref(), &who.account)
        .await
        .map_err(account_problem)?;
    Ok(json(StatusCode::CREATED, account))
}

/// `POST /api/v1/accounts/{name}/disable`.
async fn disable_account(
    State(state): State<AdminState>,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    let mut conn = conn_for_accounts(&state).await?;
    let account = accounts::disable(&mut conn, &name)
        .await
        .map_err(account_problem)?;
    Ok(json(StatusCode::OK, account))
}

/// `GET /api/v1/keys[?account=NAME]`: prefixes, roles, dates; never a secret.
async fn list_keys(
    State(state): State<AdminState>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let q = params(query, &["account"])?;
    let mut conn = conn_for_accounts(&state).await?;
    let list: Vec<serde_json::Value> =
        accounts::list_keys(&mut conn, q.get("account").map(String::as_str))
            .await
            .map_err(account_problem)?
            .into_iter()
            .map(|(account, key)| {
                let mut v = serde_json::to_value(key).unwrap_or_default();
                v["account"] = serde_json::Value::String(account);
                v
            })
            .collect();
    Ok(json(StatusCode::OK, serde_json::json!({ "keys": list })))
}

/// Body of `POST /api/v1/keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKeyBody {
    account: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    label: String,
    expires_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/keys`: 201 with the key, shown this once.
async fn create_key(
    State(state): State<AdminState>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let new: NewKeyBody = body_of(
        &body,
        "{\"account\": ..., \"roles\": [...], \"label\": ..., \"expires_at\": RFC 3339}",
    )?;
    let roles = roles_of("roles", &new.roles)?;
    if new.expires_at.is_some_and(|e| e <= Utc::now()) {
        return Err(Problem::invalid_field(
            "expires_at",
            "expires_at is in the past",
        ));
    }
    let mut conn = conn_for_accounts(&state).await?;
    let (key, row) =
        accounts::create_key(&mut conn, &new.account, &roles, &new.label, new.expires_at)
            .await
            .map_err(account_problem)?;
    let mut v = serde_json::to_value(row).unwrap_or_default();
    v["key"] = serde_json::Value::String(key.key);
    v["account"] = serde_json::Value::String(new.account);
    Ok(json(StatusCode::CREATED, v))
}

/// `DELETE /api/v1/keys/{prefix}`: revokes at once.
async fn revoke_key(
    State(state): State<AdminState>,
    Path(prefix): Path<String>,
) -> Result<Response, Problem> {
    let mut conn = conn_for_accounts(&state).await?;
    let row = accounts::revoke_key(&mut conn, &prefix)
        .await
        .map_err(account_problem)?;
    Ok(json(StatusCode::OK, row))
}

/// `GET /api/v1/audit[?account=NAME&limit=N]`: the operator audit, newest first.
async fn audit(
    State(state): State<AdminState>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let q = params(query, &["account", "limit"])?;
    let limit = match q.get("limit") {
        None => 100,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| Problem::invalid_field("limit", "limit must be 1 to 1000"))?,
    };
    let mut conn = state.store.conn().await.map_err(store_problem)?;
    let rows = operator_audit::list(&mut conn, q.get("account").map(String::as_str), limit)
        .await
        .map_err(store_problem)?;
    Ok(json(StatusCode::OK, serde_json::json!({ "actions": rows })))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_long_trn_is_refused_naming_trn() {
        let body = format!("{{\"trn\":\"{}\"}}", "5".repeat(303));
        let p = StarCodeTrigger::read(body.as_bytes()).unwrap_err();
        assert_eq!(p.status, StatusCode::BAD_REQUEST);
        assert_eq!(p.field.as_deref(), Some("trn"));
        let p = StarCodeTrigger::read(br#"{"trn": 5}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("trn"), "{p:?}");
        assert_eq!(
            StarCodeTrigger::read(br#"{"trn":"5550001"}"#).unwrap(),
            "5550001"
        );
    }

    #[test]
    fn identities_are_checked_by_field() {
        assert_eq!(
            field_lookup("esn", "zz").unwrap_err().field.as_deref(),
            Some("esn")
        );
        assert_eq!(
            field_lookup("min", "123").unwrap_err().field.as_deref(),
            Some("min")
        );
        assert!(matches!(
            field_lookup("mdn", "5551234").unwrap(),
            Lookup::Mdn(_)
        ));
    }
}

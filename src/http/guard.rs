//! The door of `/api/v1`: every request passes here before its handler.
//!
//! In order: the route must have a rule in [`crate::access::endpoints::ENDPOINTS`] (deny by
//! default: 403 `no-rule`); the `Host` must be one this server answers to (421 `unknown-host`,
//! against DNS rebinding); a state-changing request's `Origin`, when sent, must be this host
//! (403 `cross-origin`, against cross-site requests); the API key (`Authorization: Bearer`)
//! must be valid (401); the key's roles must permit the endpoint's permission (403); a
//! POST must be `Content-Type: application/json` (415). Every state-changing request that got
//! as far as a known account is written to the operator audit with its outcome.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::Problem;
use crate::access::endpoints;
use crate::access::Principal;
use crate::store::operator_audit::{self, Door, NewAction};
use crate::store::{accounts, Store};

/// What the guard needs.
#[derive(Clone, Debug)]
pub(crate) struct GuardState {
    /// Where accounts and keys are.
    pub store: Store,
    /// Host names (besides IP literals and `localhost`) the API answers to.
    pub allowed_hosts: Arc<[String]>,
}

/// The host part of a `Host` header or an origin's authority (`[::1]:80` -> `::1`).
fn host_part(authority: &str) -> &str {
    let a = authority.trim();
    if a.parse::<IpAddr>().is_ok() {
        return a; // a bare IPv6 address: its colons are no port
    }
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match a.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => a,
    }
}

/// Whether a `Host` header names this server: an IP literal, `localhost`, or a configured
/// name. A name an attacker's DNS points at us (DNS rebinding) is none of these.
pub(crate) fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let h = host_part(host);
    !h.is_empty()
        && (h.parse::<IpAddr>().is_ok()
            || h.eq_ignore_ascii_case("localhost")
            || allowed.iter().any(|a| a.eq_ignore_ascii_case(h)))
}

/// Whether an `Origin` may send a state-changing request to `host`: the same authority, or a
/// configured host name.
pub(crate) fn origin_allowed(origin: &str, host: &str, allowed: &[String]) -> bool {
    let Some((_, authority)) = origin.split_once("://") else {
        return false; // "null" and the like
    };
    authority.eq_ignore_ascii_case(host)
        || allowed
            .iter()
            .any(|a| a.eq_ignore_ascii_case(host_part(authority)))
}

/// Whether a content type is JSON (`application/json`, parameters allowed).
pub(crate) fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn header_text(request: &Request, name: header::HeaderName) -> Option<&str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The guard (a route layer of the API router).
pub(crate) async fn guard(
    State(state): State<GuardState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let method = request.method().clone();
    let Some(endpoint) = endpoints::find(method.as_str(), &route) else {
        tracing::error!(%method, route, "API route without a permission rule refused");
        return Problem::new(
            StatusCode::FORBIDDEN,
            "no-rule",
            "this endpoint has no permission rule",
        )
        .into_response();
    };
    let host = header_text(&request, header::HOST)
        .unwrap_or_default()
        .to_string();
    if !host_allowed(&host, &state.allowed_hosts) {
        return Problem::new(
            StatusCode::MISDIRECTED_REQUEST,
            "unknown-host",
            "this server does not answer to that Host (add it to http.allowed_hosts)",
        )
        .into_response();
    }
    if endpoint.changes_state() {
        if let Some(origin) = header_text(&request, header::ORIGIN) {
            if !origin_allowed(origin, &host, &state.allowed_hosts) {
                return Problem::new(
                    StatusCode::FORBIDDEN,
                    "cross-origin",
                    "a state-changing request from another origin is refused",
                )
                .into_response();
            }
        }
    }
    let credential = header_text(&request, header::AUTHORIZATION).map(str::to_string);
    let principal = match authenticate(&state.store, credential.as_deref()).await {
        Ok(Some(p)) => p,
        Ok(None) => return Problem::unauthenticated().into_response(),
        Err(problem) => return problem.into_response(),
    };
    let path = request.uri().path().to_string();
    let json_body = header_text(&request, header::CONTENT_TYPE).is_some_and(is_json);
    let response = if !principal.may(endpoint.permission) {
        Problem::forbidden(format!(
            "{} needs the permission {}, which none of this key's roles has",
            endpoint.path, endpoint.permission
        ))
        .into_response()
    } else if method == Method::POST && !json_body {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send Content-Type: application/json",
        )
        .into_response()
    } else {
        let mut request = request;
        request.extensions_mut().insert(principal.clone());
        next.run(request).await
    };
    if endpoint.changes_state() {
        audit(&state.store, &principal, endpoint, &path, response.status()).await;
    }
    response
}

/// The principal of the request's API key; `Ok(None)` for no or an invalid key.
async fn authenticate(store: &Store, value: Option<&str>) -> Result<Option<Principal>, Problem> {
    let Some(value) = value else {
        return Ok(None);
    };
    let Some((scheme, key)) = value.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let mut conn = store.conn().await.map_err(internal)?;
    accounts::authenticate_key(&mut conn, key.trim())
        .await
        .map_err(internal)
}

fn internal(e: crate::store::StoreError) -> Problem {
    tracing::error!(error = %e, "API authentication failed");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store-unavailable",
        "credentials cannot be checked now",
    )
}

/// Writes the operator audit row of a state-changing request (a failure is logged; the answer
/// has been decided already).
async fn audit(
    store: &Store,
    who: &Principal,
    endpoint: &endpoints::Endpoint,
    path: &str,
    status: StatusCode,
) {
    let action = format!("{} {}", endpoint.method, endpoint.path);
    let outcome = status.as_u16().to_string();
    let row = NewAction {
        door: Door::Api,
        account_id: Some(who.account_id),
        account: &who.account,
        key_prefix: who.key_prefix.as_deref(),
        action: &action,
        target: path,
        outcome: &outcome,
    };
    let result = match store.conn().await {
        Ok(mut conn) => operator_audit::record(&mut conn, &row).await,
        Err(e) => Err(e),
    };
    if let Err(err) = result {
        tracing::error!(%err, account = %who.account, action, "operator audit not written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_ip_literals_localhost_or_configured() {
        let allowed = vec!["otagw.example".to_string()];
        for ok in [
            "127.0.0.1:8080",
            "[::1]:80",
            "::1",
            "localhost:8080",
            "LOCALHOST",
            "otagw.example:443",
            "10.0.0.1",
        ] {
            assert!(host_allowed(ok, &allowed), "{ok}");
        }
        for bad in [
            "",
            "attacker.example",
            "attacker.example:8080",
            "127.0.0.1.nip.io",
        ] {
            assert!(!host_allowed(bad, &allowed), "{bad}");
        }
    }

    #[test]
    fn origins_must_be_this_host_or_configured() {
        let allowed = vec!["console.example".to_string()];
        assert!(origin_allowed(
            "http://127.0.0.1:8080",
            "127.0.0.1:8080",
            &allowed
        ));
        assert!(origin_allowed(
            "https://console.example",
            "10.0.0.1:8080",
            &allowed
        ));
        assert!(!origin_allowed(
            "http://evil.example",
            "127.0.0.1:8080",
            &allowed
        ));
        assert!(!origin_allowed("null", "127.0.0.1:8080", &allowed));
        assert!(!origin_allowed(
            "http://127.0.0.1:9999",
            "127.0.0.1:8080",
            &allowed
        ));
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}

//! RFC 9457 problem details: how the HTTP API says no.
//!
//! Every refusal is a [`Problem`]: an HTTP status from the error's [`RefusalKind`] and a JSON
//! body of content type `application/problem+json` with `type` (`urn:otagw:problem:<code>`),
//! `title`, `status`, `detail` and, as extension members, `error` (the short code, the same
//! one the OSPP handler reports) and, for a validation error, `field` (the request field at
//! fault). 401 (no valid credential, with a `WWW-Authenticate: Bearer` challenge) and 403 (a
//! valid credential whose roles do not allow it) are kept apart. A failure of the gateway's own is logged in full and
//! answered without its details.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::flows::ivr_star_code::IvrStarCodeError;
use crate::flows::prl_campaign::CampaignError;
use crate::flows::prl_push::PrlPushError;
use crate::flows::star_code::StarCodeError;
use crate::refusal::{Refusal, RefusalKind};
use crate::store::accounts::AccountError;

/// Content type of a problem.
pub(crate) const CONTENT_TYPE: &str = "application/problem+json";

/// A refusal, as the admin API answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// The short code (`unknown-device`).
    pub code: &'static str,
    /// What went wrong, for a person.
    pub detail: String,
    /// The request field at fault (`trn`), for a validation error: the extension member
    /// `field`.
    pub field: Option<String>,
}

impl Problem {
    /// A problem with this status, code and detail.
    pub(crate) fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            field: None,
        }
    }

    /// A validation error on one field of the request (400 `bad-request`, naming the field in
    /// the `field` member).
    pub(crate) fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::bad_request(detail)
        }
    }

    /// No credential, or one that is not valid (401 `unauthenticated`, with a
    /// `WWW-Authenticate: Bearer` challenge). The detail never says which part was wrong.
    pub(crate) fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "an API key is required: Authorization: Bearer <key> (a missing, unknown, revoked or expired key, or a disabled account)",
        )
    }

    /// A valid credential whose roles do not allow this (403 `forbidden`).
    pub(crate) fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// A malformed request (400 `bad-request`).
    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// The HTTP status of a kind of refusal.
    pub(crate) fn status_of(kind: RefusalKind) -> StatusCode {
        match kind {
            RefusalKind::BadRequest => StatusCode::BAD_REQUEST,
            RefusalKind::NotFound => StatusCode::NOT_FOUND,
            RefusalKind::Conflict => StatusCode::CONFLICT,
            RefusalKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            RefusalKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            RefusalKind::Upstream => StatusCode::BAD_GATEWAY,
            RefusalKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl<E: Refusal> From<E> for Problem {
    fn from(e: E) -> Self {
        let kind = e.kind();
        let detail = if kind == RefusalKind::Internal {
            tracing::error!(error = %e, code = e.code(), "admin request failed");
            "internal error; the gateway logged the details".to_string()
        } else {
            e.to_string()
        };
        Self::new(Self::status_of(kind), e.code(), detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let mut body = serde_json::json!({
            "type": format!("urn:otagw:problem:{}", self.code),
            "title": title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "error": self.code,
        });
        if let Some(field) = self.field {
            body["field"] = serde_json::Value::String(field);
        }
        let mut response = (
            self.status,
            [("content-type", CONTENT_TYPE)],
            body.to_string(),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"otagw\""),
            );
        }
        response
    }
}

/// The flows' errors answer as problems.
macro_rules! problem_responses {
    ($($error:ty),+ $(,)?) => {
        $(
            impl IntoResponse for $error {
                fn into_response(self) -> Response {
                    Problem::from(self).into_response()
                }
            }
        )+
    };
}

problem_responses!(
    StarCodeError,
    PrlPushError,
    IvrStarCodeError,
    CampaignError,
    AccountError
);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_error_becomes_a_problem_by_its_kind() {
        let p = Problem::from(PrlPushError::UnknownPrl(7));
        assert_eq!(p.status, StatusCode::NOT_FOUND);
        assert_eq!(p.code, "unknown-prl");
        assert_eq!(p.detail, "PRL 7 is not in the PRL library");
        let p = Problem::from(CampaignError::Empty);
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn an_internal_failure_keeps_its_details_to_the_log() {
        let e = PrlPushError::Push("secret detail".into());
        let p = Problem::from(e);
        assert_eq!(p.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(p.code, "internal-error");
        assert!(!p.detail.contains("secret"), "{}", p.detail);
    }

    #[tokio::test]
    async fn the_body_is_rfc_9457() {
        let response = Problem::bad_request("trn must be decimal digits").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["content-type"], CONTENT_TYPE);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["type"], "urn:otagw:problem:bad-request");
        assert_eq!(json["title"], "Bad Request");
        assert_eq!(json["status"], 400);
        assert_eq!(json["detail"], "trn must be decimal digits");
        assert_eq!(json["error"], "bad-request");
        assert!(json.get("field").is_none());
    }

    #[tokio::test]
    async fn a_validation_error_names_its_field_and_401_challenges() {
        let response = Problem::invalid_field("trn", "trn: too long").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["field"], "trn");
        assert_eq!(json["type"], "urn:otagw:problem:bad-request");
        let response = Problem::unauthenticated().into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        assert_eq!(
            Problem::forbidden("no").into_response().status(),
            StatusCode::FORBIDDEN
        );
    }
}

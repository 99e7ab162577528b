//! The REST API's endpoints and the permission each needs: the API refuses any request whose
//! route is not in [`ENDPOINTS`] (deny by default), and the permission matrix test walks this
//! same list against every role.

use super::Permission;

/// The API's base path.
pub const BASE: &str = "/api/v1";

/// One endpoint: its method, its route (axum syntax, `{id}` for a path parameter) and the
/// permission it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// The route, starting with [`BASE`].
    pub path: &'static str,
    /// What the caller's roles must permit.
    pub permission: Permission,
}

impl Endpoint {
    /// Whether this endpoint changes state (and so takes JSON only, checks Origin, is audited).
    pub fn changes_state(&self) -> bool {
        self.method != "GET"
    }
}

const fn ep(method: &'static str, path: &'static str, permission: Permission) -> Endpoint {
    Endpoint {
        method,
        path,
        permission,
    }
}

/// Every endpoint of `/api/v1` with the permission it needs.
pub const ENDPOINTS: &[Endpoint] = &[
    ep(
        "POST",
        "/api/v1/triggers/star-code",
        Permission::TriggerActivation,
    ),
    ep(
        "POST",
        "/api/v1/triggers/ivr-star-code",
        Permission::TriggerActivation,
    ),
    ep("POST", "/api/v1/triggers/prl-push", Permission::PushPrl),
    ep("POST", "/api/v1/campaigns", Permission::ManageCampaigns),
    ep("GET", "/api/v1/campaigns", Permission::ReadCampaigns),
    ep("GET", "/api/v1/campaigns/{id}", Permission::ReadCampaigns),
    ep(
        "POST",
        "/api/v1/campaigns/{id}/{action}",
        Permission::ManageCampaigns,
    ),
    ep("GET", "/api/v1/subscribers", Permission::ReadSubscribers),
    ep(
        "GET",
        "/api/v1/subscribers/{id}",
        Permission::ReadSubscribers,
    ),
    ep(
        "GET",
        "/api/v1/subscribers/{id}/sessions",
        Permission::ReadSubscribers,
    ),
    ep("GET", "/api/v1/accounts", Permission::ManageAccounts),
    ep("POST", "/api/v1/accounts", Permission::ManageAccounts),
    ep(
        "POST",
        "/api/v1/accounts/{name}/disable",
        Permission::ManageAccounts,
    ),
    ep("GET", "/api/v1/keys", Permission::ManageAccounts),
    ep("POST", "/api/v1/keys", Permission::ManageAccounts),
    ep(
        "DELETE",
        "/api/v1/keys/{prefix}",
        Permission::ManageAccounts,
    ),
    ep("GET", "/api/v1/audit", Permission::ReadAudit),
];

/// The endpoint of a method and a matched route.
pub fn find(method: &str, path: &str) -> Option<&'static Endpoint> {
    ENDPOINTS
        .iter()
        .find(|e| e.method == method && e.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_unique_and_under_the_base() {
        for (i, a) in ENDPOINTS.iter().enumerate() {
            assert!(a.path.starts_with(BASE), "{}", a.path);
            for b in &ENDPOINTS[i + 1..] {
                assert!(a.method != b.method || a.path != b.path, "{a:?} twice");
            }
        }
        assert!(find("GET", "/api/v1/campaigns").is_some());
        assert!(find("PUT", "/api/v1/campaigns").is_none());
    }
}

//! Who may do what: the roles, the permissions, and the one table between them.
//!
//! Every door checks here: the REST API ([`endpoints::ENDPOINTS`] names the permission each
//! endpoint needs), the OSPP handler (the permission each protocol ID needs), the CLI. The same
//! table is written out in `docs/security.md`; a unit test keeps the two in step.
//!
//! The credentials themselves are in [`password`] (argon2id hashes of operators' and tools'
//! passwords) and [`apikey`] (random API keys, shown once, stored as a SHA-256 digest under a
//! short public prefix). Both are pure: the store keeps what they produce.

pub mod apikey;
pub mod endpoints;
pub mod password;

use std::fmt;
use std::str::FromStr;

/// A role an account carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Accounts, API keys, settings, the operator audit.
    Admin,
    /// PRL library, pushes, campaigns, triggers.
    OtapAdmin,
    /// Finds a subscriber, reads profile (without SPC/SPASM) and sessions; resends a PRL push
    /// to that one subscriber.
    CustomerCare,
    /// Read-only status: campaigns and their progress.
    Noc,
    /// A device vendor or partner (seed 000): only its own device models and configuration
    /// objects. No endpoint serves those yet, so it can do nothing today.
    Partner,
    /// A corporate customer (seed 001): only the subscribers of its own organisation. Profiles
    /// carry no organisation yet, so it can do nothing today.
    Corporate,
    /// An IVR binding to the OSPP handler over SMPP.
    Ivr,
    /// An OTAP tool binding to the OSPP handler over SMPP.
    OtapTool,
}

impl Role {
    /// Every role, in the order of the table.
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::OtapAdmin,
        Role::CustomerCare,
        Role::Noc,
        Role::Partner,
        Role::Corporate,
        Role::Ivr,
        Role::OtapTool,
    ];

    /// Its name as stored and typed (`otap-admin`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::OtapAdmin => "otap-admin",
            Role::CustomerCare => "customer-care",
            Role::Noc => "noc",
            Role::Partner => "partner",
            Role::Corporate => "corporate",
            Role::Ivr => "ivr",
            Role::OtapTool => "otap-tool",
        }
    }

    /// What this role may do (its row of [`TABLE`]).
    pub fn permissions(self) -> &'static [Permission] {
        TABLE
            .iter()
            .find(|(role, _)| *role == self)
            .map(|(_, p)| *p)
            .unwrap_or(&[])
    }

    /// Whether this role may do `permission`.
    pub fn permits(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    /// Whether this role binds to the OSPP handler (an SMPP account) rather than using the API.
    pub const fn is_smpp(self) -> bool {
        matches!(self, Role::Ivr | Role::OtapTool)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a role (admin, otap-admin, customer-care, noc, partner, corporate, ivr, otap-tool)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// Something a request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Create, list and disable accounts; create, list and revoke API keys.
    ManageAccounts,
    /// Read the operator audit (who did what through the API).
    ReadAudit,
    /// Find a subscriber and read its profile (never the SPC or SPASM key) and sessions.
    ReadSubscribers,
    /// Queue a PRL push to one subscriber.
    PushPrl,
    /// Trigger a star-code activation over SS7 or an IVR-assisted IOTA activation.
    TriggerActivation,
    /// Create, pause, resume and cancel PRL campaigns.
    ManageCampaigns,
    /// Read PRL campaigns and their progress.
    ReadCampaigns,
    /// OSPP 0x7A: star-code activation over SS7.
    OsppStarCode,
    /// OSPP 0x7B: IVR-assisted IOTA activation.
    OsppIvrActivation,
    /// OSPP 0x7C: PRL download.
    OsppPrlDownload,
    /// OSPP 0x7D: the status of a session.
    OsppStatus,
    /// Partners: their own device models and configuration objects (no endpoint yet).
    OwnDeviceModels,
    /// Corporate users: the subscribers of their own organisation (no endpoint yet).
    OwnOrganisationSubscribers,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 13] = [
        Permission::ManageAccounts,
        Permission::ReadAudit,
        Permission::ReadSubscribers,
        Permission::PushPrl,
        Permission::TriggerActivation,
        Permission::ManageCampaigns,
        Permission::ReadCampaigns,
        Permission::OsppStarCode,
        Permission::OsppIvrActivation,
        Permission::OsppPrlDownload,
        Permission::OsppStatus,
        Permission::OwnDeviceModels,
        Permission::OwnOrganisationSubscribers,
    ];

    /// Its name (`read-subscribers`), as the docs and problem details spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::ManageAccounts => "manage-accounts",
            Permission::ReadAudit => "read-audit",
            Permission::ReadSubscribers => "read-subscribers",
            Permission::PushPrl => "push-prl",
            Permission::TriggerActivation => "trigger-activation",
            Permission::ManageCampaigns => "manage-campaigns",
            Permission::ReadCampaigns => "read-campaigns",
            Permission::OsppStarCode => "ospp-star-code",
            Permission::OsppIvrActivation => "ospp-ivr-activation",
            Permission::OsppPrlDownload => "ospp-prl-download",
            Permission::OsppStatus => "ospp-status",
            Permission::OwnDeviceModels => "own-device-models",
            Permission::OwnOrganisationSubscribers => "own-organisation-subscribers",
        }
    }

    /// The permission an OSPP request with this protocol ID needs (`None`: no OSPP message).
    pub const fn for_ospp_protocol_id(pid: u8) -> Option<Permission> {
        match pid {
            0x7A => Some(Permission::OsppStarCode),
            0x7B => Some(Permission::OsppIvrActivation),
            0x7C => Some(Permission::OsppPrlDownload),
            0x7D => Some(Permission::OsppStatus),
            _ => None,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

use Permission as P;

/// THE table: what each role may do. Nothing else grants a permission.
pub const TABLE: &[(Role, &[Permission])] = &[
    (
        Role::Admin,
        &[P::ManageAccounts, P::ReadAudit, P::ReadCampaigns],
    ),
    (
        Role::OtapAdmin,
        &[
            P::ReadSubscribers,
            P::PushPrl,
            P::TriggerActivation,
            P::ManageCampaigns,
            P::ReadCampaigns,
        ],
    ),
    (
        Role::CustomerCare,
        &[P::ReadSubscribers, P::PushPrl, P::ReadAudit],
    ),
    (Role::Noc, &[P::ReadCampaigns]),
    (Role::Partner, &[P::OwnDeviceModels]),
    (Role::Corporate, &[P::OwnOrganisationSubscribers]),
    (
        Role::Ivr,
        &[P::OsppStarCode, P::OsppIvrActivation, P::OsppStatus],
    ),
    (Role::OtapTool, &[P::OsppPrlDownload, P::OsppStatus]),
];

/// Whether any of `roles` permits `permission`.
pub fn any_permits(roles: &[Role], permission: Permission) -> bool {
    roles.iter().any(|r| r.permits(permission))
}

/// The table as the Markdown table in `docs/security.md` (roles as columns, permissions as
/// rows).
pub fn markdown_table() -> String {
    let mut out = String::from("| permission |");
    for role in Role::ALL {
        out.push_str(&format!(" {role} |"));
    }
    out.push_str("\n|---|");
    for _ in Role::ALL {
        out.push_str("---|");
    }
    out.push('\n');
    for p in Permission::ALL {
        out.push_str(&format!("| `{p}` |"));
        for role in Role::ALL {
            out.push_str(if role.permits(p) { " yes |" } else { " |" });
        }
        out.push('\n');
    }
    out
}

/// Who is asking: an authenticated account, with the roles its credential carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account's row id.
    pub account_id: i64,
    /// The account's name.
    pub account: String,
    /// The API key's public prefix, when it came with a key.
    pub key_prefix: Option<String>,
    /// The roles in force (a key's roles that its account still has).
    pub roles: Vec<Role>,
}

impl Principal {
    /// Whether this principal may do `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        any_permits(&self.roles, permission)
    }
}

/// Constant-time equality of two byte strings of the same length (different lengths are
/// unequal at once: lengths are not secret here).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_one_row_and_reads_back_by_name() {
        for role in Role::ALL {
            assert_eq!(
                TABLE.iter().filter(|(r, _)| *r == role).count(),
                1,
                "{role}"
            );
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn every_permission_is_granted_to_some_role() {
        for p in Permission::ALL {
            assert!(
                Role::ALL.iter().any(|r| r.permits(p)),
                "{p} is granted to nobody"
            );
        }
    }

    #[test]
    fn smpp_roles_do_nothing_on_the_api_and_api_roles_nothing_over_ospp() {
        for role in Role::ALL {
            for p in role.permissions() {
                let ospp = p.as_str().starts_with("ospp-");
                assert_eq!(ospp, role.is_smpp(), "{role} {p}");
            }
        }
    }

    #[test]
    fn docs_security_md_has_the_table() {
        let docs = include_str!("../../docs/security.md");
        assert!(
            docs.contains(&markdown_table()),
            "docs/security.md must contain this table:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}

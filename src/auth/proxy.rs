//! Trusted-proxy sign-in: behind oauth2-proxy (or any proxy that signs people in), the proxy
//! names the agent in a header (`--agent-header X-Auth-Request-User`), and its groups or role in
//! others. Anyone can send such a header, so it is believed only from the proxy's own addresses
//! (`--trusted-proxy`, addresses or CIDRs); from anywhere else it is ignored and logged.
//! [`RoleMap`] turns groups into a role, here and for OpenID Connect.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;

use super::agent::{Agent, ProjectScope, SignedInVia};
use crate::protocol::Role;

/// Which groups make which role: `admin=cobrowse-admins`, `helper=support` (a role may be given
/// several groups). The highest role any of an agent's groups maps to wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap {
    entries: Vec<(Role, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role mapping '{0}' must look like ROLE=GROUP, ROLE one of viewer, helper, admin")]
pub struct BadRoleMap(String);

impl RoleMap {
    /// Parses `ROLE=GROUP` entries.
    pub fn parse(entries: &[String]) -> Result<Self, BadRoleMap> {
        let entries = entries
            .iter()
            .filter(|e| !e.trim().is_empty())
            .map(|entry| {
                let (role, group) = entry
                    .split_once('=')
                    .ok_or_else(|| BadRoleMap(entry.clone()))?;
                let role = role.trim().parse().map_err(|_| BadRoleMap(entry.clone()))?;
                let group = group.trim();
                if group.is_empty() {
                    return Err(BadRoleMap(entry.clone()));
                }
                Ok((role, group.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The highest role `groups` map to, if any does.
    pub fn role_of<'a>(&self, groups: impl IntoIterator<Item = &'a str>) -> Option<Role> {
        let groups: Vec<&str> = groups.into_iter().collect();
        self.entries
            .iter()
            .filter(|(_, group)| groups.contains(&group.as_str()))
            .map(|(role, _)| *role)
            .max()
    }
}

/// How a trusted proxy names agents.
#[derive(Debug, Clone)]
pub struct ProxyAuth {
    /// The agent's name (`X-Auth-Request-User`).
    pub user_header: HeaderName,
    /// A header carrying the role itself (`viewer`, `helper`, `admin`).
    pub role_header: Option<HeaderName>,
    /// A header carrying the agent's groups, comma-separated (`X-Auth-Request-Groups`), mapped
    /// by `role_map`.
    pub groups_header: Option<HeaderName>,
    pub role_map: RoleMap,
    /// A header carrying the project keys the agent sees, comma-separated; absent: every project.
    pub projects_header: Option<HeaderName>,
    /// The role of an agent no header gives one; `None` refuses such an agent.
    pub default_role: Option<Role>,
    /// The proxy's addresses: only their requests' headers are believed.
    pub trusted: Vec<IpNet>,
}

/// What a request's proxy headers came to.
#[derive(Debug, PartialEq, Eq)]
pub enum ProxyIdentity {
    /// No user header.
    Absent,
    /// A user header from an address that is not a trusted proxy: ignored.
    Untrusted,
    /// Named by the proxy, but no role could be given.
    NoRole(String),
    Agent(Agent),
}

impl ProxyAuth {
    pub fn identify(&self, client: IpAddr, headers: &HeaderMap) -> ProxyIdentity {
        let text = |name: &HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let Some(user) = text(&self.user_header) else {
            return ProxyIdentity::Absent;
        };
        if !self.trusted.iter().any(|net| net.contains(&client)) {
            return ProxyIdentity::Untrusted;
        }
        let user: String = user.chars().take(128).collect();
        let from_header = self
            .role_header
            .as_ref()
            .and_then(text)
            .and_then(|r| r.parse::<Role>().ok());
        let from_groups = self
            .groups_header
            .as_ref()
            .and_then(text)
            .and_then(|groups| self.role_map.role_of(groups.split(',').map(str::trim)));
        let Some(role) = from_header.or(from_groups).or(self.default_role) else {
            return ProxyIdentity::NoRole(user);
        };
        let projects = match self.projects_header.as_ref().and_then(text) {
            Some(list) => ProjectScope::Only(
                list.split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(String::from)
                    .collect(),
            ),
            None => ProjectScope::All,
        };
        ProxyIdentity::Agent(Agent::new(&user, role, projects, SignedInVia::Proxy))
    }
}

/// Parses `--trusted-proxy` values: an address (`10.0.0.7`) or a network (`10.0.0.0/8`).
pub fn parse_trusted(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("--trusted-proxy '{text}' is not an address or a CIDR network"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy() -> ProxyAuth {
        ProxyAuth {
            user_header: HeaderName::from_static("x-auth-request-user"),
            role_header: None,
            groups_header: Some(HeaderName::from_static("x-auth-request-groups")),
            role_map: RoleMap::parse(&["admin=ops".into(), "helper=support".into()]).unwrap(),
            projects_header: None,
            default_role: None,
            trusted: vec![
                parse_trusted("10.0.0.0/8").unwrap(),
                parse_trusted("::1").unwrap(),
            ],
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(HeaderName::from_static(k), v.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_user_header_is_believed_from_a_trusted_proxy_only() {
        let named = headers(&[
            ("x-auth-request-user", "alice"),
            ("x-auth-request-groups", "staff, support"),
        ]);
        match proxy().identify("10.1.2.3".parse().unwrap(), &named) {
            ProxyIdentity::Agent(agent) => {
                assert_eq!((agent.name.as_str(), agent.role), ("alice", Role::Helper));
                assert_eq!(agent.via, SignedInVia::Proxy);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            proxy().identify("192.168.1.1".parse().unwrap(), &named),
            ProxyIdentity::Untrusted
        );
        assert_eq!(
            proxy().identify("10.1.2.3".parse().unwrap(), &HeaderMap::new()),
            ProxyIdentity::Absent
        );
    }

    #[test]
    fn groups_map_to_the_highest_role_and_none_is_refused() {
        let map = RoleMap::parse(&["helper=support".into(), "admin=ops".into()]).unwrap();
        assert_eq!(map.role_of(["support", "ops"]), Some(Role::Admin));
        assert_eq!(map.role_of(["staff"]), None);
        let nobody = headers(&[
            ("x-auth-request-user", "eve"),
            ("x-auth-request-groups", "staff"),
        ]);
        assert_eq!(
            proxy().identify("::1".parse().unwrap(), &nobody),
            ProxyIdentity::NoRole("eve".into())
        );
        assert!(RoleMap::parse(&["boss=ops".into()]).is_err());
        assert!(RoleMap::parse(&["admin".into()]).is_err());
    }
}

//! Where calls' media flows: the ICE servers browsers and the server use, the UDP ports the server
//! binds, and the address it announces (behind NAT or in a container the bound address is not
//! the one browsers can reach).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::ops::RangeInclusive;
use std::sync::Mutex;

use crate::protocol::IceServer;

#[derive(Debug, Clone)]
pub struct CallConfig {
    /// STUN and TURN servers, given to browsers with every offer and used by the server too.
    pub ice_servers: Vec<IceServer>,
    /// The address the server binds its media sockets on. `0.0.0.0` gathers every interface's
    /// address except loopback; tests bind `127.0.0.1`.
    pub bind_ip: IpAddr,
    /// UDP ports for media: one per peer connection (a call of one user and three agents takes
    /// four).
    pub ports: RangeInclusive<u16>,
    /// Addresses to announce instead of the bound ones (1:1 NAT, a container's host address).
    pub announce_ips: Vec<String>,
}

impl Default for CallConfig {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            ports: 50000..=50199,
            announce_ips: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CallConfigError {
    #[error("--rtc-ports {0}: expected FIRST-LAST (e.g. 50000-50199) or one port")]
    Ports(String),
    #[error(
        "--ice-server {0}: expected a stun:, turn: or turns: URL, with `|username|credential` for TURN"
    )]
    IceServer(String),
}

/// `50000-50199`, or one port.
pub fn parse_ports(text: &str) -> Result<RangeInclusive<u16>, CallConfigError> {
    let error = || CallConfigError::Ports(text.to_string());
    let (first, last) = text.split_once('-').unwrap_or((text, text));
    let first: u16 = first.trim().parse().map_err(|_| error())?;
    let last: u16 = last.trim().parse().map_err(|_| error())?;
    if first == 0 || first > last {
        return Err(error());
    }
    Ok(first..=last)
}

/// `stun:host:3478`, or `turn:host:3478?transport=udp|user|secret`.
pub fn parse_ice_server(text: &str) -> Result<IceServer, CallConfigError> {
    let mut parts = text.split('|');
    let url = parts.next().unwrap_or_default().trim();
    let username = parts.next().map(str::to_string);
    let credential = parts.next().map(str::to_string);
    let scheme_ok = ["stun:", "turn:", "turns:"]
        .iter()
        .any(|scheme| url.starts_with(scheme));
    let turn = url.starts_with("turn");
    if !scheme_ok || parts.next().is_some() || turn != username.is_some() {
        return Err(CallConfigError::IceServer(text.to_string()));
    }
    Ok(IceServer {
        urls: vec![url.to_string()],
        username,
        credential: credential.or(turn.then(String::new)),
    })
}

/// Hands out media ports from the configured range, round robin, skipping ports in use.
#[derive(Debug)]
pub struct PortPool {
    ip: IpAddr,
    ports: RangeInclusive<u16>,
    next: Mutex<u16>,
}

impl PortPool {
    pub fn new(config: &CallConfig) -> Self {
        Self {
            ip: config.bind_ip,
            ports: config.ports.clone(),
            next: Mutex::new(*config.ports.start()),
        }
    }

    /// A free address to bind a peer connection on, or `None` when the whole range is taken.
    /// Checked by binding it for a moment: webrtc binds it again right after, and a race with
    /// another process only fails that one connection.
    pub fn take(&self) -> Option<SocketAddr> {
        let mut next = self.next.lock().expect("lock");
        let span = usize::from(self.ports.end() - self.ports.start()) + 1;
        for _ in 0..span {
            let port = *next;
            *next = if port >= *self.ports.end() {
                *self.ports.start()
            } else {
                port + 1
            };
            let addr = SocketAddr::new(self.ip, port);
            if UdpSocket::bind(addr).is_ok() {
                return Some(addr);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_and_ice_servers_parse_or_say_what_is_expected() {
        assert_eq!(parse_ports("50000-50010").unwrap(), 50000..=50010);
        assert_eq!(parse_ports("3478").unwrap(), 3478..=3478);
        assert!(parse_ports("9-1").is_err());
        assert!(parse_ports("a-b").is_err());
        let turn = parse_ice_server("turn:turn.example.com:3478|alice|s3cret").unwrap();
        assert_eq!(turn.username.as_deref(), Some("alice"));
        assert_eq!(turn.credential.as_deref(), Some("s3cret"));
        assert!(parse_ice_server("stun:stun.example.com:3478").is_ok());
        assert!(parse_ice_server("turn:turn.example.com").is_err());
        assert!(parse_ice_server("http://example.com").is_err());
    }

    #[test]
    fn ports_are_handed_out_in_turn_within_the_range() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let base = socket.local_addr().unwrap().port();
        drop(socket);
        let pool = PortPool::new(&CallConfig {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ports: base..=base,
            ..CallConfig::default()
        });
        assert_eq!(pool.take().map(|a| a.port()), Some(base));
        let _held = UdpSocket::bind(("127.0.0.1", base)).unwrap();
        assert_eq!(
            pool.take(),
            None,
            "a range whose every port is in use has none to give"
        );
    }
}

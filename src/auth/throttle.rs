//! Failed agent authentications, counted per client address: after [`MAX_FAILURES`] within
//! [`WINDOW_MS`], that address is refused (HTTP 429) until the window ends, whatever it presents.
//!
//! Agent tokens are the secret worth guessing (project keys are public, session tokens and
//! tickets are HMACs), so this guards the agent routes. Addresses are IPv4 addresses or IPv6 /64
//! prefixes (one host usually holds a whole /64). Behind a reverse proxy every client has the
//! proxy's address, so there a throttled guesser locks out every agent for the window: the cost
//! of not trusting a forwarded-for header anyone can set. Pure code: time comes in as arguments.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failed authentications an address may make in one window.
pub const MAX_FAILURES: u32 = 10;
/// The window, from an address's first failure in it.
pub const WINDOW_MS: u64 = 60_000;
/// Addresses followed at once. When full (after forgetting finished windows), failures from new
/// addresses are not followed: memory stays bounded, and with 128-bit tokens a guesser with that
/// many addresses still gets nowhere.
const MAX_ADDRESSES: usize = 65_536;

/// An address that failed too often; it may try again in `retry_after_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    window_start_ms: u64,
}

/// What [`AuthThrottle::failed`] did with a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// One more within the window; the address may still try.
    Below,
    /// This failure used the address's last try: it is throttled from now on (log this once).
    NowThrottled,
}

#[derive(Default)]
pub struct AuthThrottle {
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

/// The key an address is counted under.
fn key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

impl AuthThrottle {
    /// Whether `addr` may try to authenticate now.
    pub fn check(&self, addr: IpAddr, now_ms: u64) -> Result<(), Throttled> {
        let failures = self.failures.lock().expect("lock");
        match failures.get(&key(addr)) {
            Some(f) if f.count >= MAX_FAILURES && now_ms < f.window_start_ms + WINDOW_MS => {
                Err(Throttled {
                    retry_after_ms: f.window_start_ms + WINDOW_MS - now_ms,
                })
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed authentication from `addr`.
    pub fn failed(&self, addr: IpAddr, now_ms: u64) -> Counted {
        let mut failures = self.failures.lock().expect("lock");
        let key = key(addr);
        if !failures.contains_key(&key) && failures.len() >= MAX_ADDRESSES {
            failures.retain(|_, f| now_ms < f.window_start_ms + WINDOW_MS);
            if failures.len() >= MAX_ADDRESSES {
                return Counted::Below;
            }
        }
        let f = failures.entry(key).or_insert(Failures {
            count: 0,
            window_start_ms: now_ms,
        });
        if now_ms >= f.window_start_ms + WINDOW_MS {
            *f = Failures {
                count: 0,
                window_start_ms: now_ms,
            };
        }
        f.count += 1;
        if f.count == MAX_FAILURES {
            Counted::NowThrottled
        } else {
            Counted::Below
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUESSER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 9));
    const AGENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));

    #[test]
    fn an_address_that_fails_too_often_waits_out_the_window_alone() {
        let t = AuthThrottle::default();
        for i in 1..MAX_FAILURES {
            assert_eq!(t.failed(GUESSER, 1_000), Counted::Below);
            assert!(t.check(GUESSER, 1_000).is_ok(), "try {i}");
        }
        assert_eq!(t.failed(GUESSER, 2_000), Counted::NowThrottled);
        assert_eq!(
            t.check(GUESSER, 2_000),
            Err(Throttled {
                retry_after_ms: 1_000 + WINDOW_MS - 2_000
            })
        );
        assert!(t.check(AGENT, 2_000).is_ok(), "other addresses go on");
        assert!(t.check(GUESSER, 1_000 + WINDOW_MS).is_ok());
        assert_eq!(t.failed(GUESSER, 1_000 + WINDOW_MS), Counted::Below);
    }

    #[test]
    fn an_ipv6_host_is_counted_by_its_64_prefix() {
        let t = AuthThrottle::default();
        for i in 0..MAX_FAILURES {
            let addr: IpAddr = format!("2001:db8:1:2::{:x}", i + 1).parse().unwrap();
            t.failed(addr, 0);
        }
        assert!(t.check("2001:db8:1:2:ffff::1".parse().unwrap(), 1).is_err());
        assert!(t.check("2001:db8:1:3::1".parse().unwrap(), 1).is_ok());
    }
}

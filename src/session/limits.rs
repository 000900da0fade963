//! What a tracker may cost the server before it pushes back: token buckets for events and bytes
//! per session, for control messages per connection, and for new sessions per client address,
//! per project key and in all. Tracker sockets are open to the whole internet, so every one of
//! these is a decision made here, from the input and the time given, and carried out (a close
//! code) by the socket's owner.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The limits on what trackers may cost; `cobrowse serve` sets each from a flag.
#[derive(Debug, Clone, PartialEq)]
pub struct IngressLimits {
    /// Events one `events` message may hold.
    pub max_batch_events: usize,
    /// Bytes of event data per second a session may write on average, in bursts of up to
    /// four seconds' worth (and never less than one largest frame).
    pub bytes_per_sec: u64,
    /// New sessions a client address may start per minute.
    pub sessions_per_minute_per_address: u32,
    /// New sessions one project key may start per minute.
    pub sessions_per_minute_per_project: u32,
    /// New sessions this node starts per minute, in all.
    pub sessions_per_minute: u32,
    /// Tracker connections (tabs) one session may have on this node.
    pub max_tabs_per_session: usize,
    /// TCP connections one client address may hold open.
    pub max_connections_per_address: usize,
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
    /// A tracker that sends nothing (not even a pong to the server's pings) for this long is
    /// closed.
    pub tracker_idle_timeout: Duration,
    /// A tracker whose socket takes no message for this long is dropped.
    pub tracker_send_timeout: Duration,
    /// Any connection whose socket takes no bytes for this long is dropped (responses, SSE
    /// streams, WebSockets).
    pub send_timeout: Duration,
    /// Bytes of batches one tracker socket may have waiting for their acks before the server
    /// stops reading it.
    pub max_in_flight_bytes: usize,
    /// Messages other than `events` (consent answers, revokes, refusals, call negotiation) one
    /// connection may send per second, in bursts of ten times that.
    pub control_messages_per_sec: u32,
}

impl Default for IngressLimits {
    fn default() -> Self {
        Self {
            max_batch_events: 1000,
            bytes_per_sec: 4 * 1024 * 1024,
            sessions_per_minute_per_address: 60,
            sessions_per_minute_per_project: 3000,
            sessions_per_minute: 6000,
            max_tabs_per_session: 32,
            max_connections_per_address: 256,
            header_read_timeout: Duration::from_secs(10),
            tracker_idle_timeout: Duration::from_secs(60),
            tracker_send_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
            max_in_flight_bytes: 32 * 1024 * 1024,
            control_messages_per_sec: 20,
        }
    }
}

/// A token bucket: `rate` tokens a second, at most `burst` held, full at the start. A request
/// for more than the bucket holds is refused, however long it waits: nothing passes on credit.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        let burst = burst.max(rate);
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Whether `n` tokens are there now; takes nothing.
    pub fn has(&mut self, n: f64, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= n
    }

    /// Takes `n` tokens if the bucket holds them; false (and nothing taken) otherwise.
    pub fn try_take(&mut self, n: f64, now: Instant) -> bool {
        if self.has(n, now) {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    fn is_full(&mut self, now: Instant) -> bool {
        self.has(self.burst, now)
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
    }
}

/// Which budget a batch ran over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Excess {
    Events,
    Bytes,
}

/// Events and bytes a session may write: both must fit, or neither is charged.
pub struct IngestLimiter {
    events: TokenBucket,
    bytes: TokenBucket,
}

impl IngestLimiter {
    /// `events_burst` must be at least the largest batch and `bytes_burst` the largest frame,
    /// or some legal batch could never pass.
    pub fn new(
        events_per_sec: u32,
        events_burst: u32,
        bytes_per_sec: u64,
        bytes_burst: u64,
        now: Instant,
    ) -> Self {
        Self {
            events: TokenBucket::new(f64::from(events_per_sec), f64::from(events_burst), now),
            bytes: TokenBucket::new(bytes_per_sec as f64, bytes_burst as f64, now),
        }
    }

    pub fn admit(&mut self, events: usize, bytes: usize, now: Instant) -> Result<(), Excess> {
        if !self.events.has(events as f64, now) {
            return Err(Excess::Events);
        }
        if !self.bytes.try_take(bytes as f64, now) {
            return Err(Excess::Bytes);
        }
        self.events.try_take(events as f64, now);
        Ok(())
    }
}

/// One token bucket per key, for keys anyone can make up (addresses, project keys). Buckets that
/// refilled completely are forgotten when the map grows, and at [`KeyedLimiter::MAX_KEYS`]
/// busy keys a new key is refused: the memory stays bounded even when the keys are spoofed.
pub struct KeyedLimiter<K> {
    per_minute: u32,
    buckets: HashMap<K, TokenBucket>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    pub const MAX_KEYS: usize = 100_000;

    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: HashMap::new(),
        }
    }

    fn bucket(&mut self, key: &K, now: Instant) -> Option<&mut TokenBucket> {
        if !self.buckets.contains_key(key) {
            if self.buckets.len() >= Self::MAX_KEYS {
                self.buckets.retain(|_, b| !b.is_full(now));
                if self.buckets.len() >= Self::MAX_KEYS {
                    return None;
                }
            }
            let per_minute = f64::from(self.per_minute);
            self.buckets.insert(
                key.clone(),
                TokenBucket::new(per_minute / 60.0, per_minute, now),
            );
        }
        self.buckets.get_mut(key)
    }

    fn has(&mut self, key: &K, now: Instant) -> bool {
        self.bucket(key, now).is_some_and(|b| b.has(1.0, now))
    }

    fn take(&mut self, key: &K, now: Instant) {
        if let Some(bucket) = self.bucket(key, now) {
            bucket.try_take(1.0, now);
        }
    }
}

/// Which limit refused a new session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionRefusal {
    #[error("too many new sessions from this address; at most {0} a minute")]
    Address(u32),
    #[error("too many new sessions for this project key; at most {0} a minute")]
    Project(u32),
    #[error("this server starts at most {0} sessions a minute; try again shortly")]
    Global(u32),
}

/// Whether a `hello` without a session token may start a session: the address, the project key
/// and the node all have budget left. A refused attempt charges none of them.
pub struct SessionAdmission {
    limits: (u32, u32, u32),
    per_address: KeyedLimiter<IpAddr>,
    per_project: KeyedLimiter<String>,
    global: TokenBucket,
}

impl SessionAdmission {
    pub fn new(limits: &IngressLimits, now: Instant) -> Self {
        let global = f64::from(limits.sessions_per_minute);
        Self {
            limits: (
                limits.sessions_per_minute_per_address,
                limits.sessions_per_minute_per_project,
                limits.sessions_per_minute,
            ),
            per_address: KeyedLimiter::new(limits.sessions_per_minute_per_address),
            per_project: KeyedLimiter::new(limits.sessions_per_minute_per_project),
            global: TokenBucket::new(global / 60.0, global, now),
        }
    }

    pub fn admit(
        &mut self,
        address: IpAddr,
        project: &str,
        now: Instant,
    ) -> Result<(), SessionRefusal> {
        let project = project.to_string();
        if !self.per_address.has(&address, now) {
            return Err(SessionRefusal::Address(self.limits.0));
        }
        if !self.per_project.has(&project, now) {
            return Err(SessionRefusal::Project(self.limits.1));
        }
        if !self.global.try_take(1.0, now) {
            return Err(SessionRefusal::Global(self.limits.2));
        }
        self.per_address.take(&address, now);
        self.per_project.take(&project, now);
        Ok(())
    }
}

/// Open connections per client address, shared by the accept loop and the slots it hands out.
#[derive(Default)]
pub struct AddressCounts(Mutex<HashMap<IpAddr, usize>>);

/// One connection's place in its address's count; the count drops when the last clone does.
#[derive(Clone)]
pub struct ConnectionSlot {
    _guard: Arc<SlotGuard>,
}

struct SlotGuard {
    counts: Arc<AddressCounts>,
    address: IpAddr,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut counts = self.counts.lock();
        if let Some(n) = counts.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

impl AddressCounts {
    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for `address`, unless it already holds `max`.
    pub fn take(self: &Arc<Self>, address: IpAddr, max: usize) -> Option<ConnectionSlot> {
        let mut counts = self.lock();
        let n = counts.entry(address).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ConnectionSlot {
            _guard: Arc::new(SlotGuard {
                counts: self.clone(),
                address,
            }),
        })
    }
}

/// Whether the `seq`s of a batch strictly increase, as the protocol requires; a batch that does
/// not is refused whole, so no event of it disappears without an answer.
pub fn seqs_increase(seqs: impl IntoIterator<Item = u64>) -> bool {
    let mut last = None;
    seqs.into_iter().all(|seq| {
        let ok = last.is_none_or(|l| seq > l);
        last = Some(seq);
        ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_bucket_allows_the_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(100.0, 200.0, start);
        assert!(bucket.try_take(200.0, start));
        assert!(!bucket.try_take(1.0, start));
        assert!(bucket.try_take(50.0, start + SECOND / 2));
        assert!(!bucket.try_take(10.0, start + SECOND / 2));
    }

    #[test]
    fn a_request_over_the_burst_never_passes_even_on_a_full_bucket() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(100.0, 400.0, start);
        // Before: a full bucket let 800 000 events through at once.
        assert!(!bucket.try_take(800_000.0, start + 3600 * SECOND));
        assert!(bucket.try_take(400.0, start + 3600 * SECOND));
    }

    #[test]
    fn a_batch_must_fit_both_events_and_bytes_and_a_refusal_charges_neither() {
        let start = Instant::now();
        let mut limiter = IngestLimiter::new(10, 40, 1000, 4000, start);
        assert_eq!(limiter.admit(41, 1, start), Err(Excess::Events));
        assert_eq!(limiter.admit(1, 4001, start), Err(Excess::Bytes));
        assert_eq!(limiter.admit(40, 4000, start), Ok(()));
        assert_eq!(limiter.admit(1, 0, start), Err(Excess::Events));
        assert_eq!(limiter.admit(10, 1000, start + SECOND), Ok(()));
    }

    #[test]
    fn new_sessions_are_limited_per_address_per_project_and_in_all() {
        let start = Instant::now();
        let limits = IngressLimits {
            sessions_per_minute_per_address: 2,
            sessions_per_minute_per_project: 3,
            sessions_per_minute: 4,
            ..IngressLimits::default()
        };
        let mut admission = SessionAdmission::new(&limits, start);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let c: IpAddr = [10, 0, 0, 3].into();
        assert_eq!(admission.admit(a, "p", start), Ok(()));
        assert_eq!(admission.admit(a, "p", start), Ok(()));
        assert_eq!(
            admission.admit(a, "p", start),
            Err(SessionRefusal::Address(2))
        );
        assert_eq!(admission.admit(b, "p", start), Ok(()));
        assert_eq!(
            admission.admit(b, "p", start),
            Err(SessionRefusal::Project(3))
        );
        assert_eq!(admission.admit(b, "q", start), Ok(()));
        assert_eq!(
            admission.admit(c, "r", start),
            Err(SessionRefusal::Global(4))
        );
        // A minute later every budget has refilled.
        assert_eq!(admission.admit(a, "p", start + 60 * SECOND), Ok(()));
    }

    #[test]
    fn refused_attempts_do_not_use_up_the_other_budgets() {
        let start = Instant::now();
        let limits = IngressLimits {
            sessions_per_minute_per_address: 1,
            sessions_per_minute_per_project: 100,
            sessions_per_minute: 2,
            ..IngressLimits::default()
        };
        let mut admission = SessionAdmission::new(&limits, start);
        let a: IpAddr = [10, 0, 0, 1].into();
        assert!(admission.admit(a, "p", start).is_ok());
        for _ in 0..100 {
            assert!(admission.admit(a, "p", start).is_err());
        }
        assert!(admission.admit([10, 0, 0, 2].into(), "p", start).is_ok());
    }

    #[test]
    fn keyed_buckets_stay_bounded_and_forget_idle_keys() {
        let start = Instant::now();
        let mut limiter = KeyedLimiter::<u32>::new(1);
        for key in 0..KeyedLimiter::<u32>::MAX_KEYS as u32 {
            assert!(limiter.has(&key, start));
            limiter.take(&key, start);
        }
        assert!(!limiter.has(&u32::MAX, start), "full of busy keys");
        assert!(
            limiter.has(&u32::MAX, start + 60 * SECOND),
            "idle keys forgotten"
        );
        assert!(limiter.buckets.len() <= KeyedLimiter::<u32>::MAX_KEYS);
    }

    #[test]
    fn an_address_holds_at_most_its_share_of_connections_until_one_closes() {
        let counts = Arc::new(AddressCounts::default());
        let a: IpAddr = [10, 0, 0, 1].into();
        let first = counts.take(a, 2).unwrap();
        let second = counts.take(a, 2).unwrap();
        assert!(counts.take(a, 2).is_none());
        assert!(counts.take([10, 0, 0, 2].into(), 2).is_some());
        let kept = second.clone();
        drop(second);
        assert!(counts.take(a, 2).is_none(), "a clone keeps the slot");
        drop(kept);
        assert!(counts.take(a, 2).is_some());
        drop(first);
    }

    #[test]
    fn a_batch_must_be_in_increasing_seq_order() {
        assert!(seqs_increase([1, 2, 5]));
        assert!(seqs_increase([]));
        assert!(!seqs_increase([5, 3, 4]));
        assert!(!seqs_increase([3, 3]));
    }
}

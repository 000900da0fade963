//! The open-file limit: every simulated tracker and agent is a socket, and so is every connection
//! the relay accepts, so thousands of sessions need more descriptors than a shell's usual soft
//! limit (often 1 024). A process may raise its soft limit up to the hard one without privileges.

/// Raises the limit for a load run or the relay, and logs the outcome: a run that cannot raise it
/// goes on, and fails only if it does reach the limit.
pub fn raise() {
    match raise_to_hard_limit() {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open-file limit"),
    }
}

/// Raises this process's soft limit on open files to its hard limit; returns the limit now in
/// force.
#[cfg(unix)]
fn raise_to_hard_limit() -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid `rlimit`, read by the call only.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

/// Elsewhere the limit is left as it is.
#[cfg(not(unix))]
fn raise_to_hard_limit() -> std::io::Result<u64> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_soft_limit_reaches_the_hard_one() {
        let limit = raise_to_hard_limit().unwrap();
        assert!(limit >= 1024, "{limit}");
        // A second call finds nothing to raise and says the same.
        assert_eq!(raise_to_hard_limit().unwrap(), limit);
    }
}

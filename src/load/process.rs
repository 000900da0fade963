//! What a process costs, from /proc: RSS and CPU of the server (or relay, or store) under load.

use super::report::ProcessCost;

/// /proc samples of one process at the points of a run that its cost is computed from.
pub(super) struct ProcWatch {
    pid: u32,
    before: Option<ProcSample>,
    /// Everyone connected: RSS per session.
    connected: Option<ProcSample>,
    /// The window's start and end: CPU.
    start: Option<ProcSample>,
    end: Option<ProcSample>,
}

impl ProcWatch {
    pub(super) fn new(pid: u32) -> Self {
        Self {
            pid,
            before: read_proc(pid),
            connected: None,
            start: None,
            end: None,
        }
    }

    /// Everyone is connected.
    pub(super) fn connected(&mut self) {
        self.connected = read_proc(self.pid);
    }

    pub(super) fn window_started(&mut self) {
        self.start = read_proc(self.pid);
    }

    pub(super) fn window_ended(&mut self) {
        self.end = read_proc(self.pid);
    }

    pub(super) fn cost(self, sessions: usize, ingested_mb: f64, secs: f64) -> Option<ProcessCost> {
        let (before, connected) = (self.before?, self.connected?);
        let cpu = self.end?.cpu_seconds - self.start?.cpu_seconds;
        Some(ProcessCost {
            pid: self.pid,
            rss_before_mb: before.rss_kb as f64 / 1024.0,
            rss_after_mb: connected.rss_kb as f64 / 1024.0,
            kb_per_session: connected.rss_kb.saturating_sub(before.rss_kb) as f64
                / sessions.max(1) as f64,
            cpu_seconds: cpu,
            cpu_seconds_per_mb: if ingested_mb > 0.0 {
                cpu / ingested_mb
            } else {
                0.0
            },
            cpu_cores: cpu / secs,
        })
    }
}

pub(super) struct ProcSample {
    pub rss_kb: u64,
    pub cpu_seconds: f64,
}

pub(super) fn read_proc(pid: u32) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ProcSample {
        rss_kb,
        cpu_seconds: ticks / 100.0,
    })
}

/// The pid of the local process listening on the server URL's port, found through
/// /proc/net/tcp and the processes' socket descriptors.
pub(super) fn local_pid(server: &str) -> Option<u32> {
    let host_port = server.split("://").nth(1)?.trim_end_matches('/');
    let port: u16 = host_port.rsplit_once(':')?.1.parse().ok()?;
    let tcp = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let inode = tcp.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let local_port = u16::from_str_radix(f.get(1)?.rsplit_once(':')?.1, 16).ok()?;
        // State 0A is LISTEN.
        (local_port == port && f.get(3) == Some(&"0A")).then(|| f.get(9).map(|s| s.to_string()))?
    })?;
    let needle = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == needle) {
                return Some(pid);
            }
        }
    }
    None
}

//! A global allocator that counts, per thread, the bytes live and their peak, so each fuzz case's
//! cost is measured exactly while targets run in parallel on other threads. A request so large
//! that the system would refuse it (and the process abort) is named on stderr first, with the
//! case that asked for it, since an abort leaves no panic message to read.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Above this a single request is a decoder believing a length field, not a workload.
const ABSURD_BYTES: usize = 4 << 30;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    /// The case this thread runs, for the message about an absurd request.
    static CASE: Cell<(&'static str, u64)> = const { Cell::new(("", 0)) };
}

pub struct Counting;

fn grew(bytes: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + bytes;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn shrank(bytes: usize) {
    // Memory freed here may have been allocated on another thread.
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(bytes)));
}

/// Writes to stderr without allocating: the allocator cannot call `format!`.
fn complain(size: usize) {
    let (target, case) = CASE.try_with(Cell::get).unwrap_or(("", 0));
    let mut line = [0u8; 256];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        let n = bytes.len().min(line.len() - at);
        line[at..at + n].copy_from_slice(&bytes[..n]);
        at += n;
    };
    put(b"fuzz: target ");
    put(target.as_bytes());
    put(b" case ");
    put(digits(case as usize, &mut [0; 20]));
    put(b" asked for ");
    put(digits(size, &mut [0; 20]));
    put(b" bytes at once; replay it with FUZZ_CASE and the same FUZZ_SEED\n");
    // SAFETY: writing an initialised buffer to the process's stderr descriptor.
    unsafe { libc::write(2, line.as_ptr().cast(), at) };
}

fn digits(mut n: usize, buffer: &mut [u8; 20]) -> &[u8] {
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buffer[at..];
        }
    }
}

/// Refuses an absurd request (naming it), else allocates and counts what was given.
fn counted(size: usize, allocate: impl FnOnce() -> *mut u8) -> *mut u8 {
    if size > ABSURD_BYTES {
        complain(size);
        return std::ptr::null_mut();
    }
    let p = allocate();
    if !p.is_null() {
        grew(size);
    }
    p
}

// SAFETY: every call is passed on to `System` unchanged; only the counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted(layout.size(), || unsafe { System.alloc(layout) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        counted(layout.size(), || unsafe { System.alloc_zeroed(layout) })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > ABSURD_BYTES {
            complain(new_size);
            return std::ptr::null_mut();
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as the new block arriving before the old one leaves: a copy holds both.
            grew(new_size);
            shrank(layout.size());
        }
        p
    }
}

/// Runs `f` as case `case` of `target` and returns what it returned and the most bytes it held
/// allocated at once, beyond what the thread held before.
pub fn measure<T>(target: &'static str, case: u64, f: impl FnOnce() -> T) -> (T, usize) {
    CASE.set((target, case));
    let base = LIVE.get();
    PEAK.set(base);
    let out = f();
    (out, PEAK.get().saturating_sub(base))
}

/// The process's peak resident set (VmHWM), in bytes.
pub fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

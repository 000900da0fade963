//! The fuzz loop: case `n` of a target is a pure function of the target's name, the seed and `n`,
//! so any failure replays alone (`FUZZ_CASE=n`). A case is a valid seed left as it is, a seed
//! after a few mutations (bit flips, interesting bytes, truncation, deletion, duplication,
//! splices of two seeds, length fields inflated, deep nesting, huge counts, repetition), a
//! structured input built by the target's generator (through `arbitrary`), or raw random bytes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use arbitrary::Unstructured;

use crate::alloc;

/// No input grows past this; mutations that would are cut.
const MAX_INPUT: usize = 256 * 1024;

/// What a case may hold allocated at once: decoding into an owned tree costs a few dozen bytes
/// per input byte at worst (one enum per `nil`), so anything beyond grew with a number the input
/// claimed, not with the bytes it sent.
fn allowed_bytes(input: usize) -> usize {
    (1 << 20) + 128 * input
}

pub struct Target {
    pub name: &'static str,
    /// Valid inputs, recorded or built from the protocol's own types.
    pub seeds: Vec<Vec<u8>>,
    /// Builds an input from structured random choices.
    pub generate: fn(&mut Unstructured) -> arbitrary::Result<Vec<u8>>,
    /// Decodes an input the way the server does; true when it was accepted.
    pub run: fn(&[u8]) -> bool,
}

pub struct Report {
    pub cases: u64,
    pub accepted: u64,
    /// The most one case held allocated at once, and for how many input bytes.
    pub max_alloc: (usize, usize),
}

/// The stack of a tokio worker thread, where the server decodes what peers send: a decoder that
/// recurses too deep for it takes the whole process down.
const WORKER_STACK: usize = 2 << 20;

/// Runs the target's cases (`FUZZ_CASES`, or the one `FUZZ_CASE`) on a thread with a worker's
/// stack, prints the figures, and fails on any panic or any case allocating more than
/// [`allowed_bytes`].
pub fn fuzz(target: Target) -> Report {
    std::thread::Builder::new()
        .name(format!("fuzz {}", target.name))
        .stack_size(WORKER_STACK)
        .spawn(move || run(target))
        .expect("a fuzz thread starts")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn run(target: Target) -> Report {
    let seed: u64 = env("FUZZ_SEED").unwrap_or(0x5eed_c0b7);
    let cases = match env("FUZZ_CASE") {
        Some(one) => one..one + 1,
        None => 0..env("FUZZ_CASES").unwrap_or(10_000),
    };
    assert!(
        target.seeds.iter().all(|s| (target.run)(s)),
        "{}: every seed decodes; a seed the decoder refuses tests nothing",
        target.name
    );
    let started = Instant::now();
    let mut report = Report {
        cases: 0,
        accepted: 0,
        max_alloc: (0, 0),
    };
    let mut failures = Vec::new();
    for case in cases {
        let input = input(&target, seed, case);
        let run = target.run;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            alloc::measure(target.name, case, || run(&input))
        }));
        report.cases += 1;
        match outcome {
            Ok((accepted, bytes)) => {
                report.accepted += u64::from(accepted);
                if bytes > report.max_alloc.0 {
                    report.max_alloc = (bytes, input.len());
                }
                if bytes > allowed_bytes(input.len()) {
                    failures.push(failure(case, &input, format!("allocated {bytes} bytes")));
                }
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(failure(case, &input, format!("panicked: {message}")));
            }
        }
    }
    let (bytes, of) = report.max_alloc;
    eprintln!(
        "fuzz {}: {} cases, {} accepted, {} failed; largest case allocation {} KiB for a {}-byte input; peak RSS {} MiB; {:.1} s",
        target.name,
        report.cases,
        report.accepted,
        failures.len(),
        bytes / 1024,
        of,
        alloc::peak_rss() >> 20,
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{}: {} failing cases (FUZZ_SEED={seed}); the first:\n{}",
        target.name,
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    report
}

/// Checks that a run reached both the decoder's success and its refusals, so a harness whose
/// inputs all bounce off the first check (or all pass it) cannot look green.
pub fn assert_reaches_both(name: &str, report: &Report) {
    if report.cases < 1000 {
        return;
    }
    let refused = report.cases - report.accepted;
    assert!(
        report.accepted * 100 >= report.cases && refused * 100 >= report.cases,
        "{name}: {} of {} cases accepted; the inputs do not exercise the decoder",
        report.accepted,
        report.cases
    );
}

fn failure(case: u64, input: &[u8], what: String) -> String {
    let head: String = input.iter().take(128).map(|b| format!("{b:02x}")).collect();
    format!(
        "case {case} ({} bytes, FUZZ_CASE={case}): {what}; input starts {head}",
        input.len()
    )
}

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name} is a number, not '{v}'"))
    })
}

fn input(target: &Target, seed: u64, case: u64) -> Vec<u8> {
    let name_hash = target.name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut rng = Rng(seed ^ name_hash ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let seeds = &target.seeds;
    let mut input = match rng.below(100) {
        0..3 => return seeds[rng.below(seeds.len())].clone(),
        3..38 => return generated(target, &mut rng),
        38..45 => {
            let len = rng.log_below(4096);
            rng.bytes(len)
        }
        45..55 => generated(target, &mut rng),
        _ => seeds[rng.below(seeds.len())].clone(),
    };
    for _ in 0..1 + rng.below(6) {
        mutate(&mut rng, &mut input, seeds);
        input.truncate(MAX_INPUT);
    }
    input
}

fn generated(target: &Target, rng: &mut Rng) -> Vec<u8> {
    let len = rng.log_below(8192);
    let entropy = rng.bytes(len);
    let mut u = Unstructured::new(&entropy);
    (target.generate)(&mut u).unwrap_or(entropy)
}

/// Bytes a MessagePack decoder treats specially: type markers, length-bearing headers, and the
/// byte no value starts with.
const INTERESTING: [u8; 16] = [
    0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc4, 0xc6, 0xd9, 0xdd, 0xdf, 0xff,
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let len = input.len();
    let at = rng.below(len + 1);
    match rng.below(11) {
        0 if len > 0 => input[at.min(len - 1)] ^= 1 << rng.below(8),
        1 if len > 0 => input[at.min(len - 1)] = INTERESTING[rng.below(INTERESTING.len())],
        2 => input.truncate(at),
        3 => {
            let end = (at + rng.log_below(len - at + 1)).min(len);
            input.drain(at..end);
        }
        4 => {
            let end = (at + rng.log_below(len - at + 1)).min(len);
            let copy = input[at..end].to_vec();
            let to = rng.below(input.len() + 1);
            input.splice(to..to, copy);
        }
        5 => {
            let other = &seeds[rng.below(seeds.len())];
            let from = rng.below(other.len() + 1);
            input.truncate(at);
            input.extend_from_slice(&other[from..]);
        }
        6 => inflate_length(rng, input),
        7 => {
            let depth = rng.log_below(100_000);
            let wrapper: &[u8] = match rng.below(3) {
                0 => &[0x91],
                1 => &[0x81, 0xa1, b'x'],
                _ => &[0x81, 0xa4, b't', b'y', b'p', b'e'],
            };
            let nest: Vec<u8> = wrapper.repeat(depth);
            input.splice(at..at, nest);
        }
        8 => {
            let huge: &[u8] = match rng.below(4) {
                0 => &[0xdd, 0xff, 0xff, 0xff, 0xff],
                1 => &[0xdf, 0xff, 0xff, 0xff, 0xff],
                2 => &[0xc6, 0xff, 0xff, 0xff, 0xff],
                _ => &[0xdb, 0x7f, 0xff, 0xff, 0xff],
            };
            input.splice(at..at, huge.iter().copied());
        }
        9 => {
            let end = (at + 1 + rng.log_below(64)).min(len);
            let piece = input[at.min(end)..end].to_vec();
            let times = rng.log_below(MAX_INPUT / piece.len().max(1));
            input.splice(end..end, piece.repeat(times));
        }
        _ => {
            let len = rng.log_below(64);
            let bytes = rng.bytes(len);
            input.splice(at..at, bytes);
        }
    }
}

/// Makes one length-bearing header claim far more than follows.
fn inflate_length(rng: &mut Rng, input: &mut Vec<u8>) {
    let headers: Vec<usize> = (0..input.len())
        .filter(|&i| matches!(input[i], 0x80..=0xbf | 0xc4..=0xc6 | 0xd9..=0xdb | 0xdc..=0xdf))
        .collect();
    if headers.is_empty() {
        return;
    }
    let at = headers[rng.below(headers.len())];
    let claim: u32 = match rng.below(3) {
        0 => u32::MAX,
        1 => 1 << (16 + rng.below(16)),
        _ => rng.next() as u32,
    };
    // Fixed-size headers become their 32-bit form; sized ones get the claim in their width.
    let (marker, width) = match input[at] {
        0x80..=0x8f => (0xdf, 4),
        0x90..=0x9f => (0xdd, 4),
        0xa0..=0xbf => (0xdb, 4),
        m @ (0xc4 | 0xd9) => (m, 1),
        m @ (0xc5 | 0xda | 0xdc | 0xde) => (m, 2),
        m => (m, 4),
    };
    let old_width = match input[at] {
        0xc4 | 0xd9 => 1,
        0xc5 | 0xda | 0xdc | 0xde => 2,
        0xc6 | 0xdb | 0xdd | 0xdf => 4,
        _ => 0,
    };
    let end = (at + 1 + old_width).min(input.len());
    let mut header = vec![marker];
    header.extend(&claim.to_be_bytes()[4 - width..]);
    input.splice(at..end, header);
}

/// SplitMix64: small, fast, and the same on every platform, so a case number names one input.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// Below `n`, small numbers as likely as large orders of magnitude.
    pub fn log_below(&mut self, n: usize) -> usize {
        let bits = usize::BITS - n.leading_zeros();
        let cap = 1usize << self.below(bits as usize + 1);
        self.below(cap.min(n))
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

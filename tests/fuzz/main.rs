//! Fuzzing on stable Rust: every decoder that reads bytes a peer or the store chose, fed a
//! deterministic, seeded stream of hostile inputs. No nightly and no libFuzzer, so it runs in
//! `cargo test` like any other test: each case must decode or be refused without a panic, and
//! without allocating out of proportion to its size (a counting allocator measures every case).
//!
//! `FUZZ_CASES` sets the cases per target (10 000 by default, what CI runs); `FUZZ_SEED` picks
//! another stream of cases; `FUZZ_CASE=N` replays one case, the way a failure names it. A long
//! run: `FUZZ_CASES=1000000 cargo test --test fuzz -- --nocapture --test-threads 1`.
//!
//! Targets: the tracker's frames (`tracker.rs`), the agent's frames (`agent.rs`), stored records
//! through the reassembler and the read-side dedup (`store.rs`), and the call negotiation a peer
//! sends: SDP answers and ICE candidates (`webrtc.rs`).

mod agent;
mod alloc;
mod engine;
mod msgpack;
mod store;
mod tracker;
mod webrtc;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

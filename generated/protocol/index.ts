// Generated from src/protocol/ by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.

export type * from "./session";
export type * from "./tracker";
export type * from "./agent";
export type * from "./grants";
export type * from "./input";
export type * from "./call";
export type * from "./signal";
export type * from "./records";
export type * from "./rest";
export type * from "./audit";
export type * from "./codes";
export * from "./constants";

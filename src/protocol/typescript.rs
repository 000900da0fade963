//! Renders `generated/protocol/`, the TypeScript of the wire types that the tracker and the agent
//! console import, so neither can drift from what the server sends and accepts.
//!
//! One file per module of `src/protocol/` holds the types (rendered by `ts-rs`),
//! `constants.ts` the values both sides check (limits, named keys, close codes, the variants of
//! small enums), and `index.ts` re-exports them all. The test below compares the committed
//! files with a fresh rendering and fails when they differ; with `COBROWSE_WRITE_PROTOCOL_TS`
//! set (what `scripts/gen-protocol-ts` does) it writes them instead. ts-rs's own `#[ts(export)]`
//! is not used: it writes files during every `cargo test`, which would hide stale files in CI.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ts_rs::{Config, TS};

use super::SessionId;
use super::*;

/// Where the files go, relative to the crate root.
const OUT_DIR: &str = "generated/protocol";
/// Set (to anything) to write the files rather than compare them.
const WRITE_ENV: &str = "COBROWSE_WRITE_PROTOCOL_TS";
const COMMAND: &str = "scripts/gen-protocol-ts";

/// One type's exported declaration and the types it refers to.
struct Declaration {
    name: String,
    text: String,
    uses: Vec<String>,
}

fn declare<T: TS + 'static>(cfg: &Config) -> Declaration {
    Declaration {
        name: T::ident(cfg),
        text: format!(
            "{}export {}\n",
            T::docs().unwrap_or_default(),
            one_variant_a_line(&T::decl(cfg))
        ),
        uses: T::dependencies(cfg)
            .into_iter()
            .map(|dependency| dependency.ts_name)
            .collect(),
    }
}

/// `vec![declare::<A>(cfg), declare::<B>(cfg), …]`.
macro_rules! declare_all {
    ($cfg:expr; $($ty:ty),+ $(,)?) => {
        vec![$(declare::<$ty>($cfg)),+]
    };
}

/// The exported types, by the Rust module that defines them.
fn modules(cfg: &Config) -> Vec<(&'static str, Vec<Declaration>)> {
    let tracker = declare_all!(cfg;
        TrackerMessage, Hello, PageInfo, Viewport, TrackerEvent, TrackerEventKind, ServerMessage,
        Limits, ViewMode, Watcher);
    let call = declare_all!(cfg;
        CallMessage, CallOffer, Slot, Media, Participant, IceServer, IceCandidate);
    let records = declare_all!(cfg;
        RecordKind, SessionStart, PageRecord, SessionEnd, EndReason, AgentRecord, AgentAction,
        LeftReason, RecordingState);
    let rest = declare_all!(cfg;
        SessionSummary, SessionPage, SessionGone, SessionDetail, Activity, Recording, RecordingFile, ErrorBody,
        TicketResponse, SignedInAgent);
    vec![
        ("session", declare_all!(cfg; SessionId)),
        ("tracker", tracker),
        (
            "agent",
            declare_all!(cfg; AgentMessage, DeliveredEvent, ViewConsentState),
        ),
        (
            "grants",
            declare_all!(cfg; AgentRef, GrantKind, Grant, DeclineReason, Role),
        ),
        (
            "input",
            declare_all!(cfg; ControlInput, NavigateTo, Stroke, StrokeTool),
        ),
        ("call", call),
        ("signal", declare_all!(cfg; Signal, SignalRecord)),
        ("records", records),
        ("rest", rest),
        (
            "audit",
            declare_all!(cfg; AuditRecord, AuditAction, CodeRefusal, FollowVia, AuditEntry, AuditPage),
        ),
        (
            "codes",
            declare_all!(cfg; codes::CodeRequest, codes::CodeResolved),
        ),
    ]
}

fn header(what: &str) -> String {
    format!(
        "// Generated from {what} by `{COMMAND}`; do not edit.\n\
         // `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.\n\n"
    )
}

/// Every file of `generated/protocol/`, by name.
fn render() -> BTreeMap<String, String> {
    // Numbers, not bigints: MessagePack and JSON decoders in the browser give plain numbers, and
    // every u64 on the wire (sequence numbers, ms timestamps, byte counts) stays below 2^53.
    let cfg = Config::new().with_large_int("number");
    let modules = modules(&cfg);
    let home: BTreeMap<&str, &str> = modules
        .iter()
        .flat_map(|(module, decls)| decls.iter().map(move |decl| (decl.name.as_str(), *module)))
        .collect();

    let mut files = BTreeMap::new();
    for (module, decls) in &modules {
        let mut imports: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for used in decls.iter().flat_map(|decl| &decl.uses) {
            let from = home.get(used.as_str()).unwrap_or_else(|| {
                panic!("{used} is used by protocol::{module} but not listed in modules()")
            });
            if from != module {
                imports.entry(from).or_default().push(used);
            }
        }
        let source = if *module == "session" {
            "src/protocol/session_id.rs".to_string()
        } else {
            format!("src/protocol/{module}.rs")
        };
        let mut text = header(&source);
        for (from, mut names) in imports {
            names.sort_unstable();
            names.dedup();
            writeln!(
                text,
                "import type {{ {} }} from \"./{from}\";",
                names.join(", ")
            )
            .unwrap();
        }
        for decl in decls {
            write!(text, "\n{}", decl.text).unwrap();
        }
        files.insert(format!("{module}.ts"), text);
    }
    files.insert("constants.ts".into(), constants(&cfg));

    let mut index = header("src/protocol/");
    for (module, _) in &modules {
        writeln!(index, "export type * from \"./{module}\";").unwrap();
    }
    index.push_str("export * from \"./constants\";\n");
    files.insert("index.ts".into(), index);
    files
}

/// ts-rs writes a declaration on one line (field docs aside); a union reads better with one
/// variant a line, and no line should end in a space.
fn one_variant_a_line(decl: &str) -> String {
    let mut variants = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let bytes = decl.as_bytes();
    for (at, &byte) in bytes.iter().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b'{' | b'(' | b'[' | b'<' if !quoted => depth += 1,
            b'}' | b')' | b']' | b'>' if !quoted => depth -= 1,
            b'|' if !quoted && depth == 0 && bytes.get(at + 1) == Some(&b' ') => {
                variants.push(decl[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    let text = if variants.is_empty() {
        decl.to_string()
    } else {
        variants.push(decl[start..].trim());
        let (head, first) = variants[0]
            .split_once(" = ")
            .expect("ts-rs declarations are `type X = …`");
        variants[0] = first;
        format!("{head} =\n  | {}", variants.join("\n  | "))
    };
    text.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The values the server checks, so the tracker and the console check the same ones.
fn constants(cfg: &Config) -> String {
    let mut text = header("the constants of src/protocol/");
    text.push_str("import type { Media } from \"./call\";\n");
    text.push_str("import type { GrantKind } from \"./grants\";\n");
    text.push_str("import type { NavigateTo, StrokeTool } from \"./input\";\n\n");
    let mut constant = |doc: &str, name: &str, value: String| {
        writeln!(text, "/** {doc} */\nexport const {name} = {value};").unwrap();
    };
    constant(
        "The protocol version a tracker announces in `hello`.",
        "PROTOCOL_VERSION",
        PROTOCOL_VERSION.to_string(),
    );
    constant(
        "Named keys an agent may press; any single character is allowed too.",
        "NAMED_KEYS",
        strings(&NAMED_KEYS),
    );
    constant(
        "The longest `value` an `input` or `select` control may carry, in characters (code points).",
        "MAX_INPUT_CHARS",
        MAX_INPUT_CHARS.to_string(),
    );
    constant(
        "The longest `url` a `navigate` control may carry, in UTF-8 bytes.",
        "MAX_URL_BYTES",
        MAX_URL_BYTES.to_string(),
    );
    constant(
        "The most points a stroke may have.",
        "MAX_STROKE_POINTS",
        MAX_STROKE_POINTS.to_string(),
    );
    constant(
        "The longest stroke id, in UTF-8 bytes.",
        "MAX_STROKE_ID_BYTES",
        MAX_STROKE_ID_BYTES.to_string(),
    );
    constant(
        "The participant id of the page's user in a call; agents are named by their connection id.",
        "USER_PARTICIPANT",
        format!("{:?}", super::call::USER),
    );
    constant(
        "Every `type` a tracker may send.",
        "TRACKER_MESSAGE_TYPES",
        strings(&TrackerMessage::TYPES),
    );
    constant(
        "Every `type` an agent may send on its live connection.",
        "AGENT_SIGNAL_TYPES",
        strings(&Signal::AGENT_TYPES),
    );
    constant(
        "Every grant kind.",
        "GRANT_KINDS",
        variants::<GrantKind>(cfg),
    );
    constant(
        "Every media a call slot may carry.",
        "MEDIA_KINDS",
        variants::<Media>(cfg),
    );
    constant(
        "Every annotation tool.",
        "STROKE_TOOLS",
        variants::<StrokeTool>(cfg),
    );
    constant(
        "Every target of a `navigate` control.",
        "NAVIGATE_TARGETS",
        variants::<NavigateTo>(cfg),
    );
    text.push_str("\n/** WebSocket close codes the server uses (`protocol::close`). */\nexport const CLOSE = {\n");
    for (doc, name, code) in close_codes() {
        writeln!(text, "  /** {doc} */\n  {name}: {code},").unwrap();
    }
    text.push_str("} as const;\n");
    text
}

/// A readonly array of string literals.
fn strings(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|value| format!("{value:?}")).collect();
    format!("[{}] as const", quoted.join(", "))
}

/// The values of a unit-only enum, from its rendering (`"a" | "b"`), checked against its type.
fn variants<T: TS + 'static>(cfg: &Config) -> String {
    let union = T::inline(cfg);
    let values: Vec<&str> = union.split(" | ").collect();
    assert!(
        values
            .iter()
            .all(|value| value.len() > 2 && value.starts_with('"') && value.ends_with('"')),
        "{} is not an enum of names: {union}",
        T::ident(cfg)
    );
    format!(
        "[{}] as const satisfies readonly {}[]",
        values.join(", "),
        T::ident(cfg)
    )
}

/// `(doc, name, code)` of every `pub const` of `close.rs`, read from its source so that a new
/// code cannot be left out.
fn close_codes() -> Vec<(String, String, u16)> {
    let mut codes = Vec::new();
    let mut doc = Vec::new();
    for line in include_str!("close.rs").lines().map(str::trim) {
        if let Some(text) = line.strip_prefix("/// ") {
            doc.push(text);
        } else if let Some(constant) = line.strip_prefix("pub const ") {
            let (name, value) = constant
                .split_once(": u16 = ")
                .expect("close codes are `pub const NAME: u16 = N;`");
            let code = value
                .trim_end_matches(';')
                .parse()
                .expect("close codes are numbers");
            codes.push((doc.join(" "), name.to_string(), code));
            doc.clear();
        } else {
            doc.clear();
        }
    }
    codes
}

#[test]
fn generated_types_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(OUT_DIR);
    let files = render();
    if std::env::var_os(WRITE_ENV).is_some() {
        write(&dir, &files);
        return;
    }
    let mut stale: Vec<String> = files
        .iter()
        .filter(|(name, text)| std::fs::read_to_string(dir.join(name)).ok().as_ref() != Some(*text))
        .map(|(name, _)| name.clone())
        .collect();
    stale.extend(
        ts_files(&dir)
            .into_iter()
            .filter(|name| !files.contains_key(name))
            .map(|name| format!("{name} (no longer generated)")),
    );
    assert!(
        stale.is_empty(),
        "{OUT_DIR}/ does not match the Rust types in src/protocol/ ({}); run `{COMMAND}` and commit \
         the result",
        stale.join(", ")
    );
}

fn write(dir: &Path, files: &BTreeMap<String, String>) {
    std::fs::create_dir_all(dir).expect("create generated/protocol/");
    for name in ts_files(dir) {
        if !files.contains_key(&name) {
            std::fs::remove_file(dir.join(&name)).expect("remove a file no longer generated");
        }
    }
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write generated/protocol/");
    }
}

/// The `.ts` files now in `dir`.
fn ts_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path: &PathBuf| path.extension().is_some_and(|ext| ext == "ts"))
        .filter_map(|path| path.file_name()?.to_str().map(String::from))
        .collect()
}

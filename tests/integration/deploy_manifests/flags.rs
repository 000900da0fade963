//! The binary's flags, read from its own `--help`: the names of each subcommand's flags, which of
//! them take a value, their `COBROWSE_*` variables and their defaults. The flags are the binary's
//! (src/args.rs is not in the library), so its help is the one account of them.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// The subcommands a container may run.
pub const COMMANDS: [&str; 3] = ["serve", "store", "probe"];

#[derive(Debug, Default)]
pub struct Flags {
    /// `--listen`, `--data-dir`, ...
    pub names: BTreeSet<String>,
    /// The flags shown with a `<VALUE>`.
    pub with_value: BTreeSet<String>,
    /// `COBROWSE_LISTEN` -> `--listen`.
    pub env: BTreeMap<String, String>,
    /// `--listen` -> `127.0.0.1:7070`.
    pub defaults: BTreeMap<String, String>,
}

impl Flags {
    /// The `COBROWSE_*` variable of `flag`, if it has one.
    pub fn env_of(&self, flag: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(_, f)| f.as_str() == flag)
            .map(|(name, _)| name.as_str())
    }
}

/// Each subcommand of [`COMMANDS`] with its flags.
pub struct Cli(BTreeMap<String, Flags>);

impl Cli {
    pub fn of_binary() -> Self {
        Cli(COMMANDS
            .iter()
            .map(|command| (command.to_string(), parse(&help(command))))
            .collect())
    }

    pub fn command(&self, name: &str) -> Option<&Flags> {
        self.0.get(name)
    }
}

fn help(command: &str) -> String {
    // No COBROWSE_* variables of this process in the help's `[env: NAME=value]`.
    let output = Command::new(env!("CARGO_BIN_EXE_cobrowse"))
        .args([command, "--help"])
        .env_clear()
        .output()
        .expect("run the cobrowse binary");
    assert!(
        output.status.success(),
        "cobrowse {command} --help: {output:?}"
    );
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

/// Clap's help: a line starting with `-` names a flag (`-h, --help`, `--listen <LISTEN>`); the
/// `[env: NAME=...]` and `[default: ...]` after it, on that line or the next, are that flag's.
fn parse(help: &str) -> Flags {
    let mut flags = Flags::default();
    let mut current: Option<String> = None;
    for line in help.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('-') {
            let mut words = trimmed.split_whitespace();
            current = words
                .by_ref()
                .map(|w| w.trim_end_matches(','))
                .find(|w| w.starts_with("--"))
                .map(str::to_string);
            if let Some(name) = &current {
                flags.names.insert(name.clone());
                if words.next().is_some_and(|w| w.starts_with('<')) {
                    flags.with_value.insert(name.clone());
                }
            }
        }
        let Some(name) = &current else { continue };
        for (start, _) in line.match_indices("[env: ") {
            let rest = &line[start + "[env: ".len()..];
            let end = rest.find(['=', ']']).unwrap_or(rest.len());
            flags.env.insert(rest[..end].to_string(), name.clone());
        }
        if let Some(start) = line.find("[default: ") {
            let rest = &line[start + "[default: ".len()..];
            let end = rest.find(']').unwrap_or(rest.len());
            flags.defaults.insert(name.clone(), rest[..end].to_string());
        }
    }
    flags
}

#[test]
fn help_is_read_flag_by_flag() {
    let flags = parse(
        "Options:\n      --listen <LISTEN>\n          Address [env: COBROWSE_LISTEN=] [default: 127.0.0.1:7070]\n      --s2-token <S2_TOKEN>\n          Token [env: COBROWSE_S2_TOKEN]\n      --demo\n          Demo [env: COBROWSE_DEMO=]\n  -h, --help\n          Print help\n",
    );
    assert_eq!(flags.env["COBROWSE_LISTEN"], "--listen");
    assert_eq!(flags.env["COBROWSE_S2_TOKEN"], "--s2-token");
    assert_eq!(flags.defaults["--listen"], "127.0.0.1:7070");
    assert!(flags.with_value.contains("--listen"));
    assert!(!flags.with_value.contains("--demo"));
    assert!(flags.names.contains("--help"));
    assert_eq!(flags.env_of("--demo"), Some("COBROWSE_DEMO"));
}

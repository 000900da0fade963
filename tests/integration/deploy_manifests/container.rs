//! What a container runs, from Kubernetes or compose alike: its command line and environment on
//! top of the image's, resolved against the binary's flags the way clap resolves them (the flag,
//! else its variable, else its default).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::findings::{ProbeTarget, Problems};
use super::flags::Cli;

/// What the image gives a container that says nothing (deploy/Dockerfile's final stage).
#[derive(Debug, Default)]
pub struct ImageDefaults {
    /// `CMD`, after the `cobrowse` entrypoint.
    pub cmd: Vec<String>,
    pub env: BTreeMap<String, String>,
}

/// One container of a manifest.
pub struct Container {
    /// `deploy/k8s/cobrowse.yaml: Deployment cobrowse, container cobrowse`, for messages.
    pub place: String,
    /// The arguments after the entrypoint; empty: the image's `CMD`.
    pub args: Vec<String>,
    /// Its environment; `None` for a value from elsewhere (a Secret, the shell).
    pub env: BTreeMap<String, Option<String>>,
}

/// A container's resolved settings.
pub struct Resolved {
    /// `serve` or `store`.
    pub command: String,
    /// Where it listens: its one TCP port.
    pub listen: Option<SocketAddr>,
    /// `serve`'s UDP media ports, FIRST..=LAST.
    pub rtc_ports: Option<(u16, u16)>,
    /// The store's directory, which must be writable.
    pub data_dir: Option<String>,
    /// `--demo` or COBROWSE_DEMO=true.
    pub demo: bool,
}

impl Container {
    /// Checks every flag and `COBROWSE_*` variable against the binary, and resolves the settings
    /// the other checks need.
    pub fn resolve(
        &self,
        cli: &Cli,
        image: &ImageDefaults,
        problems: &mut Problems,
    ) -> Option<Resolved> {
        let args = if self.args.is_empty() {
            &image.cmd
        } else {
            &self.args
        };
        let Some(command) = args.first().cloned() else {
            problems.add(&self.place, "runs no subcommand (no args and no image CMD)");
            return None;
        };
        let Some(flags) = cli.command(&command).filter(|_| command != "probe") else {
            problems.add(
                &self.place,
                format!("runs `cobrowse {command}`, not serve or store"),
            );
            return None;
        };
        let mut given = BTreeMap::new();
        let mut rest = args[1..].iter().peekable();
        while let Some(arg) = rest.next() {
            let Some(flag) = arg.strip_prefix("--").map(|_| arg.as_str()) else {
                problems.add(
                    &self.place,
                    format!("argument `{arg}` is not a flag of `cobrowse {command}`"),
                );
                continue;
            };
            let (name, inline) = match flag.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (flag, None),
            };
            if !flags.names.contains(name) {
                problems.add(
                    &self.place,
                    format!("`cobrowse {command}` has no flag {name}"),
                );
                continue;
            }
            let value = match inline {
                Some(value) => value,
                None if flags.with_value.contains(name) => match rest.next() {
                    Some(value) => value.clone(),
                    None => {
                        problems.add(&self.place, format!("{name} has no value"));
                        continue;
                    }
                },
                None => "true".to_string(),
            };
            given.insert(name.to_string(), value);
        }
        for name in self.env.keys().filter(|name| name.starts_with("COBROWSE_")) {
            if !flags.env.contains_key(name) {
                problems.add(
                    &self.place,
                    format!("env {name} is not the variable of any flag of `cobrowse {command}` (see `cobrowse {command} --help`)"),
                );
            }
        }
        let setting = |flag: &str| -> Option<String> {
            if let Some(value) = given.get(flag) {
                return Some(value.clone());
            }
            let env = flags.env_of(flag);
            if let Some(value) = env.and_then(|env| self.env.get(env)) {
                return value.clone();
            }
            if let Some(value) = env.and_then(|env| image.env.get(env)) {
                return Some(value.clone());
            }
            flags.defaults.get(flag).cloned()
        };
        let listen = setting("--listen").and_then(|text| match text.parse::<SocketAddr>() {
            Ok(addr) if addr.ip().is_unspecified() => Some(addr),
            Ok(addr) => {
                problems.add(&self.place, format!("listens on {addr}, which nothing outside the container reaches (use 0.0.0.0)"));
                Some(addr)
            }
            Err(_) => {
                problems.add(&self.place, format!("--listen `{text}` is not an address"));
                None
            }
        });
        let rtc_ports = if command == "serve" {
            let text = setting("--rtc-ports").unwrap_or_default();
            let range = text
                .split_once('-')
                .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
            if range.is_none() {
                problems.add(
                    &self.place,
                    format!("--rtc-ports `{text}` is not FIRST-LAST"),
                );
            }
            range
        } else {
            None
        };
        Some(Resolved {
            demo: setting("--demo").is_some_and(|v| v == "true"),
            data_dir: setting("--data-dir"),
            command,
            listen,
            rtc_ports,
        })
    }
}

/// `cobrowse probe URL [--timeout T]`, as a health check runs it inside `container`: the URL must
/// be that container's own listener, its path is checked against the running binary.
pub fn check_probe_command(
    place: &str,
    argv: &[String],
    cli: &Cli,
    container: &Resolved,
    targets: &mut Vec<ProbeTarget>,
    problems: &mut Problems,
) {
    let [program, probe, rest @ ..] = argv else {
        problems.add(
            place,
            format!(
                "health check `{}` is not `cobrowse probe URL`",
                argv.join(" ")
            ),
        );
        return;
    };
    if program != "cobrowse" || probe != "probe" {
        problems.add(
            place,
            format!(
                "health check `{}` is not `cobrowse probe URL` (the image has no curl)",
                argv.join(" ")
            ),
        );
        return;
    }
    let flags = cli.command("probe").expect("probe is a command");
    let mut urls = Vec::new();
    let mut words = rest.iter();
    while let Some(word) = words.next() {
        if word.starts_with("--") {
            let name = word.split('=').next().unwrap_or(word);
            if !flags.names.contains(name) {
                problems.add(place, format!("`cobrowse probe` has no flag {name}"));
            } else if !word.contains('=') && flags.with_value.contains(name) {
                words.next();
            }
        } else {
            urls.push(word);
        }
    }
    let [url] = urls.as_slice() else {
        problems.add(place, "`cobrowse probe` takes one URL");
        return;
    };
    let Ok(url) = url::Url::parse(url) else {
        problems.add(place, format!("`{url}` is not a URL"));
        return;
    };
    let port = url.port_or_known_default();
    if port != container.listen.map(|a| a.port()) {
        problems.add(
            place,
            format!(
                "health check asks port {port:?}, the container listens on {:?}",
                container.listen
            ),
        );
    }
    targets.push(ProbeTarget {
        place: place.to_string(),
        command: container.command.clone(),
        path: url.path().to_string(),
    });
}

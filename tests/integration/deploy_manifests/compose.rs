//! deploy/compose.yaml: each service's container against the binary, its health check, its
//! published ports, and that the nodes wait for a healthy store.

use std::collections::BTreeMap;
use std::path::Path;

use serde_norway::Value;

use super::container::{Container, ImageDefaults, check_probe_command};
use super::findings::Findings;
use super::flags::Cli;
use super::yaml::{at, read_yaml, text};

const FILE: &str = "deploy/compose.yaml";

/// Compose's interpolation as the container sees it with nothing set in the shell:
/// `${NAME:-default}` is the default; `${NAME:?error}` and `${NAME}` are the operator's.
fn interpolate(value: &str) -> Option<String> {
    let Some(start) = value.find("${") else {
        return Some(value.to_string());
    };
    let end = start + value[start..].find('}')?;
    let inner = &value[start + 2..end];
    let modifier = &inner[inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len())..];
    let default = modifier
        .strip_prefix(":-")
        .or_else(|| modifier.strip_prefix('-'))?;
    let rest = interpolate(&value[end + 1..])?;
    Some(format!("{}{default}{rest}", &value[..start]))
}

fn words(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        _ => value
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|v| text(v).map(str::to_string))
            .collect(),
    }
}

/// `HOST:CONTAINER[/PROTOCOL]`, either side a port or FIRST-LAST: the container side.
fn container_ports(spec: &str) -> Option<(u64, u64, String)> {
    let (ports, protocol) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let inside = ports.rsplit(':').next()?;
    let (first, last) = inside.split_once('-').unwrap_or((inside, inside));
    Some((
        first.parse().ok()?,
        last.parse().ok()?,
        protocol.to_string(),
    ))
}

pub fn check(deploy: &Path, cli: &Cli, image: &ImageDefaults, found: &mut Findings) {
    let Findings {
        problems,
        images,
        targets,
    } = found;
    let docs = read_yaml(&deploy.join("compose.yaml"), FILE, problems);
    let Some(doc) = docs.first() else {
        problems.add(FILE, "empty");
        return;
    };
    let Some(services) = at(doc, "services").as_mapping() else {
        problems.add(FILE, "no services");
        return;
    };
    let mut healthy = BTreeMap::new();
    for (name, service) in services {
        let name = text(name).unwrap_or_default();
        let place = format!("{FILE}: service {name}");
        images.add(
            &place,
            text(at(service, "image")).and_then(interpolate).as_deref(),
        );
        let environment = at(service, "environment");
        let env = match environment {
            Value::Mapping(m) => m
                .iter()
                .filter_map(|(k, v)| Some((text(k)?.to_string(), text(v).and_then(interpolate))))
                .collect(),
            _ => words(environment)
                .iter()
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => (k.to_string(), interpolate(v)),
                    None => (pair.clone(), None),
                })
                .collect(),
        };
        if !at(service, "entrypoint").is_null() {
            problems.add(&place, "`entrypoint` replaces the image's; give `command`");
        }
        let container = Container {
            place: place.clone(),
            args: words(at(service, "command")),
            env,
        };
        let Some(resolved) = container.resolve(cli, image, problems) else {
            continue;
        };
        if resolved.demo {
            problems.add(
                &place,
                "turns the demo page on by default; it records whoever opens it",
            );
        }
        let test = words(at(service, "healthcheck.test"));
        match test.split_first() {
            Some((form, argv)) if form == "CMD" => {
                check_probe_command(&format!("{place}, healthcheck"), argv, cli, &resolved, targets, problems);
                healthy.insert(name.to_string(), true);
            }
            _ => problems.add(&place, "healthcheck.test must be [\"CMD\", \"cobrowse\", \"probe\", URL] (the image's own probes a node's port)"),
        }
        if at(service, "read_only").as_bool() != Some(true) {
            problems.add(&place, "read_only: true (only its volumes are written)");
        }
        if !words(at(service, "cap_drop")).iter().any(|c| c == "ALL") {
            problems.add(&place, "cap_drop: [ALL]");
        }
        if let Some(dir) = &resolved.data_dir {
            let mounted = words(at(service, "volumes")).iter().any(|v| {
                v.split(':')
                    .nth(1)
                    .is_some_and(|m| dir == m || dir.starts_with(&format!("{m}/")))
            });
            if !mounted {
                problems.add(&place, format!("--data-dir {dir} is on the read-only root file system: mount a volume there"));
            }
        }
        let listen = resolved.listen.map(|a| u64::from(a.port()));
        for spec in words(at(service, "ports")) {
            let fits = match container_ports(&spec) {
                Some((first, last, protocol)) if protocol == "tcp" => {
                    first == last && Some(first) == listen
                }
                Some((first, last, protocol)) if protocol == "udp" => resolved
                    .rtc_ports
                    .is_some_and(|(a, b)| u64::from(a) <= first && last <= u64::from(b)),
                _ => false,
            };
            if !fits {
                problems.add(&place, format!("ports `{spec}`: `cobrowse {}` listens on {listen:?} (--listen) and UDP {:?} (--rtc-ports)", resolved.command, resolved.rtc_ports));
            }
        }
    }
    for (name, service) in services {
        let place = format!("{FILE}: service {}", text(name).unwrap_or_default());
        let depends = at(service, "depends_on");
        if depends.is_sequence() {
            problems.add(&place, "depends_on as a list starts it before its dependencies are healthy: give condition: service_healthy");
        }
        for (dependency, how) in depends.as_mapping().into_iter().flatten() {
            let dependency = text(dependency).unwrap_or_default();
            if healthy.contains_key(dependency)
                && text(at(how, "condition")) != Some("service_healthy")
            {
                problems.add(
                    &place,
                    format!("depends_on {dependency} must wait with condition: service_healthy"),
                );
            }
        }
    }
}

#[test]
fn interpolation_takes_the_defaults() {
    assert_eq!(
        interpolate("${IMAGE:-ghcr.io/a/b:1}").as_deref(),
        Some("ghcr.io/a/b:1")
    );
    assert_eq!(
        interpolate("http://s2:7071").as_deref(),
        Some("http://s2:7071")
    );
    assert_eq!(interpolate("${SECRET:?set it to a-b}"), None);
    assert_eq!(interpolate("${SECRET}"), None);
    assert_eq!(
        container_ports("50000-50049:50000-50049/udp"),
        Some((50000, 50049, "udp".into()))
    );
    assert_eq!(
        container_ports("127.0.0.1:7072:7070"),
        Some((7070, 7070, "tcp".into()))
    );
}

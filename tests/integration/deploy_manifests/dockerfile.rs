//! deploy/Dockerfile and its .dockerignore: the stages' bases, the final stage's user, variables,
//! exposed ports and health check, and that every file the build copies is in the repository and
//! in the build context.

use std::collections::BTreeSet;
use std::path::Path;

use super::container::{Container, ImageDefaults, Resolved, check_probe_command};
use super::findings::{ProbeTarget, Problems};
use super::flags::{COMMANDS, Cli};

const FILE: &str = "deploy/Dockerfile";

/// One instruction: `COPY`, and the rest of its (joined) lines.
struct Instruction {
    keyword: String,
    rest: String,
}

struct Stage {
    base: String,
    instructions: Vec<Instruction>,
}

fn parse(text: &str) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut joined = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && joined.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            joined.push_str(head);
            joined.push(' ');
            continue;
        }
        joined.push_str(trimmed);
        let line = std::mem::take(&mut joined);
        let (keyword, rest) = line.split_once(' ').unwrap_or((&line, ""));
        let keyword = keyword.to_ascii_uppercase();
        let rest = rest.trim().to_string();
        if keyword == "FROM" {
            let base = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            stages.push(Stage {
                base,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(Instruction { keyword, rest });
        }
    }
    stages
}

fn json_words(place: &str, text: &str, problems: &mut Problems) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|_| {
        problems.add(
            place,
            format!("`{text}` is not a JSON array (the exec form)"),
        );
        Vec::new()
    })
}

/// Checks the Dockerfile; returns what its image gives containers.
pub fn check(
    root: &Path,
    deploy: &Path,
    cli: &Cli,
    targets: &mut Vec<ProbeTarget>,
    problems: &mut Problems,
) -> ImageDefaults {
    let text = std::fs::read_to_string(deploy.join("Dockerfile")).expect("read deploy/Dockerfile");
    let stages = parse(&text);
    let mut defaults = ImageDefaults::default();
    for stage in &stages {
        let (name, tag) = stage.base.rsplit_once(':').unwrap_or((&stage.base, ""));
        if tag.is_empty() || tag == "latest" {
            problems.add(
                FILE,
                format!("FROM {}: name a version, not latest", stage.base),
            );
        }
        if name == "node"
            && !["22", "24"]
                .iter()
                .any(|v| tag.split('-').next() == Some(v))
        {
            problems.add(
                FILE,
                format!(
                    "FROM {}: the web build wants Node 22 or 24 (LTS)",
                    stage.base
                ),
            );
        }
    }
    check_copies(root, deploy, &stages, problems);
    let Some(last) = stages.last() else {
        problems.add(FILE, "has no FROM");
        return defaults;
    };
    let mut exposed = BTreeSet::new();
    let mut healthcheck = None;
    let mut user = None;
    for Instruction { keyword, rest } in &last.instructions {
        let place = format!("{FILE}: {keyword}");
        match keyword.as_str() {
            "ENV" => {
                for pair in rest.split_whitespace() {
                    match pair.split_once('=') {
                        Some((k, v)) => defaults.env.insert(k.to_string(), v.to_string()),
                        None => {
                            problems.add(&place, format!("`{rest}`: write ENV as NAME=VALUE"));
                            break;
                        }
                    };
                }
            }
            "EXPOSE" => exposed.extend(rest.split_whitespace().map(str::to_string)),
            "USER" => user = Some(rest.clone()),
            "CMD" => defaults.cmd = json_words(&place, rest, problems),
            "ENTRYPOINT" if json_words(&place, rest, problems) != ["cobrowse"] => {
                problems.add(
                    &place,
                    "the manifests' args assume ENTRYPOINT [\"cobrowse\"]",
                );
            }
            "HEALTHCHECK" => healthcheck = rest.split_once("CMD ").map(|(_, cmd)| cmd.to_string()),
            _ => {}
        }
    }
    match user.as_deref().map(|u| u.split(':').next().unwrap_or_default().parse::<u32>()) {
        Some(Ok(uid)) if uid != 0 => {}
        _ => problems.add(FILE, format!("the final stage must run as a numeric non-root USER (runAsNonRoot checks a number), not {user:?}")),
    }
    for name in defaults.env.keys().filter(|n| n.starts_with("COBROWSE_")) {
        if !COMMANDS
            .iter()
            .any(|c| cli.command(c).is_some_and(|f| f.env.contains_key(name)))
        {
            problems.add(
                format!("{FILE}: ENV"),
                format!("{name} is not the variable of any flag"),
            );
        }
    }
    let resolve = |args: &[&str], problems: &mut Problems| {
        Container {
            place: format!("{FILE}: the image's CMD and ENV"),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Default::default(),
        }
        .resolve(cli, &defaults, problems)
    };
    let serve = resolve(&[], problems);
    let store = resolve(&["store"], problems);
    if serve.as_ref().is_some_and(|s| s.demo) {
        problems.add(
            FILE,
            "the image turns the demo page on; it records whoever opens it",
        );
    }
    check_exposed(&exposed, serve.as_ref(), store.as_ref(), problems);
    match (healthcheck, &serve) {
        (Some(cmd), Some(serve)) => {
            let argv = json_words(&format!("{FILE}: HEALTHCHECK"), &cmd, problems);
            check_probe_command(
                &format!("{FILE}: HEALTHCHECK"),
                &argv,
                cli,
                serve,
                targets,
                problems,
            );
        }
        (None, _) => problems.add(FILE, "no HEALTHCHECK CMD [\"cobrowse\", \"probe\", URL]"),
        _ => {}
    }
    defaults
}

/// The final stage exposes `serve`'s and `store`'s ports and `serve`'s UDP range, and nothing else.
fn check_exposed(
    exposed: &BTreeSet<String>,
    serve: Option<&Resolved>,
    store: Option<&Resolved>,
    problems: &mut Problems,
) {
    let mut wanted = BTreeSet::new();
    for role in [serve, store].into_iter().flatten() {
        if let Some(listen) = role.listen {
            wanted.insert(format!("{}/tcp", listen.port()));
        }
        if let Some((first, last)) = role.rtc_ports {
            wanted.insert(format!("{first}-{last}/udp"));
        }
    }
    let exposed: BTreeSet<String> = exposed
        .iter()
        .map(|p| {
            if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            }
        })
        .collect();
    if exposed != wanted {
        problems.add(
            FILE,
            format!("EXPOSE {} but the binary listens on {} (serve's and store's --listen, serve's --rtc-ports)",
                exposed.iter().cloned().collect::<Vec<_>>().join(" "),
                wanted.iter().cloned().collect::<Vec<_>>().join(" ")),
        );
    }
}

/// Every `COPY` from the build context names something in the repository that
/// Dockerfile.dockerignore leaves in; the web packages' `../` imports are copied too.
fn check_copies(root: &Path, deploy: &Path, stages: &[Stage], problems: &mut Problems) {
    let ignore =
        std::fs::read_to_string(deploy.join("Dockerfile.dockerignore")).unwrap_or_default();
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for pattern in &patterns {
        let plain = pattern.strip_prefix("**/").unwrap_or(pattern);
        if plain.contains(['*', '?', '[', '!']) || plain.contains('/') {
            problems.add(
                "deploy/Dockerfile.dockerignore",
                format!(
                    "pattern `{pattern}` is beyond what this check understands (NAME, or **/NAME)"
                ),
            );
        }
    }
    let ignored = |path: &str| {
        patterns.iter().any(|p| match p.strip_prefix("**/") {
            Some(name) => path.split('/').any(|part| part == name),
            None => path == *p || path.starts_with(&format!("{p}/")),
        })
    };
    let mut copied = BTreeSet::new();
    for stage in stages {
        for Instruction { keyword, rest } in &stage.instructions {
            if keyword != "COPY" || rest.contains("--from=") {
                continue;
            }
            let words: Vec<&str> = rest
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            for source in &words[..words.len().saturating_sub(1)] {
                let source = source.trim_end_matches('/');
                copied.insert(source.to_string());
                if !root.join(source).exists() {
                    problems.add(
                        FILE,
                        format!("COPY {source}: no such file in the repository"),
                    );
                } else if ignored(source) {
                    problems.add(FILE, format!("COPY {source}: Dockerfile.dockerignore leaves it out of the build context"));
                }
            }
        }
    }
    for package in ["tracker-plugin", "agent-console"] {
        let tsconfig = root.join(package).join("tsconfig.json");
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&tsconfig).unwrap_or_default())
                .unwrap_or_default();
        let outside = config["include"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str()?.strip_prefix("../"));
        for dir in outside {
            if !copied.contains(dir) {
                problems.add(FILE, format!("{package} builds with ../{dir} (its tsconfig.json) but no COPY brings {dir}"));
            }
        }
    }
}

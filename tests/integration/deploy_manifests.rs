//! The deploy files checked against the binary, since no container runtime or cluster runs here:
//! every YAML file under deploy/ parses; the Dockerfile, compose.yaml and deploy/k8s/ run one
//! image (named with a registry and this crate's version, never `:latest`); every flag and
//! `COBROWSE_*` variable they give is one the binary has (read from its `--help`); every port
//! they declare, publish, expose or probe is the one the container listens on; every health
//! check's path answers 2xx on a running `cobrowse serve` or `cobrowse store`; the containers run
//! hardened, with resource limits and a stop that gives the graceful shutdown its time. A problem
//! is reported with its file and field; a second test breaks copies of the files to show the
//! check catches each kind of mistake.

mod compose;
mod container;
mod dockerfile;
mod findings;
mod flags;
mod kube;
mod objects;
mod wiring;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::common::{WAIT, http};
use findings::{Findings, ProbeTarget, Problems};
use flags::Cli;
use yaml::{read_yaml, yaml_files};

/// `cobrowse serve` and `cobrowse store` running on loopback, to ask the health checks' paths.
struct Running {
    urls: BTreeMap<&'static str, String>,
    _children: Vec<Child>,
}

impl Running {
    async fn start() -> Self {
        let mut urls = BTreeMap::new();
        let mut children = Vec::new();
        // Call ports below the ephemeral range, apart from the other tests' (one_binary.rs).
        let serve = [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rtc-ports",
            "31810-31819",
        ];
        let store = ["store", "--listen", "127.0.0.1:0"];
        for (args, says) in [
            (&serve[..], "cobrowse is running at "),
            (&store[..], "s2-lite listening at "),
        ] {
            let mut child = Command::new(env!("CARGO_BIN_EXE_cobrowse"))
                .args(args)
                .env_clear()
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("start the cobrowse binary");
            let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
            let url = tokio::time::timeout(WAIT, async {
                while let Some(line) = lines.next_line().await.expect("read its stdout") {
                    if let Some(url) = line.strip_prefix(says) {
                        return url.trim().to_string();
                    }
                }
                panic!("cobrowse {} exited before saying where it listens", args[0]);
            })
            .await
            .expect("cobrowse starts");
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            urls.insert(args[0], url);
            children.push(child);
        }
        Running {
            urls,
            _children: children,
        }
    }

    /// Each health check's path answers 2xx, and not with the console's page, on the command its
    /// container runs (a 503 is asked again: /readyz is not ready until the session directory has
    /// loaded).
    async fn check_paths(&self, targets: &[ProbeTarget], problems: &mut Problems) {
        for target in targets {
            let url = format!("{}{}", self.urls[target.command.as_str()], target.path);
            let deadline = tokio::time::Instant::now() + WAIT;
            let response = loop {
                let response = http().get(&url).send().await.expect("the server answers");
                if response.status().as_u16() != 503 || tokio::time::Instant::now() > deadline {
                    break response;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            };
            let status = response.status();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !status.is_success() {
                problems.add(
                    &target.place,
                    format!(
                        "path {} answers {status} on `cobrowse {}`",
                        target.path, target.command
                    ),
                );
            } else if content_type.starts_with("text/html") {
                // Paths the server does not route get the console's page, with a 200.
                problems.add(&target.place, format!("path {} is no health endpoint of `cobrowse {}`: it answers with the console's page", target.path, target.command));
            }
        }
    }
}

/// Every problem of the deploy files in `deploy` (the repository's files the Dockerfile copies
/// are looked for under `root`).
async fn check(root: &Path, deploy: &Path, cli: &Cli, running: &Running) -> Vec<String> {
    let mut problems = Problems::default();
    let mut files = Vec::new();
    yaml_files(deploy, &mut files);
    for file in &files {
        let place = format!(
            "deploy/{}",
            file.strip_prefix(deploy).expect("under deploy/").display()
        );
        read_yaml(file, &place, &mut problems);
    }
    let mut found = Findings {
        problems,
        ..Findings::default()
    };
    let image = dockerfile::check(root, deploy, cli, &mut found.targets, &mut found.problems);
    compose::check(deploy, cli, &image, &mut found);
    kube::check(deploy, cli, &image, &mut found);
    found.images.check(&mut found.problems);
    running
        .check_paths(&found.targets, &mut found.problems)
        .await;
    found.problems.0
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn the_deploy_files_match_the_binary() {
    let running = Running::start().await;
    let problems = check(&root(), &root().join("deploy"), &Cli::of_binary(), &running).await;
    assert!(
        problems.is_empty(),
        "the deploy files are wrong:\n{}",
        problems.join("\n")
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Each mistake, made in a copy of deploy/, is reported with its file and what is wrong.
#[tokio::test]
async fn the_deploy_check_catches_broken_files() {
    let running = Running::start().await;
    let cli = Cli::of_binary();
    let scratch = tempfile::tempdir().unwrap();
    let deploy = scratch.path().join("deploy");
    // (file, text, replacement, what the report must say)
    let mistakes = [
        (
            "compose.yaml",
            "image: ${COBROWSE_IMAGE:-ghcr.io/cobrowse/cobrowse:0.1.0}",
            "image: cobrowse:latest",
            "deploy/compose.yaml: service s2: image cobrowse:latest, but",
        ),
        (
            "compose.yaml",
            "condition: service_healthy",
            "condition: service_started",
            "service node-a: depends_on s2 must wait",
        ),
        (
            "compose.yaml",
            "http://127.0.0.1:7071/health",
            "http://127.0.0.1:7070/health",
            "service s2, healthcheck: health check asks port Some(7070)",
        ),
        (
            "compose.yaml",
            "\"--node-id\", \"node-a\"",
            "\"--node\", \"node-a\"",
            "service node-a: `cobrowse serve` has no flag --node",
        ),
        (
            "k8s/cobrowse.yaml",
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: false",
            "cobrowse.yaml: Deployment cobrowse, container cobrowse: securityContext lacks readOnlyRootFilesystem",
        ),
        (
            "k8s/cobrowse.yaml",
            "name: COBROWSE_RTC_PORTS",
            "name: COBROWSE_RTC_PORT",
            "env COBROWSE_RTC_PORT is not the variable",
        ),
        (
            "k8s/cobrowse.yaml",
            "path: /readyz",
            "path: /ready",
            "container cobrowse, readinessProbe: path /ready is no health endpoint of `cobrowse serve`",
        ),
        (
            "k8s/cobrowse.yaml",
            "terminationGracePeriodSeconds: 60",
            "terminationGracePeriodSeconds: 30",
            "terminationGracePeriodSeconds 30 < preStop",
        ),
        (
            "k8s/cobrowse.yaml",
            "containerPort: 7070",
            "containerPort: 8080",
            "containerPort 8080/TCP",
        ),
        (
            "k8s/s2-lite.yaml",
            "limits: {cpu: \"2\", memory: 2Gi}",
            "",
            "container s2-lite: no resources.limits.cpu",
        ),
        (
            "k8s/s2-lite.yaml",
            "clusterIP: None",
            "",
            "StatefulSet cobrowse-s2: spec.serviceName must name a headless Service",
        ),
        (
            "k8s/s2-lite.yaml",
            "path: /health",
            "path: /healthz",
            "container s2-lite, readinessProbe: path /healthz answers 404 Not Found on `cobrowse store`",
        ),
        (
            "k8s/network-policy.yaml",
            "port: 7071",
            "port: 7070",
            "NetworkPolicy cobrowse-s2-only-from-nodes: port Number(7070)",
        ),
        (
            "k8s/ingress.yaml",
            "proxy-buffering: \"off\"",
            "proxy-buffering: \"on\"",
            "Ingress cobrowse: annotation nginx.ingress.kubernetes.io/proxy-buffering",
        ),
        (
            "k8s/kustomization.yaml",
            "  - pdb.yaml\n",
            "",
            "kustomization.yaml: resources does not list pdb.yaml",
        ),
        (
            "k8s/kustomization.yaml",
            "newTag: \"0.1.0\"",
            "newTag: \"0.0.9\"",
            "kustomization.yaml: images makes it ghcr.io/cobrowse/cobrowse:0.0.9",
        ),
        (
            "k8s/secret.example.yaml",
            "project-keys:",
            "projects:",
            "reads key project-keys of Secret cobrowse",
        ),
        (
            "Dockerfile",
            "50000-50199/udp",
            "50000-50099/udp",
            "deploy/Dockerfile: EXPOSE",
        ),
        (
            "Dockerfile",
            "COPY generated generated\n",
            "",
            "agent-console builds with ../generated",
        ),
        (
            "Dockerfile",
            "FROM node:22-bookworm-slim",
            "FROM node:20-bookworm-slim",
            "the web build wants Node 22 or 24",
        ),
        (
            "Dockerfile",
            "USER 65532:65532",
            "USER root",
            "numeric non-root USER",
        ),
        (
            "Dockerfile.dockerignore",
            "tests\n",
            "tests\ndemo\n",
            "COPY demo: Dockerfile.dockerignore leaves it out",
        ),
    ];
    for (file, text, replacement, expected) in mistakes {
        let _ = std::fs::remove_dir_all(&deploy);
        copy_dir(&root().join("deploy"), &deploy);
        let path = deploy.join(file);
        let original = std::fs::read_to_string(&path).unwrap();
        assert!(
            original.contains(text),
            "deploy/{file} no longer contains `{text}`: update this mistake"
        );
        std::fs::write(&path, original.replacen(text, replacement, 1)).unwrap();
        let problems = check(&root(), &deploy, &cli, &running).await;
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "deploy/{file} with `{text}` made `{replacement}`: expected a problem containing `{expected}`, got:\n{}",
            problems.join("\n")
        );
    }
}

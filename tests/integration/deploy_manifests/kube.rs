//! deploy/k8s/: every workload's containers against the binary (flags, variables, ports, probes,
//! security, resources, a graceful stop); how the objects fit together is wiring.rs's.

use std::path::Path;

use serde_norway::Value;

use super::container::{Container, ImageDefaults, check_probe_command};
use super::findings::{Findings, Images, ProbeTarget, Problems};
use super::flags::Cli;
use super::objects::{Object, PodContainer, Port, Workload, selects};
use super::wiring::{
    check_ingress, check_kustomization, check_network_policy, check_secret_keys, check_service,
};
use super::yaml::{at, read_yaml, text};

/// How long `cobrowse serve` may take to stop after SIGTERM: `RunningServer::stop` in
/// src/app/server.rs waits up to 15 s for connections, then 5 s each for the listener, the
/// signals stream and the directory's writer and follower.
const SHUTDOWN_SECS: u64 = 35;

pub fn check(deploy: &Path, cli: &Cli, image: &ImageDefaults, found: &mut Findings) {
    let Findings {
        problems,
        images,
        targets,
    } = found;
    let dir = deploy.join("k8s");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("read deploy/k8s")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|f| f.ends_with(".yaml") || f.ends_with(".yml"))
        .collect();
    files.sort();
    let mut objects = Vec::new();
    let mut kustomization = None;
    for file in &files {
        let place = format!("deploy/k8s/{file}");
        for doc in read_yaml(&dir.join(file), &place, problems) {
            let kind = text(at(&doc, "kind")).unwrap_or_default().to_string();
            if kind == "Kustomization" {
                kustomization = Some(doc);
                continue;
            }
            let name = text(at(&doc, "metadata.name"))
                .unwrap_or_default()
                .to_string();
            if kind.is_empty() || name.is_empty() {
                problems.add(&place, "a document without kind or metadata.name");
            }
            objects.push(Object {
                file: place.clone(),
                kind,
                name,
                doc,
            });
        }
    }
    let workloads: Vec<Workload> = objects
        .iter()
        .filter(|o| matches!(o.kind.as_str(), "Deployment" | "StatefulSet"))
        .map(|o| workload(o, cli, image, images, targets, problems))
        .collect();
    let find = |kind: &str, name: &str| objects.iter().find(|o| o.kind == kind && o.name == name);
    for object in &objects {
        let place = object.place();
        let doc = &object.doc;
        match object.kind.as_str() {
            "Service" => check_service(&place, doc, &workloads, problems),
            "StatefulSet" => {
                let service = text(at(doc, "spec.serviceName")).and_then(|n| find("Service", n));
                match service {
                    Some(s) if text(at(&s.doc, "spec.clusterIP")) == Some("None") => {}
                    _ => problems.add(
                        &place,
                        "spec.serviceName must name a headless Service (clusterIP: None)",
                    ),
                }
            }
            "PodDisruptionBudget" => {
                let selector = at(doc, "spec.selector.matchLabels");
                let Some(target) = workloads.iter().find(|w| selects(selector, w.labels)) else {
                    problems.add(&place, "spec.selector selects no workload");
                    continue;
                };
                let replicas = at(&target.object.doc, "spec.replicas")
                    .as_u64()
                    .unwrap_or(1);
                let max = at(doc, "spec.maxUnavailable");
                let min = at(doc, "spec.minAvailable").as_u64();
                let allows = max.as_u64().is_some_and(|m| m >= 1)
                    || max.is_string()
                    || min.is_some_and(|m| m < replicas);
                if !allows {
                    problems.add(
                        &place,
                        format!("lets no pod of {replicas} go: node drains would never finish"),
                    );
                }
            }
            "NetworkPolicy" => check_network_policy(&place, doc, &workloads, problems),
            "Ingress" => check_ingress(&place, doc, &objects, problems),
            _ => {}
        }
    }
    for w in workloads.iter().filter(|w| w.runs("store")) {
        let guarded = objects.iter().any(|o| {
            o.kind == "NetworkPolicy"
                && selects(at(&o.doc, "spec.podSelector.matchLabels"), w.labels)
        });
        if !guarded {
            problems.add(
                w.object.place(),
                "no NetworkPolicy keeps everything but the cobrowse nodes from the store",
            );
        }
    }
    check_secret_keys(&objects, problems);
    match kustomization {
        Some(k) => check_kustomization(&k, &files, images, problems),
        None => problems.add("deploy/k8s/kustomization.yaml", "missing"),
    }
}

fn workload<'a>(
    object: &'a Object,
    cli: &Cli,
    image: &ImageDefaults,
    images: &mut Images,
    targets: &mut Vec<ProbeTarget>,
    problems: &mut Problems,
) -> Workload<'a> {
    let pod = at(&object.doc, "spec.template.spec");
    let pod_security = at(pod, "securityContext");
    let labels = at(&object.doc, "spec.template.metadata.labels");
    if !selects(at(&object.doc, "spec.selector.matchLabels"), labels) {
        problems.add(
            object.place(),
            "spec.selector.matchLabels does not select its own pod template",
        );
    }
    let mut containers = Vec::new();
    for c in at(pod, "containers").as_sequence().into_iter().flatten() {
        let cname = text(at(c, "name")).unwrap_or_default().to_string();
        let place = format!("{}, container {cname}", object.place());
        images.add(&place, text(at(c, "image")));
        if !at(c, "command").is_null() {
            problems.add(
                &place,
                "`command` replaces the image's entrypoint; give `args`",
            );
        }
        let strings = |v: &Value| -> Vec<String> {
            v.as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|a| text(a).map(str::to_string))
                .collect()
        };
        let env = at(c, "env")
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some((
                    text(at(e, "name"))?.to_string(),
                    text(at(e, "value")).map(str::to_string),
                ))
            })
            .collect();
        let container = Container {
            place: place.clone(),
            args: strings(at(c, "args")),
            env,
        };
        let resolved = container.resolve(cli, image, problems);
        let security = at(c, "securityContext");
        let either = |field: &str| {
            Some(at(security, field))
                .filter(|v| !v.is_null())
                .unwrap_or(at(pod_security, field))
        };
        let mut insecure = Vec::new();
        if either("runAsNonRoot").as_bool() != Some(true) {
            insecure.push("runAsNonRoot: true");
        }
        if either("runAsUser").as_u64().is_none_or(|u| u == 0) {
            insecure.push("runAsUser: a non-zero uid");
        }
        if at(security, "allowPrivilegeEscalation").as_bool() != Some(false) {
            insecure.push("allowPrivilegeEscalation: false");
        }
        let read_only = at(security, "readOnlyRootFilesystem").as_bool() == Some(true);
        if !read_only {
            insecure.push("readOnlyRootFilesystem: true");
        }
        if !strings(at(security, "capabilities.drop"))
            .iter()
            .any(|c| c == "ALL")
        {
            insecure.push("capabilities.drop: [ALL]");
        }
        if !insecure.is_empty() {
            problems.add(
                &place,
                format!("securityContext lacks {}", insecure.join(", ")),
            );
        }
        for field in [
            "requests.cpu",
            "requests.memory",
            "limits.cpu",
            "limits.memory",
        ] {
            if at(at(c, "resources"), field).is_null() {
                problems.add(&place, format!("no resources.{field}"));
            }
        }
        let ports: Vec<Port> = at(c, "ports")
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|p| Port {
                name: text(at(p, "name")).map(str::to_string),
                number: at(p, "containerPort").as_u64().unwrap_or(0),
                protocol: text(at(p, "protocol")).unwrap_or("TCP").to_string(),
            })
            .collect();
        if let Some(r) = &resolved {
            let listen = r.listen.map(|a| u64::from(a.port()));
            for Port {
                number, protocol, ..
            } in &ports
            {
                let fits = match protocol.as_str() {
                    "TCP" => listen == Some(*number),
                    "UDP" => r
                        .rtc_ports
                        .is_some_and(|(a, b)| (u64::from(a)..=u64::from(b)).contains(number)),
                    _ => false,
                };
                if !fits {
                    problems.add(&place, format!("containerPort {number}/{protocol}: `cobrowse {}` listens on {listen:?} (--listen) and UDP {:?} (--rtc-ports)", r.command, r.rtc_ports));
                }
            }
            if !ports
                .iter()
                .any(|p| Some(p.number) == listen && p.protocol == "TCP")
            {
                problems.add(
                    &place,
                    format!("declares no containerPort for its --listen port {listen:?}"),
                );
            }
            if let (Some(dir), true) = (&r.data_dir, read_only) {
                let mounted = at(c, "volumeMounts")
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .any(|m| {
                        let path = text(at(m, "mountPath")).unwrap_or_default();
                        at(m, "readOnly").as_bool() != Some(true)
                            && (dir == path || dir.starts_with(&format!("{path}/")))
                    });
                if !mounted {
                    problems.add(&place, format!("--data-dir {dir} is on the read-only root file system: mount a volume there"));
                }
            }
            if r.demo {
                problems.add(
                    &place,
                    "turns the demo page on; it records whoever opens it",
                );
            }
        }
        let probe_ctx = Workload {
            object,
            labels,
            containers: vec![PodContainer {
                ports: ports.clone(),
                resolved: None,
            }],
        };
        for kind in ["readinessProbe", "livenessProbe", "startupProbe"] {
            let probe = at(c, kind);
            let place = format!("{place}, {kind}");
            if probe.is_null() {
                if kind != "startupProbe" {
                    problems.add(&place, "missing");
                }
                continue;
            }
            let Some(r) = &resolved else { continue };
            let listen = r.listen.map(|a| u64::from(a.port()));
            if let Some(http) = Some(at(probe, "httpGet")).filter(|v| !v.is_null()) {
                if probe_ctx.port(at(http, "port")).map(|(n, _)| n) != listen {
                    problems.add(
                        &place,
                        format!(
                            "port {:?} is not the --listen port {listen:?}",
                            at(http, "port")
                        ),
                    );
                }
                let path = text(at(http, "path")).unwrap_or("/").to_string();
                targets.push(ProbeTarget {
                    place,
                    command: r.command.clone(),
                    path,
                });
            } else if let Some(tcp) = Some(at(probe, "tcpSocket")).filter(|v| !v.is_null()) {
                if probe_ctx.port(at(tcp, "port")).map(|(n, _)| n) != listen {
                    problems.add(
                        &place,
                        format!(
                            "port {:?} is not the --listen port {listen:?}",
                            at(tcp, "port")
                        ),
                    );
                }
            } else {
                let argv = strings(at(probe, "exec.command"));
                check_probe_command(&place, &argv, cli, r, targets, problems);
            }
        }
        if resolved.as_ref().is_some_and(|r| r.command == "serve") {
            check_stop(&place, c, pod, problems);
        }
        containers.push(PodContainer { ports, resolved });
    }
    if containers.is_empty() {
        problems.add(object.place(), "no containers");
    }
    Workload {
        object,
        labels,
        containers,
    }
}

/// A node stops gracefully: its preStop lets the endpoints drop it, and the grace period covers
/// that and the server's own shutdown.
fn check_stop(place: &str, container: &Value, pod: &Value, problems: &mut Problems) {
    let pre_stop = at(container, "lifecycle.preStop");
    let sleep = at(pre_stop, "sleep.seconds").as_u64();
    if sleep.is_none() {
        problems.add(place, "no lifecycle.preStop sleep: the pod stops accepting before the Service and Ingress drop it");
    }
    let grace = at(pod, "terminationGracePeriodSeconds")
        .as_u64()
        .unwrap_or(30);
    let needed = sleep.unwrap_or(0) + SHUTDOWN_SECS;
    if grace < needed {
        problems.add(place, format!("terminationGracePeriodSeconds {grace} < preStop {} s + {SHUTDOWN_SECS} s of graceful shutdown", sleep.unwrap_or(0)));
    }
}

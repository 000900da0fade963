//! How deploy/k8s/'s objects fit together: each Service reaches its pods' ports, the
//! NetworkPolicy lets only the nodes reach the store, the Ingress passes WebSockets and SSE to a
//! real Service port, every Secret key read is in the example Secret, and the kustomization lists
//! every manifest and the one image.

use std::collections::BTreeSet;

use serde_norway::Value;

use super::findings::{Images, Problems};
use super::objects::{Object, Workload, is_example, selects};
use super::yaml::{at, text};

pub fn check_service(place: &str, doc: &Value, workloads: &[Workload], problems: &mut Problems) {
    let selected: Vec<&Workload> = workloads
        .iter()
        .filter(|w| selects(at(doc, "spec.selector"), w.labels))
        .collect();
    if selected.is_empty() {
        problems.add(place, "spec.selector selects no workload's pods");
        return;
    }
    for port in at(doc, "spec.ports").as_sequence().into_iter().flatten() {
        let target = Some(at(port, "targetPort"))
            .filter(|v| !v.is_null())
            .unwrap_or(at(port, "port"));
        let protocol = text(at(port, "protocol")).unwrap_or("TCP");
        for w in &selected {
            match w.port(target) {
                Some((_, p)) if p == protocol => {}
                _ => problems.add(
                    place,
                    format!(
                        "targetPort {target:?}/{protocol} is no containerPort of {}",
                        w.object.place()
                    ),
                ),
            }
        }
    }
}

/// Only the nodes (pods running `serve`) reach the store's port.
pub fn check_network_policy(
    place: &str,
    doc: &Value,
    workloads: &[Workload],
    problems: &mut Problems,
) {
    let guarded: Vec<&Workload> = workloads
        .iter()
        .filter(|w| selects(at(doc, "spec.podSelector.matchLabels"), w.labels))
        .collect();
    if guarded.is_empty() {
        problems.add(place, "spec.podSelector selects no workload");
    }
    let types: Vec<&str> = at(doc, "spec.policyTypes")
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(text)
        .collect();
    if !types.contains(&"Ingress") {
        problems.add(place, "policyTypes lacks Ingress");
    }
    for rule in at(doc, "spec.ingress").as_sequence().into_iter().flatten() {
        let from = at(rule, "from")
            .as_sequence()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if from.is_empty() {
            problems.add(place, "an ingress rule without `from` admits every pod");
        }
        for peer in from.iter().filter(|p| !at(p, "podSelector").is_null()) {
            let admitted: Vec<&Workload> = workloads
                .iter()
                .filter(|w| selects(at(peer, "podSelector.matchLabels"), w.labels))
                .collect();
            if admitted.is_empty() || admitted.iter().any(|w| !w.runs("serve")) {
                problems.add(
                    place,
                    "a `from` podSelector must select the cobrowse nodes and nothing else",
                );
            }
        }
        for port in at(rule, "ports").as_sequence().into_iter().flatten() {
            for w in &guarded {
                if w.port(at(port, "port")).is_none() {
                    problems.add(
                        place,
                        format!(
                            "port {:?} is no containerPort of {}",
                            at(port, "port"),
                            w.object.place()
                        ),
                    );
                }
            }
        }
    }
}

/// ingress-nginx passes WebSockets and Server-Sent Events through: long timeouts, no buffering.
pub fn check_ingress(place: &str, doc: &Value, objects: &[Object], problems: &mut Problems) {
    let annotations = at(doc, "metadata.annotations");
    // Annotation keys have dots: looked up whole, not as a path.
    let nginx = |key: &str| {
        annotations
            .get(format!("nginx.ingress.kubernetes.io/{key}"))
            .and_then(text)
    };
    for key in ["proxy-read-timeout", "proxy-send-timeout"] {
        if nginx(key)
            .and_then(|v| v.parse::<u64>().ok())
            .is_none_or(|s| s < 300)
        {
            problems.add(place, format!("annotation nginx.ingress.kubernetes.io/{key} must be >= 300 (s) for WebSockets and SSE"));
        }
    }
    if nginx("proxy-buffering") != Some("off") {
        problems.add(
            place,
            "annotation nginx.ingress.kubernetes.io/proxy-buffering must be \"off\" (SSE)",
        );
    }
    for rule in at(doc, "spec.rules").as_sequence().into_iter().flatten() {
        for path in at(rule, "http.paths").as_sequence().into_iter().flatten() {
            let service = at(path, "backend.service");
            let name = text(at(service, "name")).unwrap_or_default();
            let Some(target) = objects
                .iter()
                .find(|o| o.kind == "Service" && o.name == name)
            else {
                problems.add(
                    place,
                    format!("backend Service {name} is not in deploy/k8s"),
                );
                continue;
            };
            let ports = at(&target.doc, "spec.ports")
                .as_sequence()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let wanted_name = text(at(service, "port.name"));
            let wanted_number = at(service, "port.number").as_u64();
            let found = ports.iter().any(|p| {
                (wanted_name.is_some() && text(at(p, "name")) == wanted_name)
                    || (wanted_number.is_some() && at(p, "port").as_u64() == wanted_number)
            });
            if !found {
                problems.add(
                    place,
                    format!(
                        "backend port {:?} is not a port of Service {name}",
                        at(service, "port")
                    ),
                );
            }
        }
    }
}

/// Every `secretKeyRef` names a key the Secret in deploy/k8s holds.
pub fn check_secret_keys(objects: &[Object], problems: &mut Problems) {
    for object in objects {
        let containers = at(&object.doc, "spec.template.spec.containers")
            .as_sequence()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for env in containers.iter().flat_map(|c| {
            at(c, "env")
                .as_sequence()
                .map(Vec::as_slice)
                .unwrap_or_default()
        }) {
            let reference = at(env, "valueFrom.secretKeyRef");
            let (Some(name), Some(key)) = (text(at(reference, "name")), text(at(reference, "key")))
            else {
                continue;
            };
            let held = objects
                .iter()
                .filter(|o| o.kind == "Secret" && o.name == name)
                .any(|s| {
                    !at(at(&s.doc, "stringData"), key).is_null()
                        || !at(at(&s.doc, "data"), key).is_null()
                });
            if !held {
                problems.add(object.place(), format!("env {:?} reads key {key} of Secret {name}, which no Secret in deploy/k8s holds", at(env, "name")));
            }
        }
    }
}

pub fn check_kustomization(
    doc: &Value,
    files: &[String],
    images: &Images,
    problems: &mut Problems,
) {
    let place = "deploy/k8s/kustomization.yaml";
    if text(at(doc, "namespace")).is_none_or(str::is_empty) {
        problems.add(place, "no namespace");
    }
    let listed: BTreeSet<&str> = at(doc, "resources")
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(text)
        .collect();
    let applied: BTreeSet<&str> = files
        .iter()
        .map(String::as_str)
        .filter(|f| *f != "kustomization.yaml" && !is_example(f))
        .collect();
    for missing in applied.difference(&listed) {
        problems.add(place, format!("resources does not list {missing}"));
    }
    for extra in listed.difference(&applied) {
        problems.add(
            place,
            format!("resources lists {extra}, which is not a manifest in deploy/k8s"),
        );
    }
    let Some(canonical) = images.canonical() else {
        return;
    };
    let (repository, tag) = canonical.rsplit_once(':').unwrap_or((canonical, ""));
    let entries = at(doc, "images")
        .as_sequence()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let entry = entries
        .iter()
        .find(|e| text(at(e, "name")) == Some(repository));
    match entry {
        None => problems.add(
            place,
            format!("images has no entry named {repository}, the manifests' image"),
        ),
        Some(e) => {
            let name = text(at(e, "newName")).unwrap_or(repository);
            let new_tag = text(at(e, "newTag")).unwrap_or(tag);
            if format!("{name}:{new_tag}") != canonical {
                problems.add(
                    place,
                    format!(
                        "images makes it {name}:{new_tag}, not {canonical} as compose.yaml runs"
                    ),
                );
            }
        }
    }
}

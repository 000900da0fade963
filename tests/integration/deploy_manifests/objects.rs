//! deploy/k8s/'s objects as the checks see them: a document with its kind and name, and a
//! workload's pods with the ports and settings of their containers.

use serde_norway::Value;

use super::container::Resolved;

/// The files not applied as they are (kustomization.yaml leaves them out).
pub fn is_example(file: &str) -> bool {
    file.ends_with(".example.yaml")
}

pub struct Object {
    pub file: String,
    pub kind: String,
    pub name: String,
    pub doc: Value,
}

impl Object {
    pub fn place(&self) -> String {
        format!("{}: {} {}", self.file, self.kind, self.name)
    }
}

/// A `containerPort`.
#[derive(Clone)]
pub struct Port {
    pub name: Option<String>,
    pub number: u64,
    pub protocol: String,
}

/// A container of a workload's pods: its ports and what it runs.
pub struct PodContainer {
    pub ports: Vec<Port>,
    pub resolved: Option<Resolved>,
}

/// A Deployment's or StatefulSet's pods.
pub struct Workload<'a> {
    pub object: &'a Object,
    pub labels: &'a Value,
    pub containers: Vec<PodContainer>,
}

impl Workload<'_> {
    pub fn runs(&self, command: &str) -> bool {
        self.containers
            .iter()
            .any(|c| c.resolved.as_ref().is_some_and(|r| r.command == command))
    }

    /// The container port a Service or probe names: by name, or by number.
    pub fn port(&self, wanted: &Value) -> Option<(u64, String)> {
        self.containers.iter().flat_map(|c| &c.ports).find_map(
            |Port {
                 name,
                 number,
                 protocol,
             }| {
                let hit = match wanted {
                    Value::String(w) => name.as_deref() == Some(w.as_str()),
                    Value::Number(n) => n.as_u64() == Some(*number),
                    _ => false,
                };
                hit.then(|| (*number, protocol.clone()))
            },
        )
    }
}

/// Every `k: v` of `selector` is among `labels`.
pub fn selects(selector: &Value, labels: &Value) -> bool {
    let Some(selector) = selector.as_mapping() else {
        return false;
    };
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

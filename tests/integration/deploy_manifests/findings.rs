//! What the checks find: the problems, the images containers run, and the health checks' targets
//! to ask the running binary.

use std::fmt::Display;

/// What is wrong, each as `FILE: WHERE: WHAT`.
#[derive(Default)]
pub struct Problems(pub Vec<String>);

impl Problems {
    pub fn add(&mut self, place: impl Display, what: impl Display) {
        self.0.push(format!("{place}: {what}"));
    }
}

/// What the checks find: problems, the images containers run, the health checks' targets.
#[derive(Default)]
pub struct Findings {
    pub problems: Problems,
    pub images: Images,
    pub targets: Vec<ProbeTarget>,
}

/// Every image a container runs, and where.
#[derive(Default)]
pub struct Images(Vec<(String, Option<String>)>);

impl Images {
    pub fn add(&mut self, place: &str, image: Option<&str>) {
        self.0.push((place.to_string(), image.map(str::to_string)));
    }

    /// The one most containers run, which all must run.
    pub fn canonical(&self) -> Option<&str> {
        let named = self.0.iter().filter_map(|(_, image)| image.as_deref());
        let count = |image: &str| named.clone().filter(|i| *i == image).count();
        named
            .clone()
            .reduce(|a, b| if count(b) > count(a) { b } else { a })
    }

    pub fn check(&self, problems: &mut Problems) {
        let Some(canonical) = self.canonical() else {
            problems.add("deploy/", "no container names an image");
            return;
        };
        let (first, _) = self
            .0
            .iter()
            .find(|(_, i)| i.as_deref() == Some(canonical))
            .expect("canonical is named");
        let (repository, tag) = canonical.rsplit_once(':').unwrap_or((canonical, ""));
        let registry = repository.split('/').next().unwrap_or_default();
        if !repository.contains('/') || !(registry.contains('.') || registry.contains(':')) {
            problems.add(
                first,
                format!("image {canonical} names no registry host; a cluster cannot pull it"),
            );
        }
        if tag != env!("CARGO_PKG_VERSION") {
            problems.add(
                first,
                format!(
                    "image {canonical} is not tagged with this release, {} (and never :latest)",
                    env!("CARGO_PKG_VERSION")
                ),
            );
        }
        for (place, image) in &self.0 {
            if image.as_deref() != Some(canonical) {
                let image = image.as_deref().unwrap_or("none");
                problems.add(place, format!("image {image}, but {first} and most others run {canonical}: one image everywhere"));
            }
        }
    }
}

/// A health check's target: `path` on the port of a `command` container.
pub struct ProbeTarget {
    pub place: String,
    pub command: String,
    pub path: String,
}

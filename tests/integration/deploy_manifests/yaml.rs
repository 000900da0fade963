//! Reading the YAML files: every document of a file, and values by their dotted path.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_norway::Value;

use super::findings::Problems;

static NULL: Value = Value::Null;

/// The value at a dotted path (`spec.template.spec`), or null.
pub fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .try_fold(value, |v, key| v.get(key))
        .unwrap_or(&NULL)
}

pub fn text(value: &Value) -> Option<&str> {
    value.as_str()
}

/// Every document of a YAML file, with `<<` merge keys applied.
pub fn read_yaml(path: &Path, place: &str, problems: &mut Problems) -> Vec<Value> {
    let source = match std::fs::read_to_string(path) {
        Ok(source) => source,
        Err(e) => {
            problems.add(place, format!("cannot read: {e}"));
            return Vec::new();
        }
    };
    let mut docs = Vec::new();
    for document in serde_norway::Deserializer::from_str(&source) {
        match Value::deserialize(document).and_then(|mut v| v.apply_merge().map(|()| v)) {
            Ok(Value::Null) => {}
            Ok(value) => docs.push(value),
            Err(e) => problems.add(place, format!("not valid YAML: {e}")),
        }
    }
    docs
}

pub fn yaml_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a deploy/ folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            yaml_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            found.push(path);
        }
    }
}

//! The web parts the server serves: the agent console at `/`, the tracker bundle at
//! `/tracker.js`, the demo site at `/demo/`. The binary carries them (built by build.rs, embedded
//! here), so `cobrowse serve` serves all of it from any directory with nothing beside it;
//! `--web-root DIR` serves them from a checkout instead (`DIR/agent-console/dist`, …), for
//! working on them without rebuilding the server.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};
use tracing::warn;

static CONSOLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/agent-console/dist");
static TRACKER: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/tracker-plugin/dist");
static DEMO: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/demo");

/// The tracker bundle's file name in `tracker-plugin/dist`.
const TRACKER_BUNDLE: &str = "cobrowse-tracker.js";

/// Where the web parts come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WebRoot {
    /// The files built into the binary.
    #[default]
    Embedded,
    /// A checkout: `agent-console/dist`, `tracker-plugin/dist`, `demo` under it.
    Folder(PathBuf),
}

/// One tree of files: embedded, or a folder on disk.
#[derive(Debug, Clone)]
pub enum Files {
    Embedded(&'static Dir<'static>),
    Folder(PathBuf),
}

/// The three trees the server serves.
#[derive(Debug, Clone)]
pub struct WebParts {
    pub console: Files,
    pub tracker: Files,
    pub demo: Files,
}

impl WebParts {
    pub fn new(root: &WebRoot) -> Self {
        let parts = match root {
            WebRoot::Embedded => WebParts {
                console: Files::Embedded(&CONSOLE),
                tracker: Files::Embedded(&TRACKER),
                demo: Files::Embedded(&DEMO),
            },
            WebRoot::Folder(dir) => WebParts {
                console: Files::Folder(dir.join("agent-console/dist")),
                tracker: Files::Folder(dir.join("tracker-plugin/dist")),
                demo: Files::Folder(dir.join("demo")),
            },
        };
        for (part, files, file, build) in [
            (
                "agent console",
                &parts.console,
                "index.html",
                "agent-console",
            ),
            (
                "tracker bundle",
                &parts.tracker,
                TRACKER_BUNDLE,
                "tracker-plugin",
            ),
        ] {
            if !files.has(file) {
                let hint = match root {
                    WebRoot::Embedded => {
                        "this binary was built without it (COBROWSE_SKIP_WEB_BUILD): pass --web-root"
                    }
                    WebRoot::Folder(_) => "build it with `npm ci && npm run build`",
                };
                warn!(%build, "{part} not found: {hint}");
            }
        }
        parts
    }
}

impl Files {
    fn has(&self, path: &str) -> bool {
        match self {
            Files::Embedded(dir) => dir.get_file(path).is_some(),
            Files::Folder(root) => safe_join(root, path).is_some_and(|p| p.is_file()),
        }
    }

    /// The file at `path` (relative, `/`-separated), if there is one. A path that climbs out of
    /// the tree (`..`) or names a folder is none.
    async fn read(&self, path: &str) -> Option<Body> {
        match self {
            Files::Embedded(dir) => dir.get_file(path).map(|file| Body::from(file.contents())),
            Files::Folder(root) => {
                let full = safe_join(root, path)?;
                tokio::fs::read(full).await.ok().map(Body::from)
            }
        }
    }

    /// Answers `path`: the file with its type, cached for a year when its name carries its
    /// content's hash (Vite's `assets/`), revalidated otherwise; 404 if missing.
    pub async fn serve(&self, path: &str) -> Response {
        self.serve_or(path, None).await
    }

    /// As [`Files::serve`], but a missing file is answered with `fallback` (a single-page app's
    /// `index.html`).
    pub async fn serve_or(&self, path: &str, fallback: Option<&str>) -> Response {
        let path = path.trim_start_matches('/');
        let path = if path.is_empty() || path.ends_with('/') {
            format!("{path}index.html")
        } else {
            path.to_string()
        };
        let (found, body) = match self.read(&path).await {
            Some(body) => (path, body),
            None => match fallback {
                Some(fallback) => match self.read(fallback).await {
                    Some(body) => (fallback.to_string(), body),
                    None => return not_found(),
                },
                None => return not_found(),
            },
        };
        let mime = mime_guess::from_path(&found).first_or_octet_stream();
        let cache = if found.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(mime.essence_str()) {
            headers.insert(header::CONTENT_TYPE, value);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        response
    }

    /// The tracker bundle.
    pub async fn tracker_bundle(&self) -> Response {
        self.serve(TRACKER_BUNDLE).await
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// `root/path` if every part of `path` is a plain name (no `..`, no root, no prefix).
fn safe_join(root: &Path, path: &str) -> Option<PathBuf> {
    let relative = Path::new(path);
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_path_climbs_out_of_its_folder() {
        let root = Path::new("/srv/web");
        assert_eq!(
            safe_join(root, "assets/app.js"),
            Some(PathBuf::from("/srv/web/assets/app.js"))
        );
        for bad in ["../etc/passwd", "assets/../../x", "/etc/passwd", "a/./../b"] {
            assert_eq!(safe_join(root, bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn a_folder_serves_its_files_with_their_type_and_falls_back_for_the_app() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("index.html"), "<!doctype html>").unwrap();
        std::fs::write(dir.path().join("assets/app-1a2b.js"), "export {}").unwrap();
        let files = Files::Folder(dir.path().to_path_buf());
        let js = files.serve("/assets/app-1a2b.js").await;
        assert_eq!(js.status(), StatusCode::OK);
        assert_eq!(js.headers()[header::CONTENT_TYPE], "text/javascript");
        assert!(
            js.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let index = files.serve_or("/sessions/abc", Some("index.html")).await;
        assert_eq!(index.status(), StatusCode::OK);
        assert_eq!(index.headers()[header::CONTENT_TYPE], "text/html");
        assert_eq!(index.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(
            files.serve("/missing.js").await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            files.serve("/../secret").await.status(),
            StatusCode::NOT_FOUND
        );
    }
}

//! Builds the web parts the binary carries (the agent console and the tracker bundle) when their
//! sources changed, so that `cargo build` alone produces a binary that serves everything
//! (src/app/web.rs embeds `agent-console/dist`, `tracker-plugin/dist` and `demo/`).
//!
//! Node 20 and npm are needed for that. Without them a build still succeeds when both `dist/`
//! folders exist (built earlier, or copied in); otherwise it stops and says what to install.
//! `COBROWSE_SKIP_WEB_BUILD=1` uses the `dist/` folders as they are (empty ones if missing): the
//! binary then needs `--web-root`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The web packages, each built with `npm run build` into its `dist/`.
const PACKAGES: [&str; 2] = ["tracker-plugin", "agent-console"];
/// What a package's build reads, besides `node_modules`.
const SOURCES: [&str; 10] = [
    "src",
    "index.html",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "tsconfig.types.json",
    "vite.config.ts",
    "vite.config.mts",
    "public",
    "scripts",
];

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-env-changed=COBROWSE_SKIP_WEB_BUILD");
    println!("cargo:rerun-if-changed=demo");
    for package in PACKAGES {
        for source in SOURCES {
            let path = root.join(package).join(source);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    let skip = std::env::var("COBROWSE_SKIP_WEB_BUILD").is_ok_and(|v| v == "1");
    for package in PACKAGES {
        let dir = root.join(package);
        let dist = dir.join("dist");
        if skip {
            std::fs::create_dir_all(&dist).expect("create an empty dist/");
            continue;
        }
        if let Err(why) = build(&dir) {
            if dist.join(".").exists() && has_files(&dist) {
                println!(
                    "cargo:warning=kept the existing {package}/dist: {why} (the binary serves it as it is)"
                );
            } else {
                panic!(
                    "\n\nbuilding {package}/ failed: {why}\n\
                     The binary carries the agent console and the tracker bundle, built with Node 20 \
                     and npm: install them (https://nodejs.org) and build again, or set \
                     COBROWSE_SKIP_WEB_BUILD=1 to build a binary without them (it then needs \
                     --web-root).\n"
                );
            }
        }
    }
}

fn has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// `npm ci` if the package has no `node_modules`, then `npm run build`.
fn build(dir: &Path) -> Result<(), String> {
    let npm = |args: &[&str]| -> Result<(), String> {
        let status = Command::new("npm")
            .args(args)
            .current_dir(dir)
            .status()
            .map_err(|e| format!("cannot run npm ({e}); is Node 20 installed?"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`npm {}` failed ({status})", args.join(" ")))
        }
    };
    if !dir.join("node_modules").exists() {
        npm(&["ci", "--no-audit", "--no-fund", "--loglevel=error"])?;
    }
    npm(&["run", "build", "--silent"])
}

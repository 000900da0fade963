//! `--agent-tokens-file`: static agent tokens in a file, one `NAME:SECRET:ROLE[:PROJECTS]` a line
//! (`#` starts a comment), re-read when it changes so tokens are added, rotated and revoked
//! without a restart. The file is polled (its modification time and length, once a second), which
//! works alike on every filesystem and across a Kubernetes Secret's symlink swap. A file that does
//! not parse leaves the tokens in force as they were, and says which line is wrong.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::AgentGate;
use super::tokens::{AgentTokens, BadToken, StaticToken};

/// How often the file's metadata is looked at.
pub const POLL: Duration = Duration::from_secs(1);
/// A token file larger than this is refused: it is a mistake, not a list of agents.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("cannot read the agent tokens file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the agent tokens file {path} is over {MAX_FILE_BYTES} bytes")]
    TooBig { path: PathBuf },
    #[error("{path}, line {line}: {source}")]
    Line {
        path: PathBuf,
        line: usize,
        source: BadToken,
    },
}

/// The tokens of the file at `path`: every line but blank ones and comments.
pub fn read(path: &Path) -> Result<Vec<StaticToken>, TokenFileError> {
    let read_error = |source| TokenFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    if std::fs::metadata(path).map_err(read_error)?.len() > MAX_FILE_BYTES {
        return Err(TokenFileError::TooBig {
            path: path.to_path_buf(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(read_error)?;
    parse(path, &text)
}

fn parse(path: &Path, text: &str) -> Result<Vec<StaticToken>, TokenFileError> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(line, token)| {
            token.parse().map_err(|source| TokenFileError::Line {
                path: path.to_path_buf(),
                line,
                source,
            })
        })
        .collect()
}

/// What tells a changed file from the one read last.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Re-reads `path` whenever it changes, until `shutdown`, and puts its tokens and `fixed` (those
/// given on the command line) in force at `gate`. The file was read once already at start-up.
pub fn follow(
    path: PathBuf,
    fixed: Vec<StaticToken>,
    gate: Arc<AgentGate>,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        let mut last = stamp(&path);
        let mut tick = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let now = stamp(&path);
            if now == last {
                continue;
            }
            last = now;
            let path = path.clone();
            match tokio::task::spawn_blocking(move || read(&path)).await {
                Ok(Ok(tokens)) => {
                    let count = tokens.len();
                    gate.replace_tokens(AgentTokens::new(fixed.iter().cloned().chain(tokens)));
                    info!(tokens = count, "agent tokens file re-read");
                }
                Ok(Err(e)) => {
                    error!(error = %e, "agent tokens file not applied: the tokens in force stay as they were");
                }
                Err(e) => error!(error = %e, "reading the agent tokens file failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Role;

    #[test]
    fn a_token_file_has_one_token_a_line_and_comments() {
        let tokens = parse(
            Path::new("tokens"),
            "# agents\n\nalice:pw-a:admin\n  bob:pw-b:helper:shop-a,shop-b\ncarol:pw-c\n",
        )
        .unwrap();
        let roles: Vec<Role> = tokens.iter().map(|t| t.role).collect();
        assert_eq!(roles, vec![Role::Admin, Role::Helper, Role::Viewer]);
    }

    #[test]
    fn a_bad_line_is_named_by_its_number_without_its_secret() {
        let error = parse(Path::new("/etc/cobrowse/tokens"), "alice:pw:admin\n\nbob\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("/etc/cobrowse/tokens, line 3: agent token 'bob…'"),
            "{error}"
        );
    }
}

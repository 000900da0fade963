//! The node's secret when the operator gave none. It signs what a node must recognise after a
//! restart (the session directory's records, session tokens), so a random one is only right for
//! a store that does not outlive the process: with `--data-dir` the secret is kept beside the
//! data, and a bucket, which any replacement process on any machine may open, needs `--secret`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::server::random_secret;

/// The file under `--data-dir` that keeps a generated secret.
pub const SECRET_FILE: &str = "cobrowse-secret";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "--bucket needs --secret (COBROWSE_SECRET): the session directory in the bucket is signed \
         with it, so a restarted or replacement node with another secret would list no sessions"
    )]
    BucketWithoutSecret,
    #[error("cannot keep the generated secret in {path}: {source}; give --secret instead")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is empty; delete it to have a new secret generated, or give --secret")]
    Empty(PathBuf),
}

/// The secret to use: the given one; else the one kept under `data_dir` (generated and written
/// there, readable by the owner only, the first time); else, for a store in memory or elsewhere,
/// a random one.
pub fn resolve(
    given: Option<String>,
    data_dir: Option<&Path>,
    bucket: bool,
) -> Result<String, SecretError> {
    if let Some(secret) = given {
        return Ok(secret);
    }
    if bucket {
        return Err(SecretError::BucketWithoutSecret);
    }
    match data_dir {
        Some(dir) => kept_in(dir),
        None => Ok(random_secret()),
    }
}

fn kept_in(dir: &Path) -> Result<String, SecretError> {
    let path = dir.join(SECRET_FILE);
    let failed = |source| SecretError::File {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().is_empty() => Err(SecretError::Empty(path)),
        Ok(text) => Ok(text.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(failed)?;
            let secret = random_secret();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path).map_err(failed)?;
            file.write_all(secret.as_bytes()).map_err(failed)?;
            file.sync_all().map_err(failed)?;
            Ok(secret)
        }
        Err(e) => Err(failed(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_secret_wins() {
        let dir = tempfile::tempdir().unwrap();
        let secret = resolve(Some("given".into()), Some(dir.path()), true).unwrap();
        assert_eq!(secret, "given");
        assert!(!dir.path().join(SECRET_FILE).exists());
    }

    #[test]
    fn a_data_dir_keeps_the_generated_secret_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = resolve(None, Some(&data), false).unwrap();
        let second = resolve(None, Some(&data), false).unwrap();
        assert_eq!(first, second);
        assert!(first.len() >= 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.join(SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_bucket_without_a_secret_is_refused_with_what_to_do() {
        let error = resolve(None, None, true).unwrap_err();
        assert!(error.to_string().contains("--secret"));
    }

    #[test]
    fn an_emptied_secret_file_is_not_taken_for_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SECRET_FILE), "\n").unwrap();
        assert!(matches!(
            resolve(None, Some(dir.path()), false),
            Err(SecretError::Empty(_))
        ));
    }

    #[test]
    fn without_a_durable_store_each_start_gets_a_new_secret() {
        assert_ne!(
            resolve(None, None, false).unwrap(),
            resolve(None, None, false).unwrap()
        );
    }
}

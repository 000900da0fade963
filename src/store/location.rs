//! Where the embedded store keeps its data: in memory, in a directory, or in an S3-compatible
//! bucket, so a `cobrowse store` can run without a volume to re-attach.
//!
//! The bucket is reached the way s2-lite's own server reaches it (its `init_object_store`, private
//! to its binary): `object_store`'s `AmazonS3Builder::from_env`, which reads the standard
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`) and the other `AWS_*` settings it knows, with
//! plain-HTTP endpoints (MinIO, a local test server) allowed when the endpoint says `http://`.
//! Without keys in the environment it falls back to the instance's or pod's role (IMDS, web
//! identity, ECS), as `object_store` does.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use slatedb::object_store::{self, ObjectStore};

/// A bucket and the prefix of the store's objects in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub name: String,
    /// Prefix of every object the store writes (`""`: the bucket's root). Two stores on one
    /// bucket need different prefixes.
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreLocation {
    #[default]
    Memory,
    /// A directory on this host, fsynced.
    Dir(PathBuf),
    Bucket(Bucket),
}

#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    #[error("cannot use --data-dir {dir}: {source}")]
    DataDir {
        dir: String,
        source: object_store::Error,
    },
    #[error("cannot create --data-dir {dir}: {source}")]
    CreateDir { dir: String, source: std::io::Error },
    #[error(
        "cannot use --bucket {bucket}: {source} (the AWS_* variables give its credentials, region and endpoint)"
    )]
    Bucket {
        bucket: String,
        source: object_store::Error,
    },
}

impl StoreLocation {
    /// From the flags: a bucket if one is named, else a directory if one is given, else memory.
    pub fn new(data_dir: Option<PathBuf>, bucket: Option<Bucket>) -> Self {
        match (bucket, data_dir) {
            (Some(bucket), _) => Self::Bucket(bucket),
            (None, Some(dir)) => Self::Dir(dir),
            (None, None) => Self::Memory,
        }
    }

    pub fn is_durable(&self) -> bool {
        !matches!(self, Self::Memory)
    }

    /// The prefix SlateDB keeps its database under.
    pub fn db_path(&self) -> &str {
        match self {
            Self::Bucket(bucket) => &bucket.path,
            Self::Memory | Self::Dir(_) => "",
        }
    }

    /// How often SlateDB flushes its write-ahead log (an append is acknowledged after the flush):
    /// s2-lite's defaults, 5 ms on a disk or in memory, 50 ms on a bucket, where every flush is a
    /// billed PUT.
    pub fn flush_interval(&self) -> Duration {
        Duration::from_millis(match self {
            Self::Bucket(_) => 50,
            Self::Memory | Self::Dir(_) => 5,
        })
    }

    pub fn object_store(&self) -> Result<Arc<dyn ObjectStore>, LocationError> {
        Ok(match self {
            Self::Memory => Arc::new(object_store::memory::InMemory::new()),
            Self::Dir(dir) => {
                let shown = || dir.display().to_string();
                std::fs::create_dir_all(dir).map_err(|source| LocationError::CreateDir {
                    dir: shown(),
                    source,
                })?;
                let local = object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(
                    |source| LocationError::DataDir {
                        dir: shown(),
                        source,
                    },
                )?;
                // An acknowledged append must survive a crash of the host.
                Arc::new(local.with_fsync(true))
            }
            Self::Bucket(bucket) => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env();
                let endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
                    .into_iter()
                    .find_map(|name| std::env::var(name).ok());
                if endpoint.is_some_and(|e| e.starts_with("http://")) {
                    builder = builder.with_allow_http(true);
                }
                let s3 = builder
                    .with_bucket_name(&bucket.name)
                    .build()
                    .map_err(|source| LocationError::Bucket {
                        bucket: bucket.name.clone(),
                        source,
                    })?;
                Arc::new(s3)
            }
        })
    }
}

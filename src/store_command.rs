//! `cobrowse store`: s2-lite on its own, for several `serve` processes to share, keeping its data
//! in memory, in a directory or in an S3-compatible bucket; and the bucket flags `serve` shares
//! for its embedded store.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use cobrowse::store::embedded::EmbeddedS2;
use cobrowse::store::location::{Bucket, StoreLocation};

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Address for the store's S2 API (HTTP/2, plain text).
    #[arg(long, env = "COBROWSE_STORE_LISTEN", default_value = "127.0.0.1:7071")]
    pub listen: SocketAddr,
    /// Keep data durably in this directory (default: in memory).
    #[arg(long, env = "COBROWSE_DATA_DIR", conflicts_with = "bucket")]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub bucket: BucketArgs,
}

#[derive(Debug, Args)]
pub struct BucketArgs {
    /// Keep the store's data in this S3-compatible bucket; credentials, region and endpoint come
    /// from the usual AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL.
    #[arg(long, env = "COBROWSE_BUCKET")]
    pub bucket: Option<String>,
    /// Prefix of the store's objects in --bucket (default: the bucket's root).
    #[arg(
        long,
        env = "COBROWSE_BUCKET_PATH",
        default_value = "",
        requires = "bucket"
    )]
    pub path: String,
}

impl BucketArgs {
    pub fn into_bucket(self) -> Option<Bucket> {
        let path = self.path;
        self.bucket.map(|name| Bucket { name, path })
    }
}

pub async fn run(args: StoreArgs) -> anyhow::Result<()> {
    let location = StoreLocation::new(args.data_dir, args.bucket.into_bucket());
    let store = EmbeddedS2::start(&location, args.listen).await?;
    // Tests and scripts read this line for the endpoint.
    println!("s2-lite listening at {}", store.endpoint());
    crate::shutdown_signal().await;
    store.close().await;
    Ok(())
}

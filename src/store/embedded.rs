//! The embedded store: s2-lite running inside this process, so `cobrowse serve` needs nothing
//! else. `serve` calls its engine directly ([`EmbeddedEngine`], through
//! [`crate::store::lite::LiteBackend`]); `cobrowse store` and the multi-node tests serve it over
//! HTTP/2 on a listener of its own ([`EmbeddedS2`]) for other processes' s2-sdk clients.

use std::net::SocketAddr;
use std::time::Duration;

use axum::serve::ListenerExt;
use bytesize::ByteSize;
use s2_lite::backend::Backend;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::store::location::{LocationError, StoreLocation};

const INFLIGHT_BYTES: u64 = 128 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(transparent)]
    Location(#[from] LocationError),
    #[error("cannot open the embedded store: {0}")]
    Open(#[from] slatedb::Error),
    #[error("cannot listen on {addr} for the embedded store: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// s2-lite's engine in this process, with its background tasks running.
pub struct EmbeddedEngine {
    backend: Backend,
    durable: bool,
}

impl EmbeddedEngine {
    /// Opens the store where `location` says.
    pub async fn open(location: &StoreLocation) -> Result<Self, EmbeddedError> {
        // s2-lite's server reads the same `SL8_*` overrides of SlateDB's settings.
        let settings = slatedb::Settings::from_env_with_default(
            "SL8_",
            slatedb::Settings {
                flush_interval: Some(location.flush_interval()),
                ..Default::default()
            },
        )?;
        let fence_wait = settings.manifest_poll_interval;
        let db = slatedb::Db::builder(location.db_path(), location.object_store()?)
            .with_settings(settings)
            .build()
            .await?;
        if let StoreLocation::Bucket(_) = location {
            // As s2-lite's server does: a store started while the previous one on the bucket
            // still runs (a rolling restart) waits until that one has seen it is fenced out.
            tokio::time::sleep(fence_wait).await;
        }
        let backend = Backend::new(db, ByteSize::b(INFLIGHT_BYTES));
        s2_lite::backend::bgtasks::spawn(&backend);
        Ok(Self {
            backend,
            durable: location.is_durable(),
        })
    }

    /// The engine, to call directly.
    pub fn backend(&self) -> Backend {
        self.backend.clone()
    }

    /// Closes the database, flushing what it holds.
    pub async fn close(self) {
        if let Err(e) = self.backend.close().await {
            warn!(error = %e, "closing the embedded store failed");
        }
    }
}

/// The embedded store served over HTTP/2 on a loopback listener, for s2-sdk clients.
pub struct EmbeddedS2 {
    addr: SocketAddr,
    engine: EmbeddedEngine,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl EmbeddedS2 {
    /// Opens the store where `location` says and serves it on `listen`.
    pub async fn start(
        location: &StoreLocation,
        listen: SocketAddr,
    ) -> Result<Self, EmbeddedError> {
        let engine = EmbeddedEngine::open(location).await?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| EmbeddedError::Listen {
                addr: listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmbeddedError::Listen {
                addr: listen,
                source,
            })?;
        // Without TCP_NODELAY every append waits out Nagle's algorithm (~40 ms).
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                warn!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let app = s2_lite::handlers::router().with_state(engine.backend());
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await });
            if let Err(e) = serve.await {
                warn!(error = %e, "embedded store server stopped");
            }
        });
        info!(%addr, durable = engine.durable, "embedded s2-lite started");
        Ok(Self {
            addr,
            engine,
            stop,
            task,
        })
    }

    /// The endpoint to give the S2 client.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and closes the database, flushing what it holds.
    pub async fn close(self) {
        self.stop.cancel();
        if tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .is_err()
        {
            warn!("embedded store did not stop its connections within 5 s");
        }
        self.engine.close().await;
    }
}

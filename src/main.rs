//! The `cobrowse` binary: the command line around the library's server. This file parses the
//! command, sets up logging and turns Ctrl-C/SIGTERM into a graceful stop; the flags ([`args`]),
//! the `sessions` client ([`sessions`]) and the load tool ([`load`]) are the binary's own modules,
//! so the library carries the server alone.

mod args;
mod load;
mod probe;
mod sessions;
mod store_command;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Command, ServeArgs};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The load tool's call peers log through the WebRTC crates, which say a lot at INFO.
    let quiet_webrtc = matches!(cli.command, Command::Load(_) | Command::Relay(_));
    init_logging(&cli.log_format, quiet_webrtc);
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Store(args) => store_command::run(args).await,
        Command::Sessions(args) => Ok(sessions::run(args).await?),
        Command::Probe(args) => probe::run(args).await,
        Command::Load(args) => Ok(load::run_command(args).await?),
        Command::Relay(args) => {
            load::open_files::raise();
            let relay = load::relay::Relay::start(args.listen)
                .await
                .context("starting the relay")?;
            // `load --baseline` reads this line for the URL.
            println!("baseline relay listening at {}", relay.url());
            shutdown_signal().await;
            relay.stop();
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let (config, generated) = args.into_config()?;
    let demo = config.demo;
    let server = cobrowse::app::server::start(config)
        .await
        .context("starting the server")?;
    let url = server.url();
    println!("cobrowse is running at {url}");
    println!("  agent console: {url}/");
    if demo {
        println!("  demo page to record: {url}/demo/");
    }
    if let Some(addr) = server.metrics_addr {
        println!("  metrics: http://{addr}/metrics");
    }
    if let Some(token) = generated {
        println!(
            "  agent token (generated, an admin; choose your own with --agent-token NAME:SECRET:ROLE): {token}"
        );
    }
    println!("stop with Ctrl-C");
    tokio::select! {
        _ = shutdown_signal() => {}
        _ = server.stopped() => {}
    }
    server.stop().await;
    Ok(())
}

/// Logs go to stderr: stdout is for what a command prints (the load tool's report, a session's
/// events), so it can be piped.
fn init_logging(format: &str, quiet_webrtc: bool) {
    let webrtc = if quiet_webrtc { "error" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "info,slatedb=warn,s2_lite=warn,h2=warn,hyper=warn,rtc={webrtc},webrtc={webrtc}"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

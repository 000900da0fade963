use std::fmt::Display;

use anyhow::Context;
use clap::Parser;
use cobrowse::config::{Cli, Command};
use cobrowse::store::embedded::EmbeddedS2;
use serde::Serialize;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The load tool's call peers log through the WebRTC crates, which say a lot at INFO.
    let quiet_webrtc = matches!(cli.command, Command::Load(_) | Command::Relay(_));
    init_logging(&cli.log_format, quiet_webrtc);
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Store(args) => {
            let store = EmbeddedS2::start(args.data_dir.as_deref(), args.listen).await?;
            println!("s2-lite listening at {}", store.endpoint());
            shutdown_signal().await;
            store.close().await;
            Ok(())
        }
        Command::Sessions(args) => Ok(cobrowse::cli::run(args).await?),
        Command::Load(args) => load(args).await,
        Command::Relay(args) => {
            raise_open_files();
            let relay = cobrowse::load::relay::Relay::start(args.listen)
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

async fn serve(args: cobrowse::config::ServeArgs) -> anyhow::Result<()> {
    let (config, generated) = args.into_config()?;
    let server = cobrowse::app::server::start(config)
        .await
        .context("starting the server")?;
    let url = server.url();
    println!("cobrowse is running at {url}");
    println!("  agent console: {url}/");
    println!("  demo page to record: {url}/demo/");
    if let Some(token) = generated {
        println!("  agent token (generated; choose one with --agent-token NAME:SECRET): {token}");
    }
    println!("stop with Ctrl-C");
    tokio::select! {
        _ = shutdown_signal() => {}
        _ = server.stopped() => {}
    }
    server.stop().await;
    Ok(())
}

async fn load(args: cobrowse::config::LoadArgs) -> anyhow::Result<()> {
    use cobrowse::load::step::{self, Stepper, Targets};
    use cobrowse::load::{CallLoadConfig, LoadConfig, mix::EventMix, relay::RelayProcess};
    raise_open_files();
    if let Some(agents) = args.call_agents {
        let report = cobrowse::load::run_calls(CallLoadConfig {
            server: args.server,
            calls: args.call_sessions,
            agents_per_call: agents,
            duration: args.duration,
            agent_token: args.token,
            project_key: args.project_key,
            server_pid: args.server_pid,
        })
        .await?;
        return print_report(args.json, &report);
    }
    let mix = match &args.event_mix {
        Some(path) => EventMix::load(path)?,
        None => EventMix::demo(),
    };
    // Stopped when dropped, at the end of this function.
    let relay = if args.baseline {
        Some(
            RelayProcess::spawn()
                .await
                .context("starting the baseline relay")?,
        )
    } else {
        None
    };
    let config = LoadConfig {
        server: relay
            .as_ref()
            .map_or(args.server.clone(), |r| r.url().to_string()),
        sessions: args.sessions,
        agents_per_session: args.agents_per_session,
        watched: args.watched,
        joins: args.joins,
        duration: args.duration,
        events_per_sec: args.events_per_sec,
        sending: args.sending,
        mix,
        agent_token: args.token,
        project_key: args.project_key,
        server_pid: match &relay {
            Some(relay) => relay.pid(),
            None => args.server_pid,
        },
        store_pid: args.store_pid,
        store_endpoint: args.store_endpoint,
    };
    let target = |report: &mut cobrowse::load::Report| {
        if relay.is_some() {
            report.target = "baseline relay (separate process, no storage)".into();
        }
    };
    let Some(plan) = args.step else {
        let mut report = cobrowse::load::run(config).await?;
        target(&mut report);
        return print_report(args.json, &report);
    };
    let mut stepper = Stepper::new(
        plan,
        Targets {
            max_ack_p99: args.max_ack_p99,
            min_ingested: args.min_ingested,
            max_e2e_p99: args.max_e2e_p99,
        },
    );
    while let Some(sessions) = stepper.next_sessions() {
        let outcome = cobrowse::load::run(LoadConfig {
            sessions,
            ..config.clone()
        })
        .await;
        let mut step = stepper.record(sessions, outcome);
        target(&mut step.report);
        print_report(args.json, &step)?;
        if stepper.next_sessions().is_some() {
            tokio::time::sleep(step::PAUSE).await;
        }
    }
    print_report(args.json, stepper.knee())
}

/// A report on stdout, as one JSON line or as text; logs go to stderr, so `--json | jq` works.
fn print_report<T: Serialize + Display>(json: bool, report: &T) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

/// Each simulated client, and each connection the relay accepts, is an open file.
fn raise_open_files() {
    match cobrowse::load::open_files::raise_to_hard_limit() {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open-file limit"),
    }
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

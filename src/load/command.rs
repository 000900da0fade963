//! `cobrowse load`'s flags turned into runs: one run, one run per step of `--step`, or the call
//! measurement of `--call-agents`, each report printed on stdout.

use std::fmt::Display;

use serde::Serialize;

use super::call::{CallLoadConfig, run_calls};
use super::directory::{self, DirectoryBenchError, DirectoryConfig, run_directory};
use super::mix::{EventMix, MixError};
use super::open_files;
use super::relay::{RelayError, RelayProcess};
use super::report::Report;
use super::seed::{SeedConfig, seed};
use super::sim::{LoadConfig, LoadError, run};
use super::step::{self, Stepper, Targets};
use crate::args::LoadArgs;

#[derive(Debug, thiserror::Error)]
pub enum LoadCommandError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Mix(#[from] MixError),
    #[error("starting the baseline relay")]
    Relay(#[source] RelayError),
    #[error(transparent)]
    Report(#[from] serde_json::Error),
    #[error(transparent)]
    Directory(#[from] DirectoryBenchError),
}

/// Runs what the flags ask for and prints the report (or, with `--step`, one per step and then
/// the knee).
pub async fn run_command(args: Box<LoadArgs>) -> Result<(), LoadCommandError> {
    let args = *args;
    open_files::raise();
    if let Some(agents) = args.call_agents {
        let report = run_calls(CallLoadConfig {
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
    if args.directory_bench {
        let report = run_directory(DirectoryConfig {
            server: args.server,
            token: args.token,
            project_key: args.project_key,
            queries: directory::queries(&args.queries),
            requests: args.requests,
            concurrency: args.concurrency,
            peer: args.peer,
            propagation: args.propagation,
        })
        .await?;
        return print_report(args.json, &report);
    }
    let mix = match &args.event_mix {
        Some(path) => EventMix::load(path)?,
        None => EventMix::demo(),
    };
    if let Some(sessions) = args.seed_sessions {
        let config = SeedConfig {
            server: args.server,
            project_key: args.project_key,
            sessions,
            live: args.seed_live,
            events: args.seed_events,
            hold: args.duration,
            mix,
            server_pid: args.server_pid,
        };
        let mut printed = Ok(());
        seed(
            config,
            |report| printed = print_report(args.json, report),
            interrupted(),
        )
        .await;
        return printed;
    }
    // Stopped when dropped, at the end of this function.
    let relay = if args.baseline {
        Some(
            RelayProcess::spawn()
                .await
                .map_err(LoadCommandError::Relay)?,
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
    let target = |report: &mut Report| {
        if relay.is_some() {
            report.target = "baseline relay (separate process, no storage)".into();
        }
    };
    let Some(plan) = args.step else {
        let mut report = run(config).await?;
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
        let outcome = run(LoadConfig {
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
fn print_report<T: Serialize + Display>(json: bool, report: &T) -> Result<(), LoadCommandError> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

/// Ctrl-C or SIGTERM: what ends a seeding run's hold early.
async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(term) => { term.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}

//! `cobrowse probe [URL]`: a container health check that needs nothing but the binary. Prints
//! the status (and the body of a refusal) and exits 0 on a 2xx answer, 1 on anything else.

use std::time::Duration;

use clap::Args;

pub async fn run(args: ProbeArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(args.timeout).build()?;
    match client.get(&args.url).send().await {
        Ok(response) if response.status().is_success() => {
            println!("{} {}", args.url, response.status());
            Ok(())
        }
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            eprintln!("{} {status}: {}", args.url, body.trim());
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("{}: {e}", args.url);
            std::process::exit(1)
        }
    }
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// What to ask: `/readyz` for readiness, `/healthz` for liveness.
    #[arg(default_value = "http://127.0.0.1:7070/readyz")]
    pub url: String,
    /// How long to wait for the answer.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

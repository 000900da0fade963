//! `cobrowse sessions ...`: an operator's view of a running server, through its agent API.

use std::io::Write;

use futures::StreamExt;

use cobrowse::protocol::{AuditPage, ErrorBody, SessionPage};

use crate::args::{SessionsArgs, SessionsCommand};

#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    #[error("cannot reach {server}: {source}")]
    Unreachable {
        server: String,
        source: reqwest::Error,
    },
    #[error("{status}: {message}")]
    Api {
        status: reqwest::StatusCode,
        message: String,
    },
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

pub async fn run(args: SessionsArgs) -> Result<(), SessionsError> {
    let client = reqwest::Client::new();
    let base = args.server.trim_end_matches('/').to_string();
    let get = |path: String| client.get(format!("{base}{path}")).bearer_auth(&args.token);
    let unreachable = |source| SessionsError::Unreachable {
        server: base.clone(),
        source,
    };
    match args.command {
        SessionsCommand::List {
            live,
            status,
            search,
            user,
            url,
            browser,
            errors,
            project,
            limit,
            cursor,
        } => {
            let mut query = vec![("limit", limit.to_string())];
            let status = status.or(live.then(|| "live".to_string()));
            for (name, value) in [
                ("cursor", cursor),
                ("status", status),
                ("q", search),
                ("user", user),
                ("url", url),
                ("browser", browser),
                ("project", project),
                ("errors", errors.then(|| "true".to_string())),
            ] {
                if let Some(value) = value {
                    query.push((name, value));
                }
            }
            let request = get("/api/v1/sessions".into()).query(&query);
            let response = checked(request.send().await.map_err(unreachable)?).await?;
            let page: SessionPage = response
                .json()
                .await
                .map_err(|e| SessionsError::Decode(e.to_string()))?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<36}  {:<5}  {:<19}  {:<16}  URL",
                "ID", "LIVE", "STARTED", "USER"
            )?;
            for s in page.sessions {
                writeln!(
                    out,
                    "{:<36}  {:<5}  {:<19}  {:<16}  {}",
                    s.id,
                    if s.live { "yes" } else { "no" },
                    format_ms(s.started_ms),
                    s.user_id.unwrap_or_default(),
                    s.url
                )?;
            }
            if let Some(cursor) = page.next_cursor {
                writeln!(out, "(more: add --cursor {cursor})")?;
            }
        }
        SessionsCommand::Tail { id, from } => {
            let response = checked(
                get(format!("/api/v1/sessions/{id}/events/stream"))
                    .query(&[("from", from)])
                    .send()
                    .await
                    .map_err(unreachable)?,
            )
            .await?;
            let mut body = response.bytes_stream();
            let mut buffer = Vec::new();
            let mut out = std::io::stdout().lock();
            while let Some(chunk) = body.next().await {
                buffer.extend_from_slice(&chunk.map_err(unreachable)?);
                while let Some(newline) = buffer.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buffer.drain(..=newline).collect();
                    if let Some(data) = line.strip_prefix(b"data: ") {
                        out.write_all(data)?;
                        out.flush()?;
                    }
                }
            }
        }
        SessionsCommand::Erase { id } => {
            let request = client
                .delete(format!("{base}/api/v1/sessions/{id}"))
                .bearer_auth(&args.token);
            checked(request.send().await.map_err(unreachable)?).await?;
            writeln!(std::io::stdout().lock(), "erased {id}")?;
        }
        SessionsCommand::Export { id } => {
            let response = checked(
                get(format!("/api/v1/sessions/{id}/events?format=rrweb"))
                    .send()
                    .await
                    .map_err(unreachable)?,
            )
            .await?;
            let mut body = response.bytes_stream();
            let mut out = std::io::stdout().lock();
            while let Some(chunk) = body.next().await {
                out.write_all(&chunk.map_err(unreachable)?)?;
            }
            writeln!(out)?;
        }
        SessionsCommand::Audit { session, from_seq } => {
            let mut out = std::io::stdout().lock();
            let mut next = Some(from_seq);
            while let Some(from_seq) = next {
                let mut request = get("/api/v1/audit".into())
                    .query(&[("from_seq", from_seq.to_string()), ("limit", "1000".into())]);
                if let Some(session) = &session {
                    request = request.query(&[("session", session)]);
                }
                let response = checked(request.send().await.map_err(unreachable)?).await?;
                let page: AuditPage = response
                    .json()
                    .await
                    .map_err(|e| SessionsError::Decode(e.to_string()))?;
                for entry in &page.entries {
                    let line = serde_json::to_string(entry)
                        .map_err(|e| SessionsError::Decode(e.to_string()))?;
                    writeln!(out, "{line}")?;
                }
                next = page.next_seq;
            }
        }
    }
    Ok(())
}

async fn checked(response: reqwest::Response) -> Result<reqwest::Response, SessionsError> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let message = match response.json::<ErrorBody>().await {
        Ok(body) => body.message,
        Err(_) => "no details".to_string(),
    };
    Err(SessionsError::Api { status, message })
}

fn format_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let (y, mo, d) = civil_from_days(days as i64);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02}:{s:02}")
}

/// Days since 1970-01-01 to a (year, month, day) date in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_ms(0), "1970-01-01 00:00:00");
        assert_eq!(format_ms(1_795_000_000_000), "2026-11-18 11:06:40");
    }
}

//! Long replays load fast: REST answers and the console's files are compressed for a client that
//! accepts it (gzip or Brotli) and decode to exactly what an uncompressed answer holds, while
//! live streams (Server-Sent Events) stay uncompressed so that each event arrives when written.

use std::io::Read;

use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING};

use crate::common::{AGENT_TOKEN, Node, Tracker, config, event_with, http, start};

/// GET `path` as alice, accepting `encoding`; the answer's encoding and its raw body.
async fn fetch(server: &impl Node, path: &str, encoding: &str) -> (Option<String>, Vec<u8>) {
    let response = http()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(AGENT_TOKEN)
        .header(ACCEPT_ENCODING, encoding)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    let used = response
        .headers()
        .get(CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap().to_string());
    (used, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn an_export_is_compressed_for_clients_that_accept_it_and_decodes_to_the_same_bytes() {
    let server = start(config()).await;
    let mut tracker = Tracker::open(&server, None, "tab-1").await;
    let text = format!(
        "{{\"type\":3,\"data\":{{\"text\":\"{}\"}}}}",
        "row ".repeat(5_000)
    );
    tracker
        .write(
            (1..=5)
                .map(|seq| event_with(seq, text.clone().into_bytes()))
                .collect(),
        )
        .await;
    let path = format!("/api/v1/sessions/{}/events", tracker.session_id);

    let (plain_encoding, plain) = fetch(&server, &path, "identity").await;
    assert_eq!(plain_encoding, None);
    let (gzip_encoding, gzipped) = fetch(&server, &path, "gzip").await;
    assert_eq!(gzip_encoding.as_deref(), Some("gzip"));
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(gzipped.as_slice())
        .read_to_end(&mut decoded)
        .unwrap();
    assert!(decoded == plain, "the gzip answer decodes to the plain one");
    assert!(
        gzipped.len() * 5 < plain.len(),
        "repetitive events shrink: {} of {} bytes",
        gzipped.len(),
        plain.len()
    );
    let (br_encoding, _) = fetch(&server, &path, "br").await;
    assert_eq!(br_encoding.as_deref(), Some("br"));
    server.stop().await;
}

#[tokio::test]
async fn server_sent_events_are_never_compressed() {
    let server = start(config()).await;
    let response = http()
        .get(format!("{}/api/v1/sessions/watch", server.url()))
        .bearer_auth(AGENT_TOKEN)
        .header(ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    assert!(response.headers().get(CONTENT_ENCODING).is_none());
    server.stop().await;
}

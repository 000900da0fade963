//! OpenID Connect sign-in against a test identity provider on loopback (discovery, JWKS, authorize
//! and token endpoints; RS256 with the fixed test keys of tests/oidc/): the whole redirect dance as
//! a browser does it, roles from the groups claim, the consent prompt showing the provider's name,
//! key rotation, and forged, expired and wrong-audience tokens refused.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use cobrowse::auth::oidc::OidcConfig;
use cobrowse::auth::proxy::RoleMap;
use cobrowse::clock::now_ms;
use cobrowse::protocol::{AgentMessage, GrantKind, ServerMessage, Signal, TrackerMessage};
use futures::SinkExt;
use jsonwebtoken::{EncodingKey, Header};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::*;

const KEYS: [(&str, &str, &str); 2] = [
    (
        "test-key-1",
        include_str!("../oidc/key-1.pem"),
        include_str!("../oidc/key-1.jwk.json"),
    ),
    (
        "test-key-2",
        include_str!("../oidc/key-2.pem"),
        include_str!("../oidc/key-2.jwk.json"),
    ),
];
const CLIENT_ID: &str = "cobrowse-test";

/// What the test provider does, changeable by the test.
#[derive(Default)]
struct Provider {
    issuer: String,
    /// Which of `KEYS` signs, and is the only one the JWKS lists.
    key: usize,
    /// Codes issued, with the nonce of their sign-in.
    codes: HashMap<String, String>,
    /// Claims of the next ID token, over the defaults.
    claims: Value,
    /// Sign with the other key while naming this one's `kid` (a forgery).
    forge: bool,
    /// Requests to the token endpoint.
    token_requests: usize,
}

type Shared = Arc<Mutex<Provider>>;

async fn discovery(State(p): State<Shared>) -> Json<Value> {
    let issuer = p.lock().unwrap().issuer.clone();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
    }))
}

async fn jwks(State(p): State<Shared>) -> Json<Value> {
    let key = p.lock().unwrap().key;
    let jwk: Value = serde_json::from_str(KEYS[key].2).unwrap();
    Json(json!({ "keys": [jwk] }))
}

async fn authorize(
    State(p): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    let code = uuid::Uuid::new_v4().to_string();
    p.lock()
        .unwrap()
        .codes
        .insert(code.clone(), q["nonce"].clone());
    Redirect::to(&format!(
        "{}?code={code}&state={}",
        q["redirect_uri"], q["state"]
    ))
}

async fn token(State(p): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Json<Value> {
    let mut p = p.lock().unwrap();
    p.token_requests += 1;
    assert!(f.contains_key("code_verifier"), "PKCE");
    let nonce = p
        .codes
        .get(&f["code"])
        .expect("a code this provider issued");
    let mut claims = json!({
        "iss": p.issuer,
        "aud": CLIENT_ID,
        "sub": "user-1",
        "preferred_username": "ada",
        "name": "Ada Lovelace",
        "groups": ["staff", "cobrowse-helpers"],
        "nonce": nonce,
        "iat": now_ms() / 1000,
        "exp": now_ms() / 1000 + 300,
    });
    for (k, v) in p.claims.as_object().into_iter().flatten() {
        claims[k] = v.clone();
    }
    // A forgery names the published key but is signed with another.
    let pem = KEYS[if p.forge { 1 - p.key } else { p.key }].1;
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(KEYS[p.key].0.to_string());
    let signed = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap();
    Json(json!({ "id_token": signed, "token_type": "Bearer", "access_token": "unused" }))
}

/// The test provider, listening on loopback.
async fn provider() -> Shared {
    let shared: Shared = Arc::new(Mutex::new(Provider::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    shared.lock().unwrap().issuer = format!("http://{addr}");
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .with_state(shared.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    shared
}

/// A server that signs agents in with `provider` (and still knows alice's token, an admin's).
async fn server_with(provider: &Shared) -> cobrowse::app::server::RunningServer {
    let mut config = config();
    // The callback's address is only known once the server listens: bind a port first.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    config.listen = addr;
    config.oidc = Some(OidcConfig {
        issuer: provider.lock().unwrap().issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: Some("client-secret".into()),
        redirect_url: format!("http://{addr}/api/v1/oidc/callback"),
        role_claim: "groups".into(),
        role_map: RoleMap::parse(&[
            "helper=cobrowse-helpers".into(),
            "admin=cobrowse-admins".into(),
        ])
        .unwrap(),
        default_role: None,
        projects_claim: None,
    });
    start(config).await
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of the `Set-Cookie` named `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// Signs in as a browser does: login, the provider's authorize, the callback. The session
/// cookie, or the callback's status and body.
async fn sign_in(server: &impl Node) -> Result<String, (u16, Value)> {
    let browser = browser();
    let login = browser
        .get(format!("{}/api/v1/oidc/login", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 302);
    let login_cookie = set_cookie(&login, "cobrowse_login").expect("a login cookie");
    assert!(
        login.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("HttpOnly"),
        "no script reads it"
    );
    let authorize = login.headers()[LOCATION].to_str().unwrap().to_string();
    let back = browser.get(authorize).send().await.unwrap();
    let callback = back.headers()[LOCATION].to_str().unwrap().to_string();
    let done = browser
        .get(callback)
        .header(COOKIE, login_cookie)
        .send()
        .await
        .unwrap();
    if done.status() != 303 {
        let status = done.status().as_u16();
        return Err((status, done.json().await.unwrap()));
    }
    let session = set_cookie(&done, "cobrowse_session").expect("a session cookie");
    let attributes = done
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("cobrowse_session="))
        .unwrap();
    assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict"));
    Ok(session)
}

async fn me(server: &impl Node, cookie: &str) -> reqwest::Response {
    http()
        .get(format!("{}/api/v1/me", server.url()))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_agent_signs_in_with_the_provider_and_users_see_its_name() {
    let provider = provider().await;
    let server = server_with(&provider).await;
    let cookie = sign_in(&server).await.expect("signed in");
    let who: Value = me(&server, &cookie).await.json().await.unwrap();
    assert_eq!(who["name"], "ada");
    assert_eq!(who["display_name"], "Ada Lovelace");
    assert_eq!(who["role"], "helper");
    assert_eq!(who["via"], "oidc");

    // A helper asks for control; the user's prompt names the person, from the provider.
    let mut page = Tracker::open(&server, None, "tab-1").await;
    page.write(vec![rrweb(1)]).await;
    let mut request = ws_url(
        &server,
        &format!("/api/v1/sessions/{}/live?from=live", page.session_id),
    )
    .into_client_request()
    .unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    let (mut ada, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert!(matches!(
        agent_recv(&mut ada).await,
        Some(AgentMessage::Joined { .. })
    ));
    let ask = Signal::Request {
        kind: GrantKind::Control,
        video: false,
    };
    ada.send(Message::Binary(
        rmp_serde::to_vec_named(&ask).unwrap().into(),
    ))
    .await
    .unwrap();
    loop {
        match recv(&mut page.ws).await {
            Ok(ServerMessage::ConsentRequest { agent, .. }) => {
                assert_eq!(agent.name, "Ada Lovelace");
                break;
            }
            Ok(_) => continue,
            Err(close) => panic!("closed: {close:?}"),
        }
    }
    send(&mut page.ws, &TrackerMessage::End { reason: None }).await;
    server.stop().await;
}

#[tokio::test]
async fn an_admin_by_group_may_erase_and_a_rotated_key_is_picked_up() {
    let provider = provider().await;
    provider.lock().unwrap().claims = json!({ "groups": ["cobrowse-admins"] });
    let server = server_with(&provider).await;
    let cookie = sign_in(&server).await.expect("signed in");
    let mut page = Tracker::open(&server, None, "tab-1").await;
    page.write(vec![rrweb(1)]).await;
    send(&mut page.ws, &TrackerMessage::End { reason: None }).await;
    let erase = || async {
        http()
            .delete(format!(
                "{}/api/v1/sessions/{}",
                server.url(),
                page.session_id
            ))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap()
            .status()
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = erase().await;
        if status == 204 {
            break;
        }
        assert_eq!(status, 409, "refused only while the session is still live");
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The provider rotates its key: the new key's tokens verify once the JWKS is fetched again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    provider.lock().unwrap().key = 1;
    let rotated = sign_in(&server).await.expect("signed in with the new key");
    assert_eq!(me(&server, &rotated).await.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_are_refused_and_counted() {
    let provider = provider().await;
    let server = server_with(&provider).await;
    sign_in(&server).await.expect("the provider works");
    let cases = [
        ("forged", json!({}), true),
        ("expired", json!({ "exp": now_ms() / 1000 - 3600 }), false),
        ("another client's", json!({ "aud": "someone-else" }), false),
        (
            "another issuer's",
            json!({ "iss": "https://evil.example" }),
            false,
        ),
        ("no role", json!({ "groups": ["staff"] }), false),
    ];
    for (what, claims, forge) in cases {
        {
            let mut p = provider.lock().unwrap();
            p.claims = claims;
            p.forge = forge;
        }
        let (status, body) = sign_in(&server).await.expect_err(what);
        assert_eq!(status, 401, "{what}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("sign-in failed"),
            "{body}"
        );
    }
    let metrics = metrics(&server).await;
    assert!(
        metrics.contains("cobrowse_rejected_total{reason=\"oidc_failed\"} 5"),
        "{metrics}"
    );
    assert_eq!(
        me(&server, "cobrowse_session=forged.value").await.status(),
        401
    );
    server.stop().await;
}

/// Callbacks that keep failing from one address are refused like bad tokens are, before they
/// cost the provider a request: after `MAX_FAILURES` forged callbacks even a real sign-in from
/// that address is answered 429 for the rest of the minute.
#[tokio::test]
async fn failed_callbacks_throttle_their_address_before_the_provider_is_asked() {
    let provider = provider().await;
    let server = server_with(&provider).await;
    let login = browser()
        .get(format!("{}/api/v1/oidc/login", server.url()))
        .send()
        .await
        .unwrap();
    let login_cookie = set_cookie(&login, "cobrowse_login").expect("a login cookie");
    for _ in 0..cobrowse::auth::throttle::MAX_FAILURES {
        let forged = browser()
            .get(format!(
                "{}/api/v1/oidc/callback?code=guess&state=guess",
                server.url()
            ))
            .header(COOKIE, &login_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(
            forged.status(),
            401,
            "a callback with another state is refused"
        );
    }
    let refused = sign_in(&server)
        .await
        .expect_err("the address is throttled");
    assert_eq!(refused.0, 429, "{:?}", refused.1);
    assert_eq!(
        provider.lock().unwrap().token_requests,
        0,
        "no callback reached the provider's token endpoint"
    );
    server.stop().await;
}

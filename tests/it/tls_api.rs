//! Mutual TLS: only a client with a certificate from the configured client
//! CA completes the handshake. Certificates are made fresh by each test.

use crate::common;

use common::app::{metric_value, serve_in_background};
use common::contract::assert_conforms;
use common::db::{fresh_database, fresh_pool};
use common::fixtures::*;
use contas::http::tls::TlsFiles;
use contas::http::{AppState, ServerSettings, router};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::Value;
use sqlx::ConnectOptions;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn certificate_authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A certificate issued by `ca` and its key, both PEM.
fn issue(
    ca: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let certificate = params.signed_by(&key, ca).unwrap();
    (certificate.pem(), key.serialize_pem())
}

/// A CA for the service and the platform, the service's files, a client
/// identity from that CA, and one from a CA the service does not trust.
struct Pki {
    _dir: tempfile::TempDir,
    files: TlsFiles,
    ca_pem: String,
    platform_identity: String,
    stranger_identity: String,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = certificate_authority("contas test CA");
        let (server_cert, server_key) = issue(
            &ca,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_cert, client_key) =
            issue(&ca, &["opus-platform"], ExtendedKeyUsagePurpose::ClientAuth);
        let other_ca = certificate_authority("another CA");
        let (stranger_cert, stranger_key) = issue(
            &other_ca,
            &["opus-platform"],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let files = TlsFiles {
            cert: write("server.pem", &server_cert),
            key: write("server.key", &server_key),
            client_ca: write("client-ca.pem", &ca.pem()),
        };
        Self {
            files,
            ca_pem: ca.pem(),
            platform_identity: format!("{client_cert}{client_key}"),
            stranger_identity: format!("{stranger_cert}{stranger_key}"),
            _dir: dir,
        }
    }

    /// A client that trusts the service's CA and presents `identity`.
    fn client(&self, identity: Option<&str>) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .timeout(Duration::from_secs(10));
        if let Some(identity) = identity {
            builder = builder.identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap());
        }
        builder.build().unwrap()
    }
}

/// Serves the fixture bank over mutual TLS; returns its base URL.
async fn serve_tls(pki: &Pki) -> String {
    serve_tls_with(pki, ServerSettings::default()).await
}

async fn serve_tls_with(pki: &Pki, settings: ServerSettings) -> String {
    let pool = fresh_pool().await;
    load_bank(&pool).await;
    let config = pki.files.server_config().unwrap();
    let state = AppState::with_clock(pool, now);
    let app = router(state.clone());
    let addr = serve_in_background(Some(config), app, state, settings).await;
    format!("https://{addr}")
}

/// A series of `/metrics`, read by the platform, once it reaches `at_least`
/// (the server counts a refusal just after the client sees it).
async fn metric_reaches(pki: &Pki, base: &str, series: &str, at_least: f64) -> f64 {
    let client = pki.client(Some(&pki.platform_identity));
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let text = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let value = metric_value(&text, series);
        if value >= at_least || std::time::Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const HANDSHAKE_FAILED: &str = r#"contas_connections_refused_total{reason="tls_handshake_failed"}"#;
const HANDSHAKE_TIMEOUT: &str =
    r#"contas_connections_refused_total{reason="tls_handshake_timeout"}"#;

async fn post_accounts(client: &reqwest::Client, base: &str) -> reqwest::Result<(u16, Value)> {
    let response = client
        .post(format!("{base}/accounts"))
        .json(&maria_body(&[MARIA_CHECKING]))
        .send()
        .await?;
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await?;
    assert_conforms("/accounts", status, Some(&content_type), &body);
    Ok((status, body))
}

/// The whole error chain, where rustls names the TLS alert.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text += &format!(": {cause}");
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn the_platforms_certificate_is_admitted() {
    let pki = Pki::new();
    let base = serve_tls(&pki).await;
    let client = pki.client(Some(&pki.platform_identity));
    let (status, body) = post_accounts(&client, &base).await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["number"], MARIA_CHECKING);
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_at_the_handshake() {
    let pki = Pki::new();
    let base = serve_tls(&pki).await;
    let error = post_accounts(&pki.client(None), &base).await.unwrap_err();
    let text = describe(&error);
    assert!(
        text.contains("CertificateRequired") || text.contains("HandshakeFailure"),
        "{text}"
    );
    assert_eq!(
        metric_reaches(&pki, &base, HANDSHAKE_FAILED, 1.0).await,
        1.0
    );
}

#[tokio::test]
async fn handshakes_beyond_the_cap_wait_and_silent_ones_time_out() {
    let pki = Pki::new();
    let timeout = Duration::from_secs(1);
    let settings = ServerSettings {
        max_tls_handshakes: 2,
        tls_handshake_timeout: timeout,
        ..ServerSettings::default()
    };
    let base = serve_tls_with(&pki, settings).await;
    let address = base.trim_start_matches("https://");
    // Two clients connect and never start their handshakes: both places.
    let silent = [
        tokio::net::TcpStream::connect(address).await.unwrap(),
        tokio::net::TcpStream::connect(address).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let client = pki.client(Some(&pki.platform_identity));
    assert_eq!(post_accounts(&client, &base).await.unwrap().0, 200);
    let waited = started.elapsed();
    assert!(
        waited >= timeout - Duration::from_millis(300),
        "handshaken after {waited:?} while the cap was taken"
    );
    assert_eq!(
        metric_reaches(&pki, &base, HANDSHAKE_TIMEOUT, 2.0).await,
        2.0
    );
    drop(silent);
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_at_the_handshake() {
    let pki = Pki::new();
    let base = serve_tls(&pki).await;
    let error = post_accounts(&pki.client(Some(&pki.stranger_identity)), &base)
        .await
        .unwrap_err();
    let text = describe(&error);
    assert!(
        text.contains("UnknownCA") || text.contains("BadCertificate"),
        "{text}"
    );
    // The refusal spoils nothing: the platform still gets in.
    let client = pki.client(Some(&pki.platform_identity));
    assert_eq!(post_accounts(&client, &base).await.unwrap().0, 200);
}

#[tokio::test]
async fn plain_http_gets_no_answer() {
    let pki = Pki::new();
    let base = serve_tls(&pki).await.replace("https://", "http://");
    assert!(reqwest::Client::new().get(&base).send().await.is_err());
}

#[tokio::test]
async fn a_silent_client_does_not_hold_up_others() {
    let pki = Pki::new();
    let base = serve_tls(&pki).await;
    let address = base.trim_start_matches("https://");
    // Connected, never starts its handshake.
    let _silent = tokio::net::TcpStream::connect(address).await.unwrap();
    let client = pki.client(Some(&pki.platform_identity));
    assert_eq!(post_accounts(&client, &base).await.unwrap().0, 200);
}

fn contas(files: &TlsFiles) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_contas"));
    command
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .env("CONTAS_TLS_CERT", &files.cert)
        .env("CONTAS_TLS_KEY", &files.key)
        .env("CONTAS_TLS_CLIENT_CA", &files.client_ca);
    command
}

#[test]
fn serve_refuses_a_partial_tls_configuration() {
    let pki = Pki::new();
    let output = contas(&pki.files)
        .env_remove("CONTAS_TLS_KEY")
        .env_remove("CONTAS_TLS_CLIENT_CA")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("missing: CONTAS_TLS_KEY, CONTAS_TLS_CLIENT_CA"),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_files_that_are_not_pem() {
    let pki = Pki::new();
    let not_pem = pki.files.cert.with_file_name("empty.pem");
    std::fs::write(&not_pem, "").unwrap();
    let output = contas(&pki.files)
        .env("CONTAS_TLS_CLIENT_CA", &not_pem)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("{} holds no PEM certificate", not_pem.display())),
        "{stderr}"
    );
}

/// The binary over mutual TLS, then a graceful exit on SIGTERM.
#[tokio::test]
async fn serve_over_mutual_tls_and_stop_gracefully() {
    let pki = Pki::new();
    let options = fresh_database().await;
    let pool = sqlx::PgPool::connect_with(options.clone()).await.unwrap();
    load_bank(&pool).await;
    let port = free_port();
    let mut server = Server(Some(
        contas(&pki.files)
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", options.to_url_lossy().to_string())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    ));
    let base = format!("https://127.0.0.1:{port}");
    let client = pki.client(Some(&pki.platform_identity));
    let answer = wait_for(|| post_accounts(&client, &base)).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert!(post_accounts(&pki.client(None), &base).await.is_err());

    let mut child = server.0.take().unwrap();
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// Kills the server if the test fails before stopping it.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// Retries `attempt` while the service starts (up to 30 s).
async fn wait_for<T, F, Fut>(attempt: F) -> T
where
    F: Fn() -> Fut,
    Fut: Future<Output = reqwest::Result<T>>,
{
    for _ in 0..300 {
        if let Ok(answer) = attempt().await {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the service did not answer within 30 s")
}

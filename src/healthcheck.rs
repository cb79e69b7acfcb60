//! `contas healthcheck`: asks a running `contas serve` whether it is ready,
//! for a container's HEALTHCHECK. The runtime image has no curl, so this is a
//! bare HTTP/1.1 GET over a TCP socket.

use anyhow::{Context, Result, bail, ensure};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The readiness endpoint probed.
pub const READY_PATH: &str = "/health/ready";

/// Enough for the status line and headers of the small readiness answer;
/// anything longer is not from `contas`.
const MAX_RESPONSE_BYTES: u64 = 16 * 1024;

/// `contas healthcheck` options.
#[derive(clap::Args, Debug, Clone)]
pub struct HealthcheckArgs {
    /// Address `contas serve` listens on; an unspecified one (0.0.0.0, [::])
    /// is probed on the loopback address of its family.
    #[arg(long, env = "CONTAS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Seconds to wait for the whole answer.
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
}

/// Where to connect to reach a server listening on `bind`.
pub fn probe_address(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// Ok when the server at `args.bind` answers 200 on [`READY_PATH`] in time;
/// otherwise an error saying what went wrong.
pub async fn check(args: &HealthcheckArgs) -> Result<()> {
    let address = probe_address(args.bind);
    let timeout = Duration::from_secs(args.timeout);
    tokio::time::timeout(timeout, probe(address))
        .await
        .with_context(|| format!("{address} did not answer within {timeout:?}"))?
}

async fn probe(address: SocketAddr) -> Result<()> {
    let mut stream = TcpStream::connect(address)
        .await
        .with_context(|| format!("connecting to {address}"))?;
    let request =
        format!("GET {READY_PATH} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .context("sending the request")?;
    let mut response = Vec::new();
    stream
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut response)
        .await
        .context("reading the answer")?;
    let response = String::from_utf8_lossy(&response);
    let status_line = response.lines().next().unwrap_or_default();
    let Some(status) = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.split(' ').next())
    else {
        bail!("not an HTTP/1.1 answer: {status_line:?}");
    };
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    ensure!(status == "200", "{READY_PATH} answered {status}: {body}");
    Ok(())
}

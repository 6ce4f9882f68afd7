//! Connections that send nothing useful are closed, and the server holds no more than its
//! cap: a slow client cannot hold a connection, or a shutdown, forever.

use shop_server::{Application, ConnectionLimits, HttpSettings, ServiceBuilder, ServiceInfo};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const INFO: ServiceInfo = ServiceInfo {
    name: "connections-test",
    version: "0",
};

const REQUEST: &[u8] = b"GET /health/live HTTP/1.1\r\nhost: test\r\n\r\n";
/// The same request without the blank line that ends its head.
const HALF_A_REQUEST: &[u8] = b"GET /health/live HTTP/1.1\r\nhost: test\r\n";

async fn bind(limits: ConnectionLimits) -> Application {
    let settings = HttpSettings {
        connections: limits,
        ..HttpSettings::default()
    };
    ServiceBuilder::new(INFO)
        .settings(settings)
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("the test service binds")
}

/// Serves with `limits` until the test ends; its address.
async fn serve(limits: ConnectionLimits) -> SocketAddr {
    let app = bind(limits).await;
    let addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    addr
}

fn header_read_timeout(timeout: Duration) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: timeout,
        ..ConnectionLimits::default()
    }
}

/// Reads until the peer closes (or `patience` passes): what was read, and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, patience: Duration) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    let deadline = Instant::now() + patience;
    loop {
        let mut buffer = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (received, true),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_elapsed) => return (received, false),
        }
    }
}

/// Reads one response to [`REQUEST`] (its body is short and ends the read).
async fn read_response(stream: &mut TcpStream) -> String {
    let mut buffer = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
        .await
        .expect("an answer in time")
        .expect("readable");
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

#[tokio::test]
async fn a_half_sent_request_is_closed_after_the_header_read_timeout() {
    let addr = serve(header_read_timeout(Duration::from_millis(300))).await;
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(HALF_A_REQUEST).await.expect("sent");
    let started = Instant::now();

    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    let after = started.elapsed();
    assert!(
        closed,
        "the server still holds the connection after {after:?}"
    );
    assert!(
        after >= Duration::from_millis(250),
        "closed too early: {after:?}"
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_same_timeout() {
    let addr = serve(header_read_timeout(Duration::from_millis(300))).await;
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(REQUEST).await.expect("sent");
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let idle_since = Instant::now();

    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(closed, "an idle connection stays open");
    let idle = idle_since.elapsed();
    assert!(
        idle >= Duration::from_millis(250),
        "closed too early: {idle:?}"
    );
}

#[tokio::test]
async fn a_half_sent_request_holds_up_shutdown_no_longer_than_the_header_read_timeout() {
    // hyper's graceful shutdown closes idle connections at once but lets a request head
    // that has begun arrive: the header-read timeout (1 s here, far below the 20 s drain)
    // is what bounds it.
    let app = bind(header_read_timeout(Duration::from_secs(1))).await;
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let mut idle = TcpStream::connect(addr).await.expect("connects");
    let mut slow = TcpStream::connect(addr).await.expect("connects");
    slow.write_all(HALF_A_REQUEST).await.expect("sent");
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    stop.send(()).expect("the server listens for the stop");
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the server stops without waiting the drain for the slow client")
        .expect("the server task")
        .expect("the server ran");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    for (name, stream) in [("idle", &mut idle), ("slow", &mut slow)] {
        let (_, closed) = read_until_closed(stream, Duration::from_secs(1)).await;
        assert!(closed, "the {name} client's connection is closed");
    }
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let addr = serve(ConnectionLimits {
        max_connections: 1,
        ..ConnectionLimits::default()
    })
    .await;
    let mut first = TcpStream::connect(addr).await.expect("connects");
    first.write_all(REQUEST).await.expect("sent");
    assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200"));

    // The kernel completes the handshake (backlog), but the server does not take it up.
    let mut second = TcpStream::connect(addr).await.expect("connects");
    second.write_all(REQUEST).await.expect("sent");
    let mut buffer = [0u8; 64];
    let waited = tokio::time::timeout(Duration::from_millis(500), second.read(&mut buffer)).await;
    assert!(waited.is_err(), "served beyond the cap: {waited:?}");

    drop(first);
    let response = read_response(&mut second).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

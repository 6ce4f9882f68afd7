//! With `ADMIN_LISTEN_ADDR`, the operator's paths (metrics, ops, docs, the contract) are
//! served there only: the public address, the one an ingress or a NodePort exposes,
//! answers them 404 and keeps serving everything else.

use shop_server::{ADMIN_PATHS, HttpSettings, ServiceBuilder, ServiceInfo};
use std::net::SocketAddr;

const INFO: ServiceInfo = ServiceInfo {
    name: "admin-listener-test",
    version: "0",
};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Serves until the test ends: the public and the admin base URL.
async fn serve(admin: Option<SocketAddr>) -> (String, Option<String>) {
    let settings = HttpSettings {
        admin_listen_addr: admin,
        ..HttpSettings::default()
    };
    let app = ServiceBuilder::new(INFO)
        .settings(settings)
        .bind(loopback())
        .await
        .expect("the test service binds");
    let public = format!("http://{}", app.local_addr());
    let admin = app.admin_addr().map(|addr| format!("http://{addr}"));
    tokio::spawn(app.run_until(std::future::pending()));
    (public, admin)
}

async fn status(url: String) -> u16 {
    reqwest::get(&url)
        .await
        .unwrap_or_else(|error| panic!("{url}: {error}"))
        .status()
        .as_u16()
}

/// A path of each admin kind, and one below it.
const PROBES: [&str; 6] = [
    "/metrics",
    "/ops/dependencies",
    "/docs/",
    "/docs/swagger-ui.css",
    "/openapi.json",
    "/ops",
];

#[tokio::test]
async fn the_public_address_hides_the_operators_paths_that_the_admin_address_serves() {
    let (public, admin) = serve(Some(loopback())).await;
    let admin = admin.expect("an admin address");

    for path in PROBES {
        assert_eq!(
            status(format!("{public}{path}")).await,
            404,
            "public {path}"
        );
    }
    for path in ["/metrics", "/ops/dependencies", "/docs/", "/openapi.json"] {
        assert_eq!(status(format!("{admin}{path}")).await, 200, "admin {path}");
    }
    // What the public address is for still works there, and probes work on both.
    for base in [&public, &admin] {
        assert_eq!(status(format!("{base}/health/ready")).await, 200, "{base}");
    }
    // A path that only starts like an admin one is not one.
    assert_eq!(
        status(format!("{public}/metricsfoo")).await,
        404,
        "no such route either way"
    );
    assert!(!shop_server::is_admin_path("/metricsfoo"));
    assert!(
        ADMIN_PATHS
            .iter()
            .all(|path| shop_server::is_admin_path(path))
    );
}

#[tokio::test]
async fn without_an_admin_address_everything_is_served_at_the_one_address() {
    let (public, admin) = serve(None).await;
    assert!(admin.is_none());
    for path in ["/metrics", "/ops/dependencies", "/docs/", "/openapi.json"] {
        assert_eq!(status(format!("{public}{path}")).await, 200, "{path}");
    }
}

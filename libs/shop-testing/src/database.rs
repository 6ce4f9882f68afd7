use shop_db::provision;

/// The superuser URL tests provision with: `DATABASE_ADMIN_URL`, or the local server.
pub fn admin_url() -> String {
    std::env::var("DATABASE_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database of its own for one test: created and provisioned on creation, dropped on drop.
#[derive(Debug)]
pub struct TestDatabase {
    pub name: String,
    admin_url: String,
}

/// Test databases are named with this prefix so that `cargo xtask test` can remove the
/// leftovers of a test that was killed before it could clean up.
pub const TEST_DATABASE_PREFIX: &str = "harbor_test_";

impl TestDatabase {
    pub async fn create() -> anyhow::Result<Self> {
        let admin_url = admin_url();
        let name = format!("{TEST_DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
        provision::provision(&admin_url, &name).await?;
        Ok(Self { name, admin_url })
    }

    /// The URL a service connects with: its own role, this database.
    pub fn url_for(&self, schema: &str) -> String {
        self.url_as(&provision::role_for(schema))
    }

    /// Like [`url_for`](Self::url_for), but through `server` (a [`TcpProxy`](crate::TcpProxy)).
    pub fn url_for_via(&self, schema: &str, server: std::net::SocketAddr) -> String {
        format!(
            "postgres://{}@{server}/{}",
            provision::role_for(schema),
            self.name
        )
    }

    /// This database, as any user.
    pub fn url_as(&self, user: &str) -> String {
        let server = server_part(&self.admin_url);
        format!("postgres://{user}@{server}/{}", self.name)
    }

    /// This database, as the superuser.
    pub fn admin_url(&self) -> String {
        let server = server_part(&self.admin_url);
        let credentials = credentials_part(&self.admin_url);
        format!("postgres://{credentials}{server}/{}", self.name)
    }

    /// `host:port` of the database server.
    pub fn server_addr(&self) -> String {
        server_part(&self.admin_url).to_owned()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be shutting down: use a thread with
        // a runtime of its own.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime
                .block_on(provision::drop_database(&admin_url, &name))
                .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// `host:port` from `postgres://user[:pw]@host:port/db`.
fn server_part(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// `user[:pw]@` from `postgres://user[:pw]@host:port/db` (empty when there is none).
fn credentials_part(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.rsplit_once('@')
        .map(|(credentials, _)| format!("{credentials}@"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(server_part("postgres://u:p@h:5432/db?x=1"), "h:5432");
        assert_eq!(server_part("postgres://h:1/db"), "h:1");
        assert_eq!(credentials_part("postgres://u:p@h:5432/db"), "u:p@");
        assert_eq!(credentials_part("postgres://h/db"), "");
    }
}

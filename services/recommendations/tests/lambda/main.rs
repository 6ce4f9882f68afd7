//! The Lambda function answers what the container answers (feature `lambda`).
//!
//! The container runs as in the API tests, on a random port against a fresh database. The
//! function is the same router behind `lambda_http`'s adapter, the very service that
//! `lambda_http::run` polls the runtime API with: each request goes in as a Function URL
//! event (`function-url-event.json`, the payload format 2.0 that Function URLs and HTTP
//! APIs send) and comes out as the JSON the runtime would post back to Lambda.

use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use recommendations::config::{Config, SCHEMA};
use recommendations::db;
use recommendations::domain::{HalfLife, OrderLine};
use serde_json::Value;
use shop_auth::Role;
use shop_auth::testing::TestIssuer;
use shop_server::{Env, ServerConfig};
use shop_testing::{RunningService, TestDatabase};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

/// A Function URL event as Lambda delivers it; each case sets its path, query and headers.
const EVENT: &str = include_str!("function-url-event.json");

/// What a client sees of an answer: enough to tell two answers apart.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    www_authenticate: Option<String>,
    /// Echoed from the request (problems carry it in their body too).
    request_id: Option<String>,
    body: Value,
}

/// One request, asked of both.
struct Case {
    path: &'static str,
    query: String,
    bearer: Option<String>,
}

#[tokio::test]
async fn the_function_answers_what_the_container_answers() {
    let db = TestDatabase::create().await.expect("test database");
    let issuer = TestIssuer::start().await;
    let env = Env::from_pairs([
        ("DATABASE_URL", db.url_for(SCHEMA)),
        ("JWKS_URL", issuer.jwks_url()),
        ("KAFKA_BROKERS", shop_testing::kafka_brokers()),
    ]);
    let mut config = Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    config.kafka.topic_prefix = shop_testing::unique_topic_prefix();
    // The container first: it owns the schema and migrates it.
    let container = RunningService::spawn(
        recommendations::app::build(config.clone())
            .await
            .expect("the container starts"),
    );
    let function = recommendations::app::function_router(&config).expect("the function's router");

    let pool = PgPool::connect(&db.url_for(SCHEMA)).await.expect("schema");
    let [shopper, viewed, often, once] = [(); 4].map(|()| Uuid::new_v4());
    record_order(&pool, shopper, &[viewed, often]).await;
    record_order(&pool, Uuid::new_v4(), &[viewed, often, once]).await;
    let token = issuer.token(shopper, Role::Customer);

    let cases = [
        // co-purchase, read from what the consumer would have recorded
        Case {
            path: "/v1/recommendations",
            query: format!("product_id={viewed}&limit=3"),
            bearer: None,
        },
        // personalized: the bearer token travels in the event's headers
        Case {
            path: "/v1/recommendations",
            query: format!("user_id={shopper}"),
            bearer: Some(token),
        },
        // the one mapping of errors to problem+json, and RFC 6750's challenge
        Case {
            path: "/v1/recommendations",
            query: format!("user_id={shopper}"),
            bearer: None,
        },
        Case {
            path: "/v1/recommendations",
            query: "limit=0".to_owned(),
            bearer: None,
        },
        Case {
            path: "/v1/nowhere",
            query: String::new(),
            bearer: None,
        },
    ];
    let mut statuses = Vec::new();
    for case in &cases {
        // The same id to both, as a caller sends it: it comes back in every answer.
        let request_id = Uuid::new_v4().to_string();
        let from_container = ask_container(&container, case, &request_id).await;
        let from_function = ask_function(&function, case, &request_id).await;
        assert_eq!(from_function.request_id.as_deref(), Some(&*request_id));
        assert_eq!(
            from_function, from_container,
            "{}?{}: the function and the container disagree",
            case.path, case.query
        );
        statuses.push(from_function.status);
    }
    assert_eq!(
        statuses,
        [200, 200, 401, 422, 404],
        "each case asks what it means to"
    );

    let co_purchased = ask_function(&function, &cases[0], "again").await.body;
    assert_eq!(co_purchased["source"], "co-purchase", "{co_purchased}");
    assert_eq!(
        co_purchased["items"][0]["product_id"],
        often.to_string(),
        "what was bought with it most, from the rows the container's consumer writes"
    );
}

async fn ask_container(container: &RunningService, case: &Case, request_id: &str) -> Answer {
    let url = container.url(&format!("{}?{}", case.path, case.query));
    let mut request = container.http.get(url).header("x-request-id", request_id);
    if let Some(token) = &case.bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the container answers");
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().expect("an ASCII header").to_owned())
    };
    let (content_type, www_authenticate) = (header("content-type"), header("www-authenticate"));
    let request_id = header("x-request-id");
    Answer {
        status: response.status().as_u16(),
        content_type,
        www_authenticate,
        request_id,
        body: response.json().await.expect("a JSON body"),
    }
}

/// The event in, through `lambda_http`'s conversions both ways, the runtime's JSON out.
async fn ask_function(function: &axum::Router, case: &Case, request_id: &str) -> Answer {
    let mut event: Value = serde_json::from_str(EVENT).expect("the event file is JSON");
    event["rawPath"] = case.path.into();
    event["requestContext"]["http"]["path"] = case.path.into();
    event["rawQueryString"] = case.query.clone().into();
    event["headers"]["x-request-id"] = request_id.into();
    if let Some(token) = &case.bearer {
        event["headers"]["authorization"] = format!("Bearer {token}").into();
    }
    let payload: LambdaRequest = serde_json::from_value(event).expect("a Function URL event");
    let invocation = LambdaEvent::new(payload, Context::default());
    let answer = Adapter::from(function.clone())
        .oneshot(invocation)
        .await
        .expect("the router never fails");
    let answer = serde_json::to_value(answer).expect("the answer as the runtime posts it");
    assert_eq!(
        answer["isBase64Encoded"], false,
        "JSON goes back as text: {answer}"
    );
    let header = |name: &str| answer["headers"][name].as_str().map(str::to_owned);
    let body = answer["body"].as_str().expect("a body");
    Answer {
        status: u16::try_from(answer["statusCode"].as_u64().expect("a status")).expect("u16"),
        content_type: header("content-type"),
        www_authenticate: header("www-authenticate"),
        request_id: header("x-request-id"),
        body: serde_json::from_str(body).expect("a JSON body"),
    }
}

async fn record_order(pool: &PgPool, user_id: Uuid, products: &[Uuid]) {
    let lines: Vec<OrderLine> = products
        .iter()
        .map(|&product_id| OrderLine {
            product_id,
            quantity: 1,
        })
        .collect();
    let mut conn = pool.acquire().await.expect("a connection");
    let now = OffsetDateTime::now_utc();
    db::record_purchase(&mut conn, user_id, &lines, now, HalfLife::DEFAULT)
        .await
        .expect("purchase recorded");
}

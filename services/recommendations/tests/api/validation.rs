//! Invalid parameters are refused with a problem naming them.

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_limit_runs_from_one_to_fifty() {
    let app = spawn_app().await;
    for limit in ["0", "51", "-1", "ten", ""] {
        let answer = app.recommendations(&format!("limit={limit}"), None).await;
        assert_eq!(answer.invalid_fields(), ["limit"], "limit={limit}");
    }
    for limit in ["1", "50"] {
        app.recommend(&format!("limit={limit}")).await;
    }
}

#[tokio::test]
async fn malformed_ids_are_refused_by_name() {
    let app = spawn_app().await;
    for parameter in ["user_id", "product_id"] {
        let answer = app
            .recommendations(&format!("{parameter}=not-a-uuid"), None)
            .await;
        assert_eq!(answer.invalid_fields(), [parameter]);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
    }
}

#[tokio::test]
async fn unknown_parameters_are_refused_by_name() {
    let app = spawn_app().await;
    let answer = app.recommendations("userid=1", None).await;
    assert_eq!(answer.invalid_fields(), ["userid"]);
}

#[tokio::test]
async fn sql_in_any_parameter_is_only_ever_data() {
    let app = spawn_app().await;
    for injection in [
        "' OR '1'='1",
        "'; DROP TABLE recommendations.popularity; --",
    ] {
        let encoded: String = form_urlencoded::byte_serialize(injection.as_bytes()).collect();
        for parameter in ["user_id", "product_id", "limit"] {
            let answer = app
                .recommendations(&format!("{parameter}={encoded}"), None)
                .await;
            assert_eq!(answer.status, 422, "{parameter}={injection}");
            assert_eq!(answer.invalid_fields(), [parameter]);
        }
    }
    // Still answering, from its tables.
    assert_eq!(app.recommendations("limit=3", None).await.status, 200);
}

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

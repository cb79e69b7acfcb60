//! The contract is served from the binary, as YAML, as JSON, and as
//! browsable documentation that needs no network.

use crate::common;

use common::app::TestApp;
use common::db::fresh_pool;
use common::fixtures::now;

async fn get(app: &TestApp, path: &str) -> (u16, String, String) {
    app.get_outside_contract(path).await
}

#[tokio::test]
async fn every_contract_is_served_as_written_and_as_json() {
    let app = TestApp::spawn(fresh_pool().await, now()).await;
    for name in ["accounts", "commons", "accounts-rev3", "commons-rev4"] {
        let file = std::fs::read_to_string(format!(
            "{}/openapi/{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let (status, content_type, yaml) = get(&app, &format!("/openapi/{name}.yaml")).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "application/yaml"),
            "{name}"
        );
        assert_eq!(yaml, file, "{name}.yaml is the file in openapi/");

        let (status, content_type, json) = get(&app, &format!("/openapi/{name}.json")).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "application/json"),
            "{name}"
        );
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        let from_yaml: serde_json::Value = serde_norway::from_str(&file).unwrap();
        assert_eq!(json, from_yaml, "{name}.json says what {name}.yaml says");
    }
}

#[tokio::test]
async fn documentation_is_browsable_without_network() {
    let app = TestApp::spawn(fresh_pool().await, now()).await;
    let (status, content_type, html) = get(&app, "/docs/").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    // Scripts come from this service, never from a CDN.
    assert!(!html.contains("https://"), "{html}");
    let (status, _, config) = get(&app, "/docs/swagger-initializer.js").await;
    assert_eq!(status, 200);
    assert!(config.contains("/openapi/accounts.json"), "{config}");
    let (status, _, _) = get(&app, "/docs/swagger-ui-bundle.js").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unknown_contracts_are_not_found_in_the_contract_shape() {
    let app = TestApp::spawn(fresh_pool().await, now()).await;
    let response = app
        .send(
            reqwest::Method::GET,
            "/openapi/payments.yaml",
            Default::default(),
            None,
            "",
        )
        .await;
    assert_eq!(response.status, 404);
}

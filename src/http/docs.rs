//! The contract this service implements, served from the binary: the
//! `openapi/` files as written (YAML), as JSON, and browsable at `/docs`
//! through a vendored Swagger UI (no CDN: a bank's network would block it).

use axum::Router;
use axum::extract::Path;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::LazyLock;
use utoipa_swagger_ui::{Config, SwaggerUi, Url};

use super::error::ApiError;

/// (name, YAML text) of every contract in `openapi/`.
const CONTRACTS: [(&str, &str); 4] = [
    ("accounts", include_str!("../../openapi/accounts.yaml")),
    ("commons", include_str!("../../openapi/commons.yaml")),
    (
        "accounts-rev3",
        include_str!("../../openapi/accounts-rev3.yaml"),
    ),
    (
        "commons-rev4",
        include_str!("../../openapi/commons-rev4.yaml"),
    ),
];

/// The same contracts as JSON, converted once.
static CONTRACTS_JSON: LazyLock<Vec<(&str, String)>> = LazyLock::new(|| {
    CONTRACTS
        .iter()
        .map(|(name, yaml)| {
            let value: serde_json::Value =
                serde_norway::from_str(yaml).expect("openapi/ files are valid YAML");
            (*name, value.to_string())
        })
        .collect()
});

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let swagger = SwaggerUi::new("/docs").config(Config::new([
        Url::new("Accounts 2.4.1", "/openapi/accounts.json"),
        Url::new("Commons 1.0.0", "/openapi/commons.json"),
        Url::new(
            "Accounts 2.4.1 (revision 3.0.0)",
            "/openapi/accounts-rev3.json",
        ),
        Url::new(
            "Commons 1.0.0 (revision 4.0.0-rc.3)",
            "/openapi/commons-rev4.json",
        ),
    ]));
    Router::new()
        .route("/openapi/{file}", get(contract))
        .merge(swagger)
}

async fn contract(Path(file): Path<String>) -> Result<Response, ApiError> {
    let yaml = file
        .strip_suffix(".yaml")
        .and_then(|name| CONTRACTS.iter().find(|(n, _)| *n == name))
        .map(|(_, yaml)| ([(CONTENT_TYPE, "application/yaml")], *yaml).into_response());
    let json = || {
        file.strip_suffix(".json")
            .and_then(|name| CONTRACTS_JSON.iter().find(|(n, _)| *n == name))
            .map(|(_, json)| ([(CONTENT_TYPE, "application/json")], json.clone()).into_response())
    };
    yaml.or_else(json).ok_or_else(ApiError::route_not_found)
}

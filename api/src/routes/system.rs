//! Health, readiness and metrics, for load balancers and monitoring.

use std::sync::Arc;

use actix_web::http::header::ContentType;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use hostadmin_persistence::migrations;

use crate::http::client_ip::client_ip;
use crate::http::metrics::Metrics;
use crate::http::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// The process is up.
///
/// For liveness probes: answers `{"status": "ok"}` as long as the process serves
/// requests, without touching the database. Public: no authentication.
#[utoipa::path(tag = "System", responses((status = 200, description = "Up", body = Health)), security(()))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok".into() })
}

/// How long `/readyz` waits for the database: a load balancer's check must answer fast
/// whatever the database does.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(1500);

/// Whether this instance can serve requests now.
///
/// For readiness probes and load balancers: `200 {"status": "ready"}` when the database
/// answers within 1.5 s and has every migration this build knows, and every configured
/// driver's server answers. Otherwise `503`: `unavailable` for the database (unreachable
/// or migrations pending) or `driver_unreachable` naming the drivers that do not answer.
/// Public: no authentication.
#[utoipa::path(
    tag = "System",
    responses(
        (status = 200, description = "Ready", body = Health, example = json!({"status": "ready"})),
        (status = 503, description = "Not ready: `unavailable` (the database) or `driver_unreachable` (naming the drivers)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let ready = state
        .db
        .probe(READY_WITHIN, |conn| migrations::is_up_to_date(conn).map_err(|e| ApiError::Unavailable(e.to_string())))
        .await?;
    if !ready {
        return Err(ApiError::Unavailable("the database has pending migrations".into()));
    }
    let down = crate::app::driven::unreachable(&state.drivers, READY_WITHIN).await;
    if !down.is_empty() {
        let detail = format!("configured driver servers do not answer: {}", down.join(", "));
        return Err(ApiError::new(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, "driver_unreachable", detail));
    }
    Ok(HttpResponse::Ok().json(Health { status: "ready".into() }))
}

/// Prometheus metrics, for the addresses in `HOSTADMIN_METRICS_ALLOW`.
///
/// The Prometheus text exposition format (0.0.4). Not authenticated by a token: only
/// client addresses inside `HOSTADMIN_METRICS_ALLOW` (default loopback) are served,
/// taking `X-Forwarded-For` into account only from `HOSTADMIN_TRUSTED_PROXIES`; any
/// other address gets `403 forbidden`.
#[utoipa::path(
    tag = "System",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 403, description = "Not an allowed address", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let allowed = client_ip(&request, &state.config.trusted_proxies)
        .is_some_and(|ip| state.config.metrics_allow.iter().any(|net| net.contains(&ip)));
    if !allowed {
        return Err(ApiError::forbidden("metrics are not served to this address"));
    }
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(metrics.render()))
}

/// The served OpenAPI document, serialised once at start-up, with its `ETag` (a digest
/// of the text: it changes exactly when the document does).
pub struct OpenApiJson {
    text: Arc<String>,
    etag: String,
}

impl OpenApiJson {
    pub fn new(text: String) -> Self {
        let digest = hostadmin_domain::credentials::digest(&text);
        Self { etag: format!("\"{}\"", &digest[..16.min(digest.len())]), text: Arc::new(text) }
    }
}

/// This document.
///
/// The OpenAPI 3.1 description of the API as this server serves it, generated from the
/// same route list; `openapi/v1.json` in the repository is the same text. Public. Its
/// `ETag` changes exactly when the document does; `/docs` renders it.
#[utoipa::path(
    tag = "System",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object, headers(("ETag" = String)))),
    security(())
)]
#[get("/v1/openapi.json")]
pub async fn openapi_json(document: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ContentType::json())
        .insert_header((actix_web::http::header::ETAG, document.etag.clone()))
        .body(document.text.as_str().to_owned())
}

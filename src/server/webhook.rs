//! `POST /webhooks/gitlab` and `POST /webhooks/github`: authenticate the raw body, store it,
//! and only then answer.
//!
//! Answers: 202 stored (queued, ignored, or failed-unreadable, each said in the JSON body),
//! 200 duplicate (already stored, not queued again), 401 authentication failed (nothing
//! stored), 404 forge not enabled, 413 body over the limit, 503 the store did not commit
//! (the forge retries).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{AppState, auth, intake, metrics};
use crate::store::{Forge, Inserted, Intake};

pub async fn gitlab(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    receive(state, Forge::GitLab, headers, body).await
}

pub async fn github(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    receive(state, Forge::GitHub, headers, body).await
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn receive(
    state: AppState,
    forge: Forge,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let secrets = match forge {
        Forge::GitLab => &state.gitlab_secrets,
        Forge::GitHub => &state.github_secrets,
    };
    let Some(secrets) = secrets else {
        return answer(
            StatusCode::NOT_FOUND,
            json!({"error": format!("the {forge} webhook is not enabled on this server (forges.{forge}.enabled)")}),
        );
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let outcome = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "too_large"
            } else {
                "unreadable"
            };
            metrics::delivery(forge, "unknown", outcome);
            return answer(status, json!({"error": rejection.body_text()}));
        }
    };
    let checked = match forge {
        Forge::GitLab => auth::check_gitlab_token(
            headers.get("x-gitlab-token").map(|value| value.as_bytes()),
            secrets,
        ),
        Forge::GitHub => auth::check_github_signature(
            headers
                .get("x-hub-signature-256")
                .map(|value| value.as_bytes()),
            &body,
            secrets,
        ),
    };
    if let Err(failure) = checked {
        let header = match forge {
            Forge::GitLab => "X-Gitlab-Token",
            Forge::GitHub => "X-Hub-Signature-256",
        };
        tracing::info!(%forge, ?failure, "webhook refused");
        metrics::delivery(forge, "unknown", "unauthorized");
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": failure.message(header)}),
        );
    }
    let delivery = intake::classify(forge, &headers, body.to_vec());
    let event_label = if intake::is_handled(forge, &delivery.event_type) {
        delivery.event_type.clone()
    } else {
        "other".to_owned()
    };
    let intake = delivery.intake.clone();
    let delivery_id = delivery.delivery_id.clone();
    let response = match state.store.insert(delivery).await {
        Ok(Inserted::New(id)) => {
            let (status, outcome, detail) = match &intake {
                Intake::Queued { .. } => {
                    state.wake.notify_one();
                    ("queued", "accepted", None)
                }
                Intake::Ignored { reason } => ("ignored", "ignored", Some(reason.clone())),
                Intake::Failed { reason } => ("failed", "invalid", Some(reason.clone())),
            };
            metrics::delivery(forge, &event_label, outcome);
            answer(
                StatusCode::ACCEPTED,
                json!({"id": id.0, "delivery": delivery_id, "status": status, "reason": detail}),
            )
        }
        Ok(Inserted::Duplicate(id)) => {
            metrics::delivery(forge, &event_label, "duplicate");
            answer(
                StatusCode::OK,
                json!({"id": id.0, "delivery": delivery_id, "status": "duplicate"}),
            )
        }
        Err(error) => {
            tracing::error!(%forge, %error, "cannot store a delivery; answering 503");
            metrics::delivery(forge, &event_label, "store_error");
            let mut response = answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "the delivery could not be stored; retry later"}),
            );
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("5"));
            return response;
        }
    };
    metrics::acknowledged(forge, started.elapsed().as_secs_f64());
    response
}

//! What every fake forge shares: a log of the requests it saw and failures injected on demand
//! ("the next 2 requests to POST .../statuses/* answer 503").

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// How an injected failure answers.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status, headers and JSON `message` instead of the real handler.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        message: String,
    },
    /// Wait this long, then let the real handler answer (a client with a shorter timeout
    /// gives up first).
    Slow(Duration),
}

impl Fault {
    pub fn status(status: u16) -> Self {
        Self::Answer {
            status,
            headers: Vec::new(),
            message: format!("injected {status}"),
        }
    }

    /// 429 with `Retry-After: seconds`, as GitLab and GitHub send it.
    pub fn rate_limited(seconds: u64) -> Self {
        Self::Answer {
            status: 429,
            headers: vec![("retry-after".into(), seconds.to_string())],
            message: "Retry later".into(),
        }
    }

    /// GitHub's secondary rate limit: 403 with `retry-after`.
    pub fn github_secondary_limit(seconds: u64) -> Self {
        Self::Answer {
            status: 403,
            headers: vec![("retry-after".into(), seconds.to_string())],
            message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.".into(),
        }
    }

    /// GitHub's primary rate limit: 403 with no requests left until `reset` (epoch seconds).
    pub fn github_primary_limit(reset_epoch_seconds: u64) -> Self {
        Self::Answer {
            status: 403,
            headers: vec![
                ("x-ratelimit-remaining".into(), "0".into()),
                ("x-ratelimit-reset".into(), reset_epoch_seconds.to_string()),
            ],
            message: "API rate limit exceeded".into(),
        }
    }

    pub fn conflict() -> Self {
        Self::status(409)
    }
}

#[derive(Debug, Clone)]
struct Rule {
    method: Method,
    pattern: Vec<String>,
    remaining: u32,
    fault: Fault,
}

/// A request as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: String,
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<Seen>>,
}

impl Faults {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The next `times` requests matching `method` and `pattern` answer with `fault`.
    /// `pattern` is a raw (percent-encoded) path where `*` stands for one segment, e.g.
    /// `/api/v4/projects/*/statuses/*`.
    pub fn fail_next(&self, method: Method, pattern: &str, times: u32, fault: Fault) {
        lock(&self.rules).push(Rule {
            method,
            pattern: segments(pattern),
            remaining: times,
            fault,
        });
    }

    /// Every request seen so far, injected failures included.
    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.seen).clone()
    }

    /// How many requests matched `method` and `pattern`.
    pub fn count(&self, method: Method, pattern: &str) -> usize {
        let pattern = segments(pattern);
        lock(&self.seen)
            .iter()
            .filter(|s| s.method == method && matches(&pattern, &s.path))
            .count()
    }

    fn take(&self, method: &Method, path: &str) -> Option<Fault> {
        let mut rules = lock(&self.rules);
        let rule = rules
            .iter_mut()
            .find(|r| r.remaining > 0 && r.method == *method && matches(&r.pattern, path))?;
        rule.remaining -= 1;
        Some(rule.fault.clone())
    }
}

/// Axum middleware: logs the request, then answers with an injected fault if one matches.
pub async fn inject(State(faults): State<Arc<Faults>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    lock(&faults.seen).push(Seen {
        method: method.clone(),
        path: path.clone(),
        query,
    });
    match faults.take(&method, &path) {
        None => next.run(request).await,
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(Fault::Answer {
            status,
            headers,
            message,
        }) => {
            let mut response = Response::new(Body::from(json!({ "message": message }).to_string()));
            *response.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let map = response.headers_mut();
            map.insert("content-type", HeaderValue::from_static("application/json"));
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::try_from(name.as_str()),
                    HeaderValue::try_from(value.as_str()),
                ) {
                    map.insert(name, value);
                }
            }
            response.into_response()
        }
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

fn matches(pattern: &[String], path: &str) -> bool {
    let path = segments(path);
    pattern.len() == path.len() && pattern.iter().zip(&path).all(|(p, s)| p == "*" || p == s)
}

/// A poisoned lock only means another test thread panicked; the data is still usable.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fake 40-hex commit id derived from `seed`, distinct per seed.
pub fn fake_sha(seed: &str) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut out = String::new();
    for round in 0u8..3 {
        let mut hasher = DefaultHasher::new();
        (seed, round).hash(&mut hasher);
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out.truncate(40);
    out
}

/// One page of `items` and whether more follow, for `page` (1-based) of `per_page`.
pub fn page_of<T: Clone>(items: &[T], page: usize, per_page: usize) -> (Vec<T>, bool) {
    let per_page = per_page.clamp(1, 100);
    let start = page.saturating_sub(1).saturating_mul(per_page);
    let slice = items.iter().skip(start).take(per_page).cloned().collect();
    (slice, start + per_page < items.len())
}

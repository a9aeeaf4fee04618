//! What both adapters do around each HTTP call: pace requests, time them out, and decide
//! whether an answer is final or worth another attempt.
//!
//! The adapters own the wire format; this module sees only a status, headers and a body, so
//! GitLab (reqwest) and GitHub (octocrab) share one retry policy and one set of tests.

use std::future::Future;
use std::num::NonZeroU32;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::HeaderMap;
use serde::de::DeserializeOwned;

use super::error::ForgeError;
use super::types::ForgeKind;

/// How hard an adapter pushes a forge and how long it waits for it.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Time allowed for one attempt, from sending to the last byte of the body.
    pub request_timeout: Duration,
    /// Wait before the second attempt; doubled for each further one, with jitter.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest `Retry-After` (or rate-limit reset) honoured by sleeping. A longer one
    /// ends the call with `RateLimited`, so a worker is not parked for an hour: the event
    /// stays queued instead.
    pub max_rate_limit_wait: Duration,
    /// Client-side pace, below the forge's own limits.
    pub requests_per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            request_timeout: Duration::from_secs(30),
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            max_rate_limit_wait: Duration::from_secs(90),
            requests_per_second: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Whether repeating a request after an unclear failure could apply it twice. A comment
/// posted twice is visible to people; a status or label set twice is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, PUT, PATCH, and POSTs whose repetition has no visible effect (statuses, reactions).
    Safe,
    /// Creates something new each time: repeated only when the forge surely did not act
    /// (429, 502, 503, 504, connection refused).
    Unsafe,
}

/// One call as the retry loop sees it.
#[derive(Debug, Clone)]
pub struct Call {
    /// For messages: "create a comment on !3 of eap/gitops".
    pub what: String,
    pub idempotency: Idempotency,
    /// GitLab answers 409 while another request changes the same commit status: worth retrying
    /// there, final everywhere else.
    pub retry_conflict: bool,
}

impl Call {
    pub fn safe(what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            idempotency: Idempotency::Safe,
            retry_conflict: false,
        }
    }

    pub fn unsafe_(what: impl Into<String>) -> Self {
        Self {
            idempotency: Idempotency::Unsafe,
            ..Self::safe(what)
        }
    }

    pub fn retrying_conflicts(mut self) -> Self {
        self.retry_conflict = true;
        self
    }
}

/// A complete answer, body read.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The forge's own error text (`message` on both forges, `error` on some GitLab answers),
    /// cut short: enough to say why, never a whole page.
    pub fn message(&self) -> String {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(&self.body).ok();
        let text = parsed
            .as_ref()
            .and_then(|v| v.get("message").or_else(|| v.get("error")))
            .map(|m| match m {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).into_owned());
        let mut text = text.trim().to_owned();
        if text.len() > 300 {
            let mut cut = 300;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        text
    }

    /// Whether the body says `text` anywhere (GitHub puts the reason of a 422 in `errors`).
    pub fn body_mentions(&self, text: &str) -> bool {
        String::from_utf8_lossy(&self.body).contains(text)
    }

    pub fn json<T: DeserializeOwned>(&self, forge: ForgeKind, what: &str) -> Result<T, ForgeError> {
        serde_json::from_slice(&self.body).map_err(|e| ForgeError::InvalidResponse {
            forge,
            what: what.to_owned(),
            message: format!("the body is not the documented JSON ({e})"),
        })
    }

    /// The error for a final non-2xx answer.
    pub fn into_error(self, forge: ForgeKind, what: &str) -> ForgeError {
        let what = what.to_owned();
        match self.status {
            401 => ForgeError::Unauthorized { forge, what },
            403 => ForgeError::Forbidden {
                forge,
                what,
                message: self.message(),
            },
            404 => ForgeError::NotFound { forge, what },
            409 => ForgeError::Conflict {
                forge,
                what,
                message: self.message(),
            },
            429 => ForgeError::RateLimited {
                forge,
                what,
                retry_after: None,
            },
            status if status >= 500 => ForgeError::Server {
                forge,
                what,
                status,
                attempts: 1,
            },
            status => ForgeError::Rejected {
                forge,
                what,
                status,
                message: self.message(),
            },
        }
    }

    /// Ok for 2xx, the matching error otherwise.
    pub fn success(self, forge: ForgeKind, what: &str) -> Result<Self, ForgeError> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(self.into_error(forge, what))
        }
    }
}

/// Why an attempt produced no answer.
#[derive(Debug)]
pub enum SendError {
    /// The connection was never made: the forge cannot have acted.
    Connect(String),
    /// The request may or may not have reached the forge.
    Other(String),
}

/// Pace, timeout and retry for one forge.
pub struct Transport {
    forge: ForgeKind,
    policy: HttpPolicy,
    limiter: DefaultDirectRateLimiter,
}

enum Verdict {
    Final(RawResponse),
    Retry { wait: Duration, cause: Failure },
    Fail(ForgeError),
}

/// The last thing that went wrong, to report when attempts run out.
enum Failure {
    Status(RawResponse),
    Timeout,
    Transport(String),
}

impl Transport {
    pub fn new(forge: ForgeKind, policy: HttpPolicy) -> Self {
        let quota = Quota::per_second(policy.requests_per_second).allow_burst(policy.burst);
        Self {
            forge,
            limiter: RateLimiter::direct(quota),
            policy,
        }
    }

    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// Runs `send` until the answer is final or attempts run out. Returns every final answer,
    /// 4xx included, so the adapter can give statuses their meaning for this call (404 as
    /// "none", 409 as "head moved"); only retry exhaustion and rate limits become errors here.
    pub async fn execute<F, Fut>(&self, call: &Call, send: F) -> Result<RawResponse, ForgeError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<RawResponse, SendError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.until_ready().await;
            let outcome = tokio::time::timeout(self.policy.request_timeout, send()).await;
            let verdict = match outcome {
                Err(_elapsed) => self.after_failure(call, attempt, Failure::Timeout, false),
                Ok(Err(SendError::Connect(message))) => {
                    self.after_failure(call, attempt, Failure::Transport(message), true)
                }
                Ok(Err(SendError::Other(message))) => {
                    self.after_failure(call, attempt, Failure::Transport(message), false)
                }
                Ok(Ok(response)) => self.judge(call, attempt, response),
            };
            match verdict {
                Verdict::Final(response) => return Ok(response),
                Verdict::Fail(error) => return Err(error),
                Verdict::Retry { wait, cause } => {
                    if attempt >= self.policy.max_attempts {
                        return Err(self.exhausted(call, attempt, cause));
                    }
                    tracing::warn!(
                        forge = %self.forge,
                        what = %call.what,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "forge call failed, retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    fn after_failure(
        &self,
        call: &Call,
        attempt: u32,
        cause: Failure,
        surely_not_applied: bool,
    ) -> Verdict {
        if call.idempotency == Idempotency::Safe || surely_not_applied {
            Verdict::Retry {
                wait: self.backoff(attempt),
                cause,
            }
        } else {
            Verdict::Fail(self.exhausted(call, attempt, cause))
        }
    }

    fn judge(&self, call: &Call, attempt: u32, response: RawResponse) -> Verdict {
        if let Some(wait) = rate_limit_wait(&response) {
            return match wait {
                Some(wait) if wait > self.policy.max_rate_limit_wait => {
                    Verdict::Fail(ForgeError::RateLimited {
                        forge: self.forge,
                        what: call.what.clone(),
                        retry_after: Some(wait),
                    })
                }
                Some(wait) => Verdict::Retry {
                    wait,
                    cause: Failure::Status(response),
                },
                None => Verdict::Retry {
                    wait: self.backoff(attempt),
                    cause: Failure::Status(response),
                },
            };
        }
        let status = response.status;
        let gateway = matches!(status, 502..=504);
        let retry = match status {
            409 => call.retry_conflict,
            500..=599 => call.idempotency == Idempotency::Safe || gateway,
            _ => false,
        };
        if retry {
            Verdict::Retry {
                wait: self.backoff(attempt),
                cause: Failure::Status(response),
            }
        } else {
            Verdict::Final(response)
        }
    }

    fn exhausted(&self, call: &Call, attempts: u32, cause: Failure) -> ForgeError {
        let forge = self.forge;
        let what = call.what.clone();
        match cause {
            Failure::Timeout => ForgeError::Timeout {
                forge,
                what,
                attempts,
            },
            Failure::Transport(message) => ForgeError::Transport {
                forge,
                what,
                attempts,
                message,
            },
            Failure::Status(response) => match response.status {
                429 | 403 => ForgeError::RateLimited {
                    forge,
                    what,
                    retry_after: None,
                },
                status if status >= 500 => ForgeError::Server {
                    forge,
                    what,
                    status,
                    attempts,
                },
                _ => response.into_error(forge, &what),
            },
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let full = self
            .policy
            .base_backoff
            .saturating_mul(1 << exponent)
            .min(self.policy.max_backoff);
        // Jitter in [50%, 100%] so bots that failed together do not retry together.
        full.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}

/// `Some` when the answer is a rate limit: `Some(Some(wait))` when the forge said how long,
/// `Some(None)` when it did not. GitLab answers 429; GitHub answers 429 or 403 and marks its
/// primary limit with `x-ratelimit-remaining: 0` and its secondary limits with `retry-after`.
fn rate_limit_wait(response: &RawResponse) -> Option<Option<Duration>> {
    let retry_after = response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let exhausted = response.header("x-ratelimit-remaining").map(str::trim) == Some("0");
    let reset = response
        .header("x-ratelimit-reset")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(until_epoch);
    match response.status {
        429 => Some(retry_after.or(if exhausted { reset } else { None })),
        403 if retry_after.is_some() => Some(retry_after),
        403 if exhausted => Some(reset),
        _ => None,
    }
}

fn until_epoch(epoch_seconds: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    // The reset second itself may still be limited: wait into the next one.
    Duration::from_secs(epoch_seconds)
        .saturating_sub(now)
        .saturating_add(Duration::from_millis(500))
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters pass).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&'static str, &str)]) -> RawResponse {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        RawResponse {
            status,
            headers: map,
            body: Vec::new(),
        }
    }

    #[test]
    fn rate_limits_are_recognised_on_both_forges() {
        assert_eq!(
            rate_limit_wait(&response(429, &[("retry-after", "7")])),
            Some(Some(Duration::from_secs(7)))
        );
        assert_eq!(rate_limit_wait(&response(429, &[])), Some(None));
        assert_eq!(
            rate_limit_wait(&response(403, &[("retry-after", "60")])),
            Some(Some(Duration::from_secs(60)))
        );
        // A plain permission refusal is not a rate limit.
        assert_eq!(
            rate_limit_wait(&response(403, &[("x-ratelimit-remaining", "4999")])),
            None
        );
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 30;
        let wait = rate_limit_wait(&response(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &reset.to_string()),
            ],
        ))
        .flatten()
        .unwrap();
        assert!(wait > Duration::from_secs(28) && wait <= Duration::from_secs(31));
        assert_eq!(
            rate_limit_wait(&response(500, &[("retry-after", "1")])),
            None
        );
    }

    #[test]
    fn encoding_keeps_unreserved_and_escapes_the_rest() {
        assert_eq!(encode("eap/gitops"), "eap%2Fgitops");
        assert_eq!(encode("ferry/staging/web"), "ferry%2Fstaging%2Fweb");
        assert_eq!(encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode("o:b r"), "o%3Ab%20r");
    }

    #[test]
    fn backoff_doubles_within_bounds() {
        let transport = Transport::new(
            ForgeKind::GitLab,
            HttpPolicy {
                base_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_millis(300),
                ..HttpPolicy::default()
            },
        );
        for _ in 0..50 {
            let first = transport.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = transport.backoff(3);
            assert!(third >= Duration::from_millis(150) && third <= Duration::from_millis(300));
        }
    }

    #[test]
    fn error_messages_are_cut_short() {
        let mut long = response(422, &[]);
        long.body = serde_json::to_vec(&serde_json::json!({"message": "é".repeat(400)})).unwrap();
        assert!(long.message().chars().count() <= 301);
        let mut gitlab = response(400, &[]);
        gitlab.body = br#"{"error":"title is missing"}"#.to_vec();
        assert_eq!(gitlab.message(), "title is missing");
    }
}

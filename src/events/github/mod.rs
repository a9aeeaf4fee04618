//! GitHub webhooks: push, create, pull_request, issue_comment, pull_request_review,
//! check_suite and status. GitHub names the kind only in the `X-GitHub-Event` header.

mod check;
mod comment;
mod pull_request;
mod push;

use serde::Deserialize;

use crate::domain::{Actor, CommitSha, ForgeEvent, ProjectPath, UserId};

use super::EventError;

pub(super) fn parse(header: &str, body: &[u8]) -> Result<ForgeEvent, EventError> {
    match header {
        "push" => push::push(body),
        "create" => push::create(body),
        "pull_request" => pull_request::pull_request(body),
        "pull_request_review" => pull_request::review(body),
        "issue_comment" => comment::parse(body),
        "check_suite" => check::check_suite(body),
        "status" => check::status(body),
        "ping" => Ok(ForgeEvent::Ignored(
            "GitHub `ping`: the webhook is set up".into(),
        )),
        other => Ok(ForgeEvent::Ignored(format!(
            "GitHub `{other}` events are not used by Ferry"
        ))),
    }
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

impl Repository {
    fn path(&self, kind: &'static str) -> Result<ProjectPath, EventError> {
        ProjectPath::parse(&self.full_name)
            .map_err(|e| EventError::bad(kind, "repository.full_name", e))
    }
}

#[derive(Deserialize)]
struct User {
    login: String,
    id: u64,
    #[serde(rename = "type")]
    account_type: Option<String>,
}

impl User {
    fn actor(&self) -> Actor {
        Actor {
            id: UserId(self.id),
            username: self.login.clone(),
        }
    }

    fn is_bot(&self) -> bool {
        self.account_type.as_deref() == Some("Bot")
    }
}

fn sha(kind: &'static str, field: &'static str, text: &str) -> Result<CommitSha, EventError> {
    CommitSha::parse(text).map_err(|e| EventError::bad(kind, field, e))
}

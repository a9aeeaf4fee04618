//! Every change made through the local forge, kept as the domain event it is, in order, so a
//! running server can feed them to the engine as webhooks would.
//!
//! The rows are Ferry's own small serde records rather than `ForgeEvent` itself: the domain
//! types are not serializable on purpose (webhook payloads are their only wire format), and a
//! record of our own can stay readable when the domain types change.

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use crate::domain::forge_event::{
    Comment, MergeRequest, MergeRequestMerge, Push, Review, ReviewState,
};
use crate::domain::{Actor, CommitSha, ForgeEvent, ProjectPath, UserId};

use super::db::{now, sql, unsql};
use super::error::LocalError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ActorRecord {
    pub id: u64,
    pub username: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PushRecord {
    pub project: String,
    pub name: String,
    pub before: Option<String>,
    pub sha: String,
    pub pusher: Option<ActorRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MrRecord {
    pub project: String,
    pub number: u64,
    pub title: String,
    pub source_branch: String,
    pub target_branch: String,
    pub head_sha: Option<String>,
    pub author_id: u64,
    pub actor: Option<ActorRecord>,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MergeRecord {
    pub merge_request: MrRecord,
    pub merged_by: Option<ActorRecord>,
    pub merge_sha: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CommentRecord {
    pub project: String,
    pub merge_request: u64,
    pub note_id: u64,
    pub author: ActorRecord,
    pub body: String,
    pub edited: bool,
    pub created_at: String,
    pub url: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    Approved,
    Unapproved,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReviewRecord {
    pub project: String,
    pub merge_request: u64,
    pub reviewer: ActorRecord,
    pub verdict: Verdict,
    pub head_sha: Option<String>,
}

/// One outbox row. The tag is the `ForgeEvent` kind it becomes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Recorded {
    BranchPushed(PushRecord),
    TagPushed(PushRecord),
    MrOpened(MrRecord),
    MrUpdated(MrRecord),
    MrClosed(MrRecord),
    MrMerged(MergeRecord),
    CommentCreated(CommentRecord),
    ReviewSubmitted(ReviewRecord),
}

fn project(text: &str) -> Result<ProjectPath, LocalError> {
    ProjectPath::parse(text).map_err(|err| LocalError::Corrupt(err.to_string()))
}

fn sha(text: &str) -> Result<CommitSha, LocalError> {
    CommitSha::parse(text).map_err(|err| LocalError::Corrupt(err.to_string()))
}

fn actor(record: ActorRecord) -> Actor {
    Actor {
        id: UserId(record.id),
        username: record.username,
    }
}

impl From<&crate::forge::User> for ActorRecord {
    fn from(user: &crate::forge::User) -> Self {
        Self {
            id: user.id.0,
            username: user.username.clone(),
        }
    }
}

impl MrRecord {
    fn into_domain(self) -> Result<MergeRequest, LocalError> {
        Ok(MergeRequest {
            project: project(&self.project)?,
            number: self.number,
            title: self.title,
            source_branch: self.source_branch,
            target_branch: self.target_branch,
            head_sha: self.head_sha.as_deref().map(sha).transpose()?,
            author_id: Some(UserId(self.author_id)),
            actor: self.actor.map(actor),
            draft: false,
            url: Some(self.url),
        })
    }
}

impl PushRecord {
    fn into_domain(self) -> Result<Push, LocalError> {
        Ok(Push {
            project: project(&self.project)?,
            name: self.name,
            before: self.before.as_deref().map(sha).transpose()?,
            sha: sha(&self.sha)?,
            // The local forge does not diff pushes; `None` means "unknown", so path filters
            // in the policy match as they do for truncated webhook payloads.
            changed_paths: None,
            pusher: self.pusher.map(actor),
        })
    }
}

impl Recorded {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::BranchPushed(_) => "branch_pushed",
            Self::TagPushed(_) => "tag_pushed",
            Self::MrOpened(_) => "mr_opened",
            Self::MrUpdated(_) => "mr_updated",
            Self::MrClosed(_) => "mr_closed",
            Self::MrMerged(_) => "mr_merged",
            Self::CommentCreated(_) => "comment_created",
            Self::ReviewSubmitted(_) => "review_submitted",
        }
    }

    pub(crate) fn into_event(self) -> Result<ForgeEvent, LocalError> {
        Ok(match self {
            Self::BranchPushed(push) => ForgeEvent::BranchPushed(push.into_domain()?),
            Self::TagPushed(push) => ForgeEvent::TagPushed(push.into_domain()?),
            Self::MrOpened(mr) => ForgeEvent::MrOpened(mr.into_domain()?),
            Self::MrUpdated(mr) => ForgeEvent::MrUpdated(mr.into_domain()?),
            Self::MrClosed(mr) => ForgeEvent::MrClosed(mr.into_domain()?),
            Self::MrMerged(merge) => ForgeEvent::MrMerged(MergeRequestMerge {
                merge_request: merge.merge_request.into_domain()?,
                merged_by: merge.merged_by.map(actor),
                merge_sha: sha(&merge.merge_sha)?,
            }),
            Self::CommentCreated(comment) => ForgeEvent::CommentCreated(Comment {
                project: project(&comment.project)?,
                merge_request: comment.merge_request,
                note_id: comment.note_id,
                author: actor(comment.author),
                body: comment.body,
                system: false,
                edited: comment.edited,
                author_is_bot: false,
                created_at: comment.created_at.parse().ok(),
                url: Some(comment.url),
            }),
            Self::ReviewSubmitted(review) => ForgeEvent::ReviewSubmitted(Review {
                project: project(&review.project)?,
                merge_request: review.merge_request,
                reviewer: actor(review.reviewer),
                state: match review.verdict {
                    Verdict::Approved => ReviewState::Approved,
                    Verdict::Unapproved => ReviewState::Unapproved,
                },
                head_sha: review.head_sha.as_deref().map(sha).transpose()?,
            }),
        })
    }
}

/// Appends `record` inside the caller's transaction, so the change and its event commit
/// together or not at all.
pub(crate) fn append(connection: &Connection, record: &Recorded) -> Result<u64, LocalError> {
    let payload = serde_json::to_string(record)
        .map_err(|err| LocalError::Corrupt(format!("cannot write an event: {err}")))?;
    connection
        .execute(
            "INSERT INTO outbox (kind, payload, created_at) VALUES (?1, ?2, ?3)",
            params![record.kind(), payload, now()],
        )
        .map_err(LocalError::store("record an event"))?;
    Ok(unsql(connection.last_insert_rowid()))
}

/// The events with a sequence number above `after`, oldest first.
pub(crate) fn after(
    connection: &Connection,
    after: u64,
) -> Result<Vec<(u64, Recorded)>, LocalError> {
    let mut statement = connection
        .prepare("SELECT seq, payload FROM outbox WHERE seq > ?1 ORDER BY seq")
        .map_err(LocalError::store("read the events"))?;
    let rows = statement
        .query_map([sql(after)], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(LocalError::store("read the events"))?;
    rows.into_iter()
        .map(|(seq, payload)| {
            serde_json::from_str(&payload)
                .map(|record| (unsql(seq), record))
                .map_err(|err| LocalError::Corrupt(format!("event {seq}: {err}")))
        })
        .collect()
}

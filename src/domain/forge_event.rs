//! Forge events: what happened on GitLab or GitHub, in words that do not depend on the forge.
//! `events` turns webhook payloads into these; the engine decides what to do with them.

use std::fmt;

use jiff::Timestamp;

use super::source::{CommitSha, GitRef, ProjectPath, UserId};

/// The forge a delivery came from or an adapter talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Forge {
    GitLab,
    GitHub,
}

impl Forge {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GitLab => "gitlab",
            Self::GitHub => "github",
        }
    }

    /// The forge's own name, for messages to people.
    pub fn name(self) -> &'static str {
        match self {
            Self::GitLab => "GitLab",
            Self::GitHub => "GitHub",
        }
    }

    /// How the forge writes a merge request number in prose: `!12` or `#12`.
    pub fn merge_request_ref(self, number: u64) -> String {
        match self {
            Self::GitLab => format!("merge request !{number}"),
            Self::GitHub => format!("pull request #{number}"),
        }
    }
}

impl std::str::FromStr for Forge {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "gitlab" => Ok(Self::GitLab),
            "github" => Ok(Self::GitHub),
            other => Err(format!("unknown forge `{other}`: write gitlab or github")),
        }
    }
}

impl fmt::Display for Forge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A forge user. Decisions are keyed on `id`; `username` is for messages and mentions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor {
    pub id: UserId,
    pub username: String,
}

/// Who Ferry itself is on a forge, so that its own comments are not read as commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    /// Known once the forge told us (GitLab `GET /user`, the GitHub App's bot user).
    pub user_id: Option<UserId>,
    pub username: String,
}

impl BotIdentity {
    /// Matches by id when known: usernames can be renamed and then reused by someone else.
    pub fn is(&self, actor: &Actor) -> bool {
        match self.user_id {
            Some(id) => id == actor.id,
            None => self.username.eq_ignore_ascii_case(&actor.username),
        }
    }
}

/// Something that happened on a forge and may matter to Ferry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgeEvent {
    /// Commits were pushed to a branch (including the push that creates it).
    BranchPushed(Push),
    /// A tag was pushed.
    TagPushed(Push),
    /// A branch or tag was created without a commit id in the payload (GitHub `create`). GitHub
    /// also sends a `push` for the same ref, which carries the commit: act on that one.
    RefCreated {
        project: ProjectPath,
        git_ref: GitRef,
    },
    /// A merge request was opened or reopened.
    MrOpened(MergeRequest),
    /// New commits were pushed to a merge request's source branch.
    MrUpdated(MergeRequest),
    MrMerged(MergeRequestMerge),
    /// A merge request was closed without being merged.
    MrClosed(MergeRequest),
    /// A comment on a merge request, new or edited.
    CommentCreated(Comment),
    /// A review verdict on a merge request (GitHub review, GitLab approval).
    ReviewSubmitted(Review),
    /// A pipeline (GitLab) or check suite / commit status (GitHub) reached a final state.
    PipelineFinished(Pipeline),
    /// A payload of a known kind that Ferry has no use for, and why.
    Ignored(String),
}

impl ForgeEvent {
    /// A short name of the event's kind, for logs and records.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BranchPushed(_) => "branch_pushed",
            Self::TagPushed(_) => "tag_pushed",
            Self::RefCreated { .. } => "ref_created",
            Self::MrOpened(_) => "mr_opened",
            Self::MrUpdated(_) => "mr_updated",
            Self::MrMerged(_) => "mr_merged",
            Self::MrClosed(_) => "mr_closed",
            Self::CommentCreated(_) => "comment_created",
            Self::ReviewSubmitted(_) => "review_submitted",
            Self::PipelineFinished(_) => "pipeline_finished",
            Self::Ignored(_) => "ignored",
        }
    }

    /// The project the event happened in; `None` for ignored payloads.
    pub fn project(&self) -> Option<&ProjectPath> {
        match self {
            Self::BranchPushed(push) | Self::TagPushed(push) => Some(&push.project),
            Self::RefCreated { project, .. } => Some(project),
            Self::MrOpened(mr) | Self::MrUpdated(mr) | Self::MrClosed(mr) => Some(&mr.project),
            Self::MrMerged(merge) => Some(&merge.merge_request.project),
            Self::CommentCreated(comment) => Some(&comment.project),
            Self::ReviewSubmitted(review) => Some(&review.project),
            Self::PipelineFinished(pipeline) => Some(&pipeline.project),
            Self::Ignored(_) => None,
        }
    }
}

/// A push of a branch or tag to a new commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub project: ProjectPath,
    /// The branch or tag short name (`develop`, `v1.2.3`).
    pub name: String,
    /// The commit the ref pointed at before; `None` when the ref is new.
    pub before: Option<CommitSha>,
    /// The commit the ref points at now (for annotated tags: the tagged commit, not the tag).
    pub sha: CommitSha,
    /// Paths changed by the push when the payload lists all of them; `None` when unknown
    /// (tags, or commit lists truncated by the forge).
    pub changed_paths: Option<Vec<String>>,
    pub pusher: Option<Actor>,
}

/// A merge request (GitLab) or pull request (GitHub), as far as Ferry needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequest {
    pub project: ProjectPath,
    /// GitLab `iid`, GitHub `number`: the number people see.
    pub number: u64,
    pub title: String,
    pub source_branch: String,
    pub target_branch: String,
    /// The source branch's last commit; `None` only when the forge did not send it.
    pub head_sha: Option<CommitSha>,
    pub author_id: Option<UserId>,
    /// Who caused this event (opened, pushed, closed ...), when the payload says.
    pub actor: Option<Actor>,
    pub draft: bool,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequestMerge {
    pub merge_request: MergeRequest,
    pub merged_by: Option<Actor>,
    /// The commit the merge put on the target branch (merge, squash or fast-forwarded commit).
    pub merge_sha: CommitSha,
}

/// A comment on a merge request. Commands in it run only when [`Comment::skip_reason`] says
/// nothing; edited comments are flagged so the engine runs only commands it has not run yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub project: ProjectPath,
    pub merge_request: u64,
    /// GitLab note id or GitHub comment id: the key for "already ran" bookkeeping.
    pub note_id: u64,
    pub author: Actor,
    pub body: String,
    /// GitLab system notes ("added 1 commit", "approved this merge request") are written by
    /// GitLab, not by the user they name.
    pub system: bool,
    pub edited: bool,
    /// The forge says the author is a bot account (GitHub `type: Bot`).
    pub author_is_bot: bool,
    pub created_at: Option<Timestamp>,
    pub url: Option<String>,
}

impl Comment {
    /// Why the commands in this comment must not run, if they must not.
    pub fn skip_reason(&self, bot: &BotIdentity) -> Option<&'static str> {
        if self.system {
            Some("it is a system note written by the forge")
        } else if bot.is(&self.author) {
            Some("Ferry wrote it")
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewState {
    Approved,
    /// An earlier approval was withdrawn (GitLab `unapproval`).
    Unapproved,
    ChangesRequested,
    Commented,
    /// A review was dismissed by a maintainer (GitHub).
    Dismissed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub project: ProjectPath,
    pub merge_request: u64,
    pub reviewer: Actor,
    pub state: ReviewState,
    /// The commit the review applies to, when the forge says (GitHub `commit_id`).
    pub head_sha: Option<CommitSha>,
}

/// The final state of a pipeline or check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineStatus {
    Success,
    /// Failed, errored, timed out, or needs action.
    Failed,
    Canceled,
    /// Skipped, neutral or stale: finished without a verdict.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub project: ProjectPath,
    /// GitLab pipeline id or GitHub check suite id; `None` for GitHub commit statuses.
    pub id: Option<u64>,
    pub sha: CommitSha,
    /// The branch or tag it ran for; `None` for merge request refs and unknown refs.
    pub git_ref: Option<GitRef>,
    pub status: PipelineStatus,
    /// The check or status name (GitHub app slug or status `context`); `None` on GitLab.
    pub name: Option<String>,
    pub merge_request: Option<u64>,
    pub url: Option<String>,
    pub finished_at: Option<Timestamp>,
}

//! A query's limits: its deadline (one deadline for queueing, a child's
//! start and the answer), the caller's cancellation, and the progress
//! messages that tell a waiting caller what is happening.

use std::time::Duration;

use tokio::time::Instant;

use super::{InstanceError, Progress, Query};

/// How often a waiting caller hears how long it has been waiting.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Longest assistant text quoted in a progress message, in characters.
pub(super) const PROGRESS_TEXT_CHARS: usize = 200;

/// Longest text of an agent (what it says, its reply) kept in an
/// instance's journal event, in characters.
pub(super) const JOURNAL_TEXT_CHARS: usize = 2000;

/// Sends a progress message to the caller, if it listens.
pub(super) fn report(q: &Query, message: String) {
    if let Some(p) = &q.progress {
        p(Progress { message });
    }
}

/// The progress line for one tool use of the agent: what it tried and
/// whether the module's policy let it.
pub(super) fn tool_progress(used: &crate::policy::ToolUse) -> String {
    let mut line = format!("tool use {used}");
    if used.outcome == crate::policy::ToolOutcome::Refused
        && let Some(why) = &used.detail
    {
        line.push_str(&format!(" ({})", truncate(why, PROGRESS_TEXT_CHARS)));
    }
    line
}

/// The first `max` characters of `text`.
pub(super) fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// When a query that arrived at `arrived` must have its answer.
pub(super) fn deadline_of(q: &Query, arrived: Instant) -> Instant {
    arrived + q.timeout
}

/// Awaits `work` until the query's deadline or its cancellation, telling
/// the caller every few seconds what it waits for (`doing`, e.g. "waiting
/// for arangodb's agent"). Dropping `work` is what cancels it at the child.
pub(super) async fn run_with_limits<T>(
    work: impl std::future::Future<Output = Result<T, InstanceError>>,
    q: &Query,
    deadline: Instant,
    doing: &str,
) -> Result<T, InstanceError> {
    let since = Instant::now();
    let mut ticker = tokio::time::interval_at(since + PROGRESS_EVERY, PROGRESS_EVERY);
    tokio::pin!(work);
    loop {
        tokio::select! {
            result = &mut work => return result,
            _ = tokio::time::sleep_until(deadline) => {
                tracing::warn!(target_module = %q.target, timeout_s = q.timeout.as_secs(), "request timed out while {doing}");
                return Err(InstanceError::Timeout { seconds: q.timeout.as_secs(), during: doing.to_string() });
            }
            _ = q.cancel.cancelled() => return Err(InstanceError::Cancelled),
            _ = ticker.tick() => report(q, format!("{doing}: {}s", since.elapsed().as_secs())),
        }
    }
}

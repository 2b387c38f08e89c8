//! Hub errors in the CLI's words. The hub words its errors for MCP callers,
//! who name tool arguments (`source`, `conversation_id`, ...) and are told
//! to call tools again; a CLI user typed flags and runs commands. The CLI
//! branches on the error's variant, never on its text: a bad or missing
//! argument is named by the flag that sets it, a failed query gets the
//! command that asks again.

use crate::hub::{Argument, HubError};

/// The flag (or word) that sets `argument` on the command line.
pub fn flag_of(argument: Argument) -> &'static str {
    match argument {
        Argument::Source => "--from",
        Argument::Target => "--to",
        Argument::Message => "the message",
        Argument::ConversationId => "--conversation",
        Argument::IdempotencyKey => "--idempotency-key",
        Argument::TimeoutS => "--timeout",
        Argument::Module => "--module",
        Argument::Pair => "--pair",
        Argument::Status => "--status",
        Argument::Format => "--format",
        Argument::Since => "--since",
    }
}

/// What to do after a query got no answer, in commands.
pub fn query_failed_advice(conversation_id: &str) -> String {
    format!(
        "The message and this failure are stored in conversation {conversation_id}. Once the cause is fixed, `claude-comms send --conversation {conversation_id} MESSAGE` asks again with the history; `claude-comms doctor` checks node, the child package and the claude CLI."
    )
}

/// `error` as the CLI says it.
pub fn in_cli_words(error: &HubError) -> String {
    match error {
        HubError::BadArgument { argument, problem } => {
            format!("{}: {problem}", flag_of(*argument))
        }
        HubError::MissingArgument { argument } => {
            let flag = flag_of(*argument);
            match argument {
                Argument::Source => {
                    format!("{flag}: no asking module given, and no CLAUDE_COMMS_MODULE is set")
                }
                Argument::Target => format!(
                    "{flag}: name the module to ask, or give {}",
                    flag_of(Argument::ConversationId)
                ),
                _ => format!("{flag} is required"),
            }
        }
        HubError::QueryFailed {
            reason,
            conversation_id,
            ..
        } => format!("{reason}\n{}", query_failed_advice(conversation_id)),
        HubError::Daemon(text) => cli_words(text),
        other => other.to_string(),
    }
}

/// The one error text the CLI still rewrites: a failure a daemon of an
/// older build sent as text alone (it carries no typed failure, see
/// `hub::daemon_ops::DaemonFailure`), and errors that reach `main` as text.
/// Each argument the text names becomes the flag that sets it.
pub fn cli_words(text: &str) -> String {
    const FLAGS: &[(&str, &str)] = &[
        ("argument `source`", "--from"),
        ("argument `target`", "--to"),
        ("argument `conversation_id`", "--conversation"),
        ("argument `idempotency_key`", "--idempotency-key"),
        ("argument `timeout_s`", "--timeout"),
        ("argument `message`", "the message"),
        ("argument `module`", "--module"),
        ("argument `status`", "--status"),
        ("argument `format`", "--format"),
        ("give a conversation_id", "give --conversation"),
        (
            "send it again with this conversation_id (the history is kept)",
            "ask again with `claude-comms send --conversation ID MESSAGE` (ID as above; the history is kept)",
        ),
        (
            "this server was not started with --module (or CLAUDE_COMMS_MODULE)",
            "no CLAUDE_COMMS_MODULE is set",
        ),
    ];
    FLAGS
        .iter()
        .fold(text.to_string(), |text, (hub, cli)| text.replace(hub, cli))
}

/// `run`'s error, with a hub error the CLI words its own way in those
/// words (it reaches `main` as text). Any other error, and one with
/// context around it, is left as it is.
pub fn with_cli_words(error: anyhow::Error) -> anyhow::Error {
    // The first link is the error itself: a hub error under context is
    // not matched, so the context is never dropped.
    let own_words = error
        .chain()
        .next()
        .and_then(|top| top.downcast_ref::<HubError>())
        .filter(|hub| {
            matches!(
                hub,
                HubError::BadArgument { .. }
                    | HubError::MissingArgument { .. }
                    | HubError::QueryFailed { .. }
                    | HubError::Daemon(_)
            )
        })
        .map(in_cli_words);
    match own_words {
        Some(text) => anyhow::anyhow!(text),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Thing;

    #[test]
    fn a_bad_argument_names_the_flag_that_sets_it() {
        let cases = [
            (Argument::Target, "--to"),
            (Argument::ConversationId, "--conversation"),
            (Argument::Pair, "--pair"),
            (Argument::Since, "--since"),
        ];
        for (argument, flag) in cases {
            let error = HubError::bad_argument(argument, "is wrong");
            assert_eq!(in_cli_words(&error), format!("{flag}: is wrong"));
        }
    }

    #[test]
    fn a_missing_argument_is_asked_for_by_flag_and_setting() {
        let source = HubError::MissingArgument {
            argument: Argument::Source,
        };
        assert_eq!(
            in_cli_words(&source),
            "--from: no asking module given, and no CLAUDE_COMMS_MODULE is set"
        );
        let target = HubError::MissingArgument {
            argument: Argument::Target,
        };
        assert_eq!(
            in_cli_words(&target),
            "--to: name the module to ask, or give --conversation"
        );
    }

    #[test]
    fn a_failed_query_gets_the_command_that_asks_again_not_the_agent_advice() {
        let error = HubError::QueryFailed {
            explanation: "send it again with this conversation_id".into(),
            reason: "the graph is down".into(),
            conversation_id: "c-1".into(),
            message_id: "m-1".into(),
        };
        let text = in_cli_words(&error);
        assert!(text.starts_with("the graph is down\n"), "{text}");
        assert!(
            text.contains("claude-comms send --conversation c-1"),
            "{text}"
        );
        assert!(!text.contains("conversation_id"), "{text}");
    }

    #[test]
    fn other_errors_keep_their_text() {
        let error = HubError::not_found(Thing::Conversation, "c-9");
        assert_eq!(in_cli_words(&error), "unknown conversation \"c-9\"");
    }

    #[test]
    fn an_error_returned_with_question_mark_is_worded_for_the_cli_unless_under_context() {
        let bare = anyhow::Error::from(HubError::bad_argument(
            Argument::Since,
            "\"x\" is not a period",
        ));
        assert_eq!(
            format!("{:#}", with_cli_words(bare)),
            "--since: \"x\" is not a period"
        );
        let wrapped = anyhow::Error::from(HubError::bad_argument(Argument::Since, "bad"))
            .context("reading the stats");
        assert_eq!(
            format!("{:#}", with_cli_words(wrapped)),
            "reading the stats: argument `since`: bad"
        );
    }

    #[test]
    fn a_text_only_failure_from_an_older_daemon_still_names_flags() {
        assert_eq!(
            cli_words("argument `target`: name the module to ask, or give a conversation_id"),
            "--to: name the module to ask, or give --conversation"
        );
    }
}

//! The store's contract, written once against the public [`Store`] API and
//! run on every backend: what a caller may rely on whichever database holds
//! the data (issue 18: "the same meaning as on SQLite, proven by one store
//! test suite that runs against both backends").
//!
//! A backend's test binary implements [`Backend`] (where its databases
//! live) and expands [`store_suite!`] with it: each case below becomes a
//! `#[tokio::test]` of that binary, named `<topic>::<case>` inside the
//! module that expands it. The cases assert what the SQLite backend does;
//! a backend that fails one does not mean the same.

#![allow(dead_code)]

use claude_comms::store::Store;

pub mod ask_back;
pub mod concurrency;
pub mod conversations;
pub mod decoding;
pub mod export;
pub mod fleet;
pub mod helpers;
pub mod jobs;
pub mod ledger;
pub mod limits;
pub mod queries;
pub mod reads;
pub mod removal;
pub mod search;
pub mod servers;
pub mod texts;
pub mod tokens;

/// Where one test case's databases live (a temp folder of SQLite files, a
/// throw-away PostgreSQL cluster): nothing in it when it is created, and
/// gone when it is dropped.
pub trait Backend: Sized + Send + Sync + 'static {
    /// Whether this backend's stores hold a fleet (see `fleet.rs`).
    const HOLDS_A_FLEET: bool;

    /// A new place with no database in it; `None` when this backend cannot
    /// run on this machine (the case then passes as skipped, after saying
    /// why, unless the tier is required).
    fn create() -> Option<Self>;

    /// A new handle on the database `name` (created empty on first use).
    /// Two calls give two handles on one database, as two processes sharing
    /// it would have.
    fn open(&self, name: &str) -> Store;

    /// Runs `sql` on the database `name` behind the store's back (to damage
    /// a stored value on purpose). The statements used are the same in
    /// every backend's SQL.
    fn damage(&self, name: &str, sql: &str);
}

/// Expands every case of the suite into a `#[tokio::test]` on `$backend`
/// (a type implementing [`Backend`], named by its path from the crate
/// root). Multi-threaded, so that concurrent cases really run at once.
macro_rules! store_suite {
    ($backend:path) => {
        $crate::store_suite::store_suite!(@topics $backend;
            ask_back {
                a_question_back_waits_once_and_is_answered_once,
                a_question_back_ends_unanswered_or_with_its_query,
                a_question_asked_while_answering_is_a_child_of_it,
                questions_back_are_counted_per_pair_and_state,
                every_handle_hears_a_question_back_asked_answered_and_closed,
            },
            concurrency {
                sequence_numbers_stay_gapless_with_many_writers_on_many_handles,
                one_idempotency_key_stores_one_query_however_many_race,
                a_query_finished_from_two_handles_at_once_is_closed_once,
                a_failing_write_undoes_only_itself,
                a_follower_sees_every_message_once_while_many_write,
                followers_see_many_conversations_once_each_in_order,
                a_query_cap_holds_exactly_under_concurrent_senders_on_many_handles,
            },
            conversations {
                a_conversation_reads_back_as_created_from_every_handle,
                status_and_session_change_and_unknown_ids_are_named,
            },
            export {
                an_export_imports_into_another_database_as_it_was,
                an_empty_conversation_round_trips,
            },
            fleet {
                a_fleet_is_held_exactly_where_the_backend_can_hold_one,
                a_routed_question_is_claimed_once_and_closed_by_its_claimant,
                a_node_name_is_one_live_process_of_one_schema_version,
                a_node_lives_and_dies_with_its_process_s_one_heartbeat,
                descriptors_are_shared_with_every_node_and_withdrawn,
            },
            jobs {
                recent_queries_are_newest_first_by_status_and_module,
                ids_resolve_from_a_prefix_of_eight_characters_or_more,
            },
            ledger {
                spend_counts_queries_and_reply_costs_per_pair_and_target,
                outcomes_list_replies_failures_and_interruptions_oldest_first,
            },
            limits {
                oversized_input_is_refused_naming_the_field_and_its_limit,
                page_sizes_outside_one_to_the_maximum_are_refused,
                a_long_failure_reason_is_clipped_not_refused,
            },
            queries {
                a_query_is_pending_before_dispatch_and_finished_exactly_once,
                failures_and_cancellations_close_a_query_with_their_reason,
                a_repeated_idempotency_key_returns_the_first_query_and_outcome,
                an_archived_or_unknown_conversation_refuses_queries,
                query_context_and_backend_session_are_stored,
                a_reply_at_a_clean_commit_can_be_reused,
            },
            decoding {
                a_stored_value_that_does_not_decode_is_an_error_naming_its_row,
            },
            reads {
                message_windows_count_back_from_the_newest,
                conversation_pages_list_each_once_most_recently_active_first,
                followers_read_every_message_after_their_cursor_in_order,
            },
            removal {
                deleting_a_conversation_removes_it_and_its_messages,
                pruning_removes_inactive_conversations_except_those_awaiting_an_answer,
            },
            search {
                a_search_finds_messages_holding_every_word_newest_first,
                search_text_is_plain_words_never_syntax,
                odd_search_text_is_never_an_error,
            },
            servers {
                servers_list_their_instances_alive_or_not,
                recovery_interrupts_only_the_pending_queries_of_dead_servers,
                control_requests_reach_their_server_once,
            },
            texts {
                texts_with_nul_and_escape_characters_read_back_exactly,
                a_search_for_a_word_next_to_a_nul_finds_only_its_message,
            },
            tokens {
                tokens_are_stored_listed_revoked_and_touched,
                a_token_past_its_lifetime_reads_as_expired,
            },
        );
    };
    (@topics $backend:path; $($topic:ident { $($case:ident),+ $(,)? }),+ $(,)?) => {
        $(
            mod $topic {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $case() {
                        let Some(backend) = <$backend as $crate::store_suite::Backend>::create()
                        else {
                            return;
                        };
                        $crate::store_suite::$topic::$case(&backend).await;
                    }
                )+
            }
        )+
    };
}
pub(crate) use store_suite;

//! The hub's services: what faces call, grouped by what it is about.
//!
//! A service is a view of the hub (`hub.messaging().send(..)`): it borrows
//! the hub's shared core (configuration, module registry, store, tasks)
//! through `Deref`, and keeps the state only it changes in a state struct
//! of its own module whose fields no other service can reach (for
//! example the jobs this process carries are `jobs.rs`'s alone). A service
//! calls another through the hub (`self.modules().descriptor(..)`), so
//! every dependency between services is spelled out at its call.
//!
//! | service | what it does | files |
//! |---|---|---|
//! | [`Messaging`] | asks a module and waits for the answer; questions that come back | `messaging.rs`, `sending.rs`, `ask_back/` |
//! | [`Conversations`] | creates, reads, searches, exports, prunes conversations | `conversations.rs`, `cleanup.rs`, `stats.rs` |
//! | [`Jobs`] | questions sent without waiting, and their outcomes | `jobs.rs` |
//! | [`Instances`] | the agent processes: start, list, control, watch | `instances.rs`, `instance_control.rs`, `journal.rs` |
//! | [`Modules`] | descriptors, folders, relationships, agent policies | `modules.rs`, `profile.rs` |
//! | [`Tokens`] | module tokens of the HTTP face | `tokens.rs` |
//! | [`Node`] | this process in the store and in the fleet: liveness, hosting, status | `liveness.rs`, `fleet/`, `console_queries.rs` |
//! | [`Maintenance`] | the operator's checks and the store's upkeep | `doctor.rs`, `store_status.rs`, `store_copy.rs` |

use std::sync::Arc;

use super::Hub;

macro_rules! service {
    ($(#[$doc:meta])* $name:ident, $accessor:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'h> {
            hub: &'h Hub,
        }

        impl<'h> $name<'h> {
            /// The hub itself, for what must live as long as it (a
            /// reference returned to the caller).
            #[allow(dead_code)] // not every service returns one
            pub(crate) fn hub(self) -> &'h Hub {
                self.hub
            }
        }

        impl std::ops::Deref for $name<'_> {
            type Target = Hub;
            fn deref(&self) -> &Hub {
                self.hub
            }
        }

        impl Hub {
            #[doc = concat!("The [`", stringify!($name), "`] service.")]
            pub fn $accessor(&self) -> $name<'_> {
                $name { hub: self }
            }
        }
    };
}

service!(
    /// Asking a module and waiting for its answer (see `messaging.rs`), and
    /// the questions an answering agent asks back (see `ask_back/`).
    Messaging,
    messaging
);
service!(
    /// Conversations: create, read, follow, search, export and import,
    /// archive, delete and prune, and their statistics.
    Conversations,
    conversations
);
service!(
    /// Questions sent without waiting (jobs) and their outcomes.
    Jobs,
    jobs
);
service!(
    /// The answering agents' processes of this machine and of the fleet.
    Instances,
    instances
);
service!(
    /// The modules this process knows: descriptors, folders, relationships
    /// and the policy their agents run under.
    Modules,
    modules
);
service!(
    /// Module tokens: create, list, revoke, authenticate.
    Tokens,
    tokens
);
service!(
    /// This process as a member of the store and of the fleet: its
    /// liveness record, the modules it hosts, the fleet's status.
    Node,
    node
);
service!(
    /// The operator's checks (`doctor`) and the store's upkeep (status,
    /// copy, clock).
    Maintenance,
    maintenance
);

impl Hub {
    /// This hub as an `Arc`, for work that outlives the call that starts it
    /// (a job's task, a watch). Hubs are only ever made inside an `Arc`
    /// ([`Hub::open`]).
    // The `expect` cannot fire: a hub is made only inside its `Arc`
    // (`Arc::new_cyclic` in `Hub::open_with`) and never taken out of it,
    // so while a `&Hub` exists the `Arc` does too.
    #[allow(clippy::expect_used)]
    pub(crate) fn arc(&self) -> Arc<Hub> {
        self.me
            .upgrade()
            .expect("a hub is alive while one of its services is used")
    }
}

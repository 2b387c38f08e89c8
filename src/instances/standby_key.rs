//! What a standby stream process is kept for: the pool's state indexes
//! standbys by it (`manager.rs`), and `standby.rs` starts, hands over and
//! ends them.

use std::path::PathBuf;

use super::{ChildProfile, Query};

/// Where a standby can serve: the answering module, its folder, and the
/// profile its process was started with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct StandbyKey {
    pub module: String,
    pub workdir: PathBuf,
    pub profile: ChildProfile,
}

impl StandbyKey {
    pub fn of(q: &Query) -> StandbyKey {
        StandbyKey {
            module: q.target.clone(),
            workdir: q.workdir.clone(),
            profile: q.profile.clone(),
        }
    }
}

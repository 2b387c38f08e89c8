//! What the children that answer a query are started with beyond their
//! backend's config: the loop guard's hop context (and, with the
//! permission policy, what the answering agent may do). The instance pool
//! gives a query only to a child of the same profile.

use super::Hub;
use crate::context::HopContext;
use crate::instances::ChildProfile;

impl Hub {
    /// The profile for a query along `chain` (asking modules, then the answerer).
    pub(crate) fn child_profile(&self, chain: &[String]) -> ChildProfile {
        ChildProfile {
            env: HopContext::from_env().child_env(chain),
            stream_args: Vec::new(),
        }
    }
}

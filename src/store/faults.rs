//! The fault seam: tests make chosen writes fail, whatever the backend.
//!
//! A fault is checked in [`super::Store`] before the backend is called, so
//! every backend offers it alike and the failing write changes nothing.
//! It is how the tests prove that a reply, an outcome or a stream session
//! that cannot be stored is handled as `hub/outcome.rs` promises.

use std::sync::Mutex;

use super::model::Outcome;
use super::{Result, StoreError};

/// A write that an injected fault makes fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFault {
    /// Storing a reply to a query.
    Reply,
    /// Storing any outcome of a query: a reply or a failure.
    Outcome,
    /// Storing a conversation's backend (stream) session, such as with a
    /// reply that continues a session.
    BackendSession,
}

impl WriteFault {
    fn describe(self) -> &'static str {
        match self {
            WriteFault::Reply => "storing a reply fails",
            WriteFault::Outcome => "storing an outcome fails",
            WriteFault::BackendSession => "storing a backend session fails",
        }
    }
}

/// The faults in force on one [`super::Store`].
#[derive(Debug, Default)]
pub struct WriteFaults {
    /// Each fault with how many more writes it fails (`None`: until cleared).
    active: Mutex<Vec<(WriteFault, Option<u32>)>>,
}

impl WriteFaults {
    /// Makes every write that `fault` names fail until [`WriteFaults::clear`].
    #[doc(hidden)]
    pub fn inject(&self, fault: WriteFault) {
        self.active().push((fault, None));
    }

    /// Makes the next `times` writes that `fault` names fail.
    #[doc(hidden)]
    pub fn inject_times(&self, fault: WriteFault, times: u32) {
        self.active().push((fault, Some(times)));
    }

    /// Removes every injected fault.
    #[doc(hidden)]
    pub fn clear(&self) {
        self.active().clear();
    }

    /// Fails when a fault covers storing `outcome`.
    pub(super) fn check_outcome(&self, outcome: &Outcome) -> Result<()> {
        let is_reply = matches!(outcome, Outcome::Reply { .. });
        let with_session = matches!(
            outcome,
            Outcome::Reply {
                backend_session: Some(_),
                ..
            }
        );
        self.fire(|fault| match fault {
            WriteFault::Reply => is_reply,
            WriteFault::Outcome => true,
            WriteFault::BackendSession => with_session,
        })
    }

    /// Fails when a fault covers storing a conversation's backend session
    /// (`Some`; clearing it is not covered).
    pub(super) fn check_session(&self, storing_one: bool) -> Result<()> {
        self.fire(|fault| fault == WriteFault::BackendSession && storing_one)
    }

    /// Fails (and uses up one count) for the first fault that `applies`.
    fn fire(&self, applies: impl Fn(WriteFault) -> bool) -> Result<()> {
        let mut active = self.active();
        let Some(index) = active.iter().position(|(fault, _)| applies(*fault)) else {
            return Ok(());
        };
        let fault = active[index].0;
        if let Some(left) = &mut active[index].1 {
            *left -= 1;
            if *left == 0 {
                active.remove(index);
            }
        }
        Err(StoreError::Injected(fault.describe().to_string()))
    }

    fn active(&self) -> std::sync::MutexGuard<'_, Vec<(WriteFault, Option<u32>)>> {
        // A test that panicked while holding it left a usable list.
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(session: Option<&str>) -> Outcome {
        Outcome::Reply {
            sender: "b".into(),
            content: "answer".into(),
            instance_id: None,
            duration_ms: 1,
            usage: None,
            cost_usd: None,
            api_duration_ms: None,
            num_turns: None,
            backend_session: session.map(str::to_string),
            tool_uses: Vec::new(),
            module: Default::default(),
        }
    }

    fn failure() -> Outcome {
        Outcome::Failed {
            sender: "b".into(),
            reason: "timeout".into(),
            status: crate::store::MessageStatus::Failed,
            instance_id: None,
            duration_ms: 1,
            cause: "timeout".into(),
        }
    }

    #[test]
    fn each_fault_fails_only_the_writes_it_names() {
        let faults = WriteFaults::default();
        faults.inject(WriteFault::Reply);
        assert!(faults.check_outcome(&reply(None)).is_err());
        assert!(faults.check_outcome(&failure()).is_ok());
        faults.clear();
        faults.inject(WriteFault::BackendSession);
        let err = faults.check_outcome(&reply(Some("s1"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "database: injected fault: storing a backend session fails"
        );
        assert!(faults.check_outcome(&reply(None)).is_ok());
        assert!(faults.check_session(true).is_err());
        assert!(faults.check_session(false).is_ok());
        faults.clear();
        faults.inject(WriteFault::Outcome);
        assert!(faults.check_session(true).is_ok());
        assert!(faults.check_outcome(&failure()).is_err());
        assert!(faults.check_outcome(&reply(None)).is_err());
        faults.clear();
        assert!(faults.check_outcome(&reply(Some("s1"))).is_ok());
    }

    #[test]
    fn a_counted_fault_fails_that_many_writes_then_none() {
        let faults = WriteFaults::default();
        faults.inject_times(WriteFault::Outcome, 2);
        assert!(faults.check_outcome(&failure()).is_err());
        assert!(faults.check_outcome(&reply(None)).is_err());
        assert!(faults.check_outcome(&failure()).is_ok());
    }
}

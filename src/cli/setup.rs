//! `claude-comms setup`: prints what each step of [`crate::setup`] found or did.

use super::output::Output;
use crate::config::LoadedConfig;
use crate::setup::{SetupOptions, StepStatus};

/// Exit code: 1 when a step failed, or with `--check` when one is needed.
pub async fn run(
    config: &LoadedConfig,
    options: SetupOptions,
    out: &Output,
) -> anyhow::Result<i32> {
    let steps = crate::setup::run(config, options).await;
    if out.json {
        out.json(&steps)?;
    } else {
        for step in &steps {
            let mark = match step.status {
                StepStatus::Ok => "ok  ",
                StepStatus::Done => "done",
                StepStatus::Needed => "todo",
                StepStatus::Warning => "warn",
                StepStatus::Failed => "FAIL",
            };
            out.finding(mark, &step.name, &step.detail, &step.fix)?;
        }
    }
    let failed = steps.iter().any(|s| s.status == StepStatus::Failed);
    let needed = steps.iter().any(|s| s.status == StepStatus::Needed);
    Ok(i32::from(failed || (options.check && needed)))
}

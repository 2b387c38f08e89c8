//! `claude-comms doctor`: each check of the machine, the data dir and the
//! database, with how to fix what fails; exit 1 when any check failed.

use super::output::Output;
use crate::hub::Hub;

pub async fn run(hub: &Hub, no_start: bool, start: bool, out: &Output) -> anyhow::Result<i32> {
    use crate::hub::CheckStatus;
    let start_child = start || (!no_start && !hub.maintenance().child_start_may_download());
    let checks = hub.maintenance().doctor(start_child).await;
    hub.shutdown().await;
    if out.json {
        out.json(&checks)?;
    } else {
        for c in &checks {
            let mark = match c.status {
                CheckStatus::Ok => "ok  ",
                CheckStatus::Warning => "warn",
                CheckStatus::Failed => "FAIL",
            };
            out.finding(mark, &c.name, &c.detail, &c.fix)?;
        }
    }
    Ok(i32::from(
        checks.iter().any(|c| c.status == CheckStatus::Failed),
    ))
}

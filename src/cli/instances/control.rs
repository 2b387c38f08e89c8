//! `instances stop | pause | resume | restart ID`: one control request to
//! whichever server runs the instance, and the state it is in after.

use crate::cli::output::Output;
use crate::hub::{ControlAction, Hub};

pub async fn run(hub: &Hub, id: &str, action: ControlAction, out: &Output) -> anyhow::Result<i32> {
    let status = match hub.instances().control(id, action).await {
        Ok(status) => status,
        Err(e) => return out.hub_error_exit(&e),
    };
    if out.json {
        out.json(&status)?;
    } else {
        out.line(format!(
            "{} is {}",
            status.instance_id,
            status.state.as_str()
        ))?;
    }
    Ok(0)
}

//! `modules remove NAME`: deletes a registered descriptor from the user's
//! folder.

use serde_json::json;

use crate::cli::output::Output;
use crate::hub::Hub;

pub async fn run(hub: &Hub, name: &str, out: &Output) -> anyhow::Result<i32> {
    match hub.modules().remove(name).await {
        Ok(file) => {
            if out.json {
                out.json(&json!({"removed": name, "file": file}))?;
            } else {
                out.line(format!("removed {name} ({file})"))?;
            }
            Ok(0)
        }
        Err(e) => out.error_exit(e),
    }
}

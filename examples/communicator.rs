//! The Rust communicator in a few lines: ask a module, continue the
//! conversation, list and export it — in a throw-away data dir, so running
//! it leaves nothing behind.
//!
//! It needs a claude-code-mcp child to answer. With the in-repo stand-in
//! (no Node, no network, no Claude login):
//!
//! ```text
//! cargo build --bin fake-mcp-child
//! CLAUDE_COMMS_EXAMPLE_CHILD=target/debug/fake-mcp-child cargo run --example communicator
//! ```
//!
//! or with the path of an installed `claude-code-mcp` for real answers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use claude_comms::Communicator;
use claude_comms::communicator::SendEvent;
use claude_comms::hub::ExportFormat;

/// Names the child the example talks to.
pub const CHILD_ENV: &str = "CLAUDE_COMMS_EXAMPLE_CHILD";

#[tokio::main]
async fn main() -> ExitCode {
    let Some(child) = std::env::var_os(CHILD_ENV) else {
        eprintln!(
            "communicator example: set {CHILD_ENV} to a claude-code-mcp program, e.g.\n  cargo build --bin fake-mcp-child && {CHILD_ENV}=target/debug/fake-mcp-child cargo run --example communicator"
        );
        return ExitCode::from(2);
    };
    match run(Path::new(&child)).await {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("communicator example: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Everything the example does; returns what it would print.
pub async fn run(child: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let home = tempfile::tempdir()?;
    let folder = |module: &str| -> std::io::Result<PathBuf> {
        let path = home.path().join("modules").join(module);
        std::fs::create_dir_all(&path)?;
        Ok(path)
    };
    let arangodb = folder("arangodb")?.display().to_string();
    let child = child.display().to_string();

    let comm = Communicator::builder("marker")
        .data_dir(home.path())
        .folder(folder("marker")?)
        .configure(move |config| {
            config.module_paths.insert("arangodb".into(), arangodb);
            config.instances.claude_code_mcp.command = child;
            config.instances.claude_code_mcp.args = Vec::new();
        })
        .build()?;

    let mut printed = Vec::new();
    let first = comm
        .send_message("arangodb", "Which collections hold PDF pages?")
        .await?;
    printed.push(format!(
        "arangodb: {}",
        first_line(first.reply.as_deref().unwrap_or_default())
    ));

    let mut events = comm.send_streaming(claude_comms::hub::SendRequest {
        conversation_id: Some(first.conversation_id.clone()),
        message: "And their indexes? [[progress:2]]".into(),
        ..Default::default()
    });
    while let Some(event) = events.recv().await {
        match event {
            SendEvent::Progress(text) => printed.push(format!("progress: {text}")),
            SendEvent::InputRequired(asked) => {
                comm.answer_question(&asked.query_id, "the default ones")
                    .await?
            }
            SendEvent::Done(outcome) => printed.push(format!(
                "arangodb again: {}",
                first_line(outcome?.reply.as_deref().unwrap_or_default())
            )),
        }
    }

    for c in comm.list_conversations().await? {
        printed.push(format!(
            "conversation {} {} -> {} ({} messages)",
            c.id, c.source, c.target, c.message_count
        ));
    }
    let markdown = comm
        .export(&first.conversation_id, ExportFormat::Markdown)
        .await?;
    printed.push(format!(
        "export: {} lines of Markdown",
        markdown.lines().count()
    ));
    comm.close().await;
    Ok(printed)
}

/// An answer's first line, and how many more there are.
fn first_line(text: &str) -> String {
    let mut lines = text.trim().lines();
    let first = lines.next().unwrap_or("").to_string();
    match lines.count() {
        0 => first,
        more => format!("{first} (+{more} lines)"),
    }
}

//! The MCP face of claude-comms: a server handler whose tools, resources and
//! prompts call [`crate::hub::Hub`], served over [`transport::StdioFrames`].

pub(crate) mod access;
mod agent_tools;
mod comms_server;
mod completion;
mod mrtr;
mod prompts;
mod resources;
mod server;
mod subscriptions;
mod tasks;
mod tools;
pub mod transport;

pub use agent_tools::serve_agent_tools;
pub use comms_server::CommsServer;
pub use server::{SERVER_INSTRUCTIONS, ServeError, serve_stdio};

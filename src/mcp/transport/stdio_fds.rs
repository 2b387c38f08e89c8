//! stdin and stdout for `serve`, read and written by the event loop itself
//! when they are pipes or sockets (as every host starts an MCP server:
//! Node's child processes get socket pairs, Python's get pipes).
//!
//! Why not `tokio::io::stdin()`/`stdout()`: those work on files of every
//! kind by handing each read and each write to a blocking-pool thread, so
//! every request and every response cost two thread hand-offs more (a fifth
//! of the time `serve` added to a message; see docs/benchmarks.md). A pipe
//! or a socket can be polled instead: it is switched to non-blocking mode
//! and registered with the runtime. Anything else (a terminal, a file,
//! /dev/null) keeps tokio's blocking-pool streams.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};

/// stdin, polled when it is a pipe or a socket.
pub(crate) fn stdin() -> Pin<Box<dyn AsyncRead + Send>> {
    match polled(io::stdin().as_fd(), "stdin") {
        Some(Polled::Pipe(fd)) => match tokio::net::unix::pipe::Receiver::from_owned_fd(fd) {
            Ok(pipe) => return Box::pin(pipe),
            Err(e) => fell_back("stdin", &e),
        },
        Some(Polled::Socket(socket)) => return Box::pin(socket),
        None => {}
    }
    Box::pin(tokio::io::stdin())
}

/// stdout, polled when it is a pipe or a socket.
pub(crate) fn stdout() -> Pin<Box<dyn AsyncWrite + Send>> {
    match polled(io::stdout().as_fd(), "stdout") {
        Some(Polled::Pipe(fd)) => match tokio::net::unix::pipe::Sender::from_owned_fd(fd) {
            Ok(pipe) => return Box::pin(pipe),
            Err(e) => fell_back("stdout", &e),
        },
        Some(Polled::Socket(socket)) => return Box::pin(socket),
        None => {}
    }
    Box::pin(tokio::io::stdout())
}

enum Polled {
    /// A pipe (checked and made non-blocking by tokio).
    Pipe(OwnedFd),
    /// One end of a socket pair, already registered.
    Socket(tokio::net::UnixStream),
}

/// A copy of `fd` the runtime can poll, or `None` for a stream it cannot
/// (the caller keeps tokio's blocking streams then). The copy shares the
/// descriptor's mode with `fd`: both become non-blocking, which nothing
/// else in `serve` minds (its stdout carries only protocol frames, written
/// here).
fn polled(fd: BorrowedFd<'_>, stream: &str) -> Option<Polled> {
    let copy = fd.try_clone_to_owned().ok()?;
    let kind = File::from(copy.try_clone().ok()?)
        .metadata()
        .ok()?
        .file_type();
    if kind.is_fifo() {
        return Some(Polled::Pipe(copy));
    }
    if !kind.is_socket() {
        return None;
    }
    let socket = std::os::unix::net::UnixStream::from(copy);
    let registered = socket
        .set_nonblocking(true)
        .and_then(|()| tokio::net::UnixStream::from_std(socket));
    match registered {
        Ok(socket) => Some(Polled::Socket(socket)),
        Err(e) => {
            fell_back(stream, &e);
            None
        }
    }
}

fn fell_back(stream: &str, error: &io::Error) {
    tracing::debug!(stream, %error, "cannot poll this stream; it is read through a blocking thread");
}

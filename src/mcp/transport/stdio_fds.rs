//! stdin and stdout for `serve`, read and written by the event loop itself
//! when they are pipes or sockets (as every host starts an MCP server:
//! Node's child processes get socket pairs, Python's get pipes).
//!
//! Why not `tokio::io::stdin()`/`stdout()`: those work on files of every
//! kind by handing each read and each write to a blocking-pool thread, two
//! thread hand-offs more per request and per response (a `ping` round
//! trip: 0.094 ms at the median through `serve`, 0.120 ms through the fake
//! child, whose rmcp transport uses them; `cargo bench -- overhead`). A pipe or a socket can be polled instead: it is
//! switched to non-blocking mode and registered with the runtime. Anything
//! else (a terminal, a file, /dev/null) keeps tokio's blocking-pool streams.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::unix::pipe;

type Input = Pin<Box<dyn AsyncRead + Send>>;
type Output = Pin<Box<dyn AsyncWrite + Send>>;

/// stdin, polled when it is a pipe or a socket.
pub(crate) fn stdin() -> Input {
    let pipe = |fd| -> io::Result<Input> { Ok(Box::pin(pipe::Receiver::from_owned_fd(fd)?)) };
    let socket = |s| -> Input { Box::pin(s) };
    polled(io::stdin().as_fd(), "stdin", pipe, socket)
        .unwrap_or_else(|| Box::pin(tokio::io::stdin()))
}

/// stdout, polled when it is a pipe or a socket.
pub(crate) fn stdout() -> Output {
    let pipe = |fd| -> io::Result<Output> { Ok(Box::pin(pipe::Sender::from_owned_fd(fd)?)) };
    let socket = |s| -> Output { Box::pin(s) };
    polled(io::stdout().as_fd(), "stdout", pipe, socket)
        .unwrap_or_else(|| Box::pin(tokio::io::stdout()))
}

/// `stream` (a copy of `fd`) registered with the runtime, through `pipe`
/// or `socket` as it is one or the other; `None` for a stream the runtime
/// cannot poll (the caller keeps tokio's blocking streams then). The copy
/// shares the descriptor's mode with `fd`: both become non-blocking, which
/// nothing else in `serve` minds (its stdout carries only protocol frames,
/// written here).
fn polled<S>(
    fd: BorrowedFd<'_>,
    stream: &str,
    pipe: impl FnOnce(OwnedFd) -> io::Result<S>,
    socket: impl FnOnce(tokio::net::UnixStream) -> S,
) -> Option<S> {
    let registered = (|| {
        let copy = fd.try_clone_to_owned()?;
        let kind = File::from(copy.try_clone()?).metadata()?.file_type();
        if kind.is_fifo() {
            return pipe(copy).map(Some);
        }
        if !kind.is_socket() {
            return Ok(None);
        }
        let std_socket = std::os::unix::net::UnixStream::from(copy);
        std_socket.set_nonblocking(true)?;
        Ok(Some(socket(tokio::net::UnixStream::from_std(std_socket)?)))
    })();
    registered.unwrap_or_else(|error| {
        tracing::debug!(stream, %error, "cannot poll this stream; it goes through a blocking thread");
        None
    })
}

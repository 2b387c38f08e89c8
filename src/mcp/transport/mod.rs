//! The stdio transport of `serve`: newline-delimited JSON-RPC on stdin and
//! stdout, built from three parts joined by channels (reader task, the rmcp
//! service, writer task) so that end of stdin shuts everything down on its own.
//!
//! rmcp routes every method. This adds only what rmcp lacks (see [`frames`]):
//! a JSON-RPC error, keeping the request's id where it has one, for lines
//! rmcp would drop or mishandle; a bound on line length; refusing a second
//! request with an id still in flight; and, after end of stdin, answering
//! what was already asked before the session closes.

mod frames;
mod in_flight;
pub(crate) mod params;
pub(crate) mod removed;
pub(crate) mod stdio_fds;

use std::sync::Arc;
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{JsonRpcMessage, ProtocolVersion};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use frames::{Classifier, Frame};
use in_flight::InFlight;

/// Longest line accepted; longer ones are answered with an error and skipped
/// without being held in memory. 16 MiB leaves room for a 10 MB message after
/// JSON escaping, far beyond what any real request needs.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Lines the writer may hold before senders wait; 128 is plenty for one host.
const CHANNEL_CAPACITY: usize = 128;

/// How long, after stdin ends, requests already received may take to be
/// answered before the session closes anyway. Their work is stored either
/// way; this only lets a host that closed stdin early read the answers.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct StdioFrames {
    incoming: mpsc::Receiver<RxJsonRpcMessage<RoleServer>>,
    outgoing: mpsc::Sender<String>,
    in_flight: Arc<InFlight>,
    drain_deadline: Option<tokio::time::Instant>,
    /// Cancelled when the session closes or drops the transport: the reader
    /// stops then, even though stdin is still open (after a signal), so the
    /// writer can finish with the last frames.
    closed: tokio_util::sync::CancellationToken,
}

impl Drop for StdioFrames {
    fn drop(&mut self) {
        self.closed.cancel();
    }
}

impl StdioFrames {
    /// Starts the reader and writer tasks on the given streams (stdin and
    /// stdout in `serve`; in-memory pipes in tests), for a service that
    /// speaks every protocol version rmcp knows.
    ///
    /// The returned handle finishes once every frame has been written; await
    /// it after the session ends so no answer is lost at exit.
    pub fn spawn<R, W>(reader: R, writer: W) -> (StdioFrames, tokio::task::JoinHandle<()>)
    where
        R: AsyncBufRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        Self::spawn_with_versions(reader, writer, ProtocolVersion::KNOWN_VERSIONS.to_vec())
    }

    /// Like [`StdioFrames::spawn`], for a service that speaks only
    /// `supported_versions` (which decides, before `initialize`, which
    /// requests start a session).
    pub fn spawn_with_versions<R, W>(
        reader: R,
        writer: W,
        supported_versions: Vec<ProtocolVersion>,
    ) -> (StdioFrames, tokio::task::JoinHandle<()>)
    where
        R: AsyncBufRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (in_tx, in_rx) = mpsc::channel(CHANNEL_CAPACITY);
        let (out_tx, out_rx) = mpsc::channel(CHANNEL_CAPACITY);
        let in_flight = Arc::new(InFlight::default());
        let closed = tokio_util::sync::CancellationToken::new();
        let written = tokio::spawn(write_lines(writer, out_rx));
        let reading = read_lines(
            reader,
            Classifier::new(supported_versions),
            in_tx,
            out_tx.clone(),
            in_flight.clone(),
        );
        let stop_reading = closed.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = reading => {}
                _ = stop_reading.cancelled() => {}
            }
        });
        let frames = StdioFrames {
            incoming: in_rx,
            outgoing: out_tx,
            in_flight,
            drain_deadline: None,
            closed,
        };
        (frames, written)
    }
}

impl Transport<RoleServer> for StdioFrames {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let outgoing = self.outgoing.clone();
        let in_flight = self.in_flight.clone();
        // A response or error answers the request with its id.
        let answers = match &item {
            JsonRpcMessage::Response(response) => Some(response.id.clone()),
            JsonRpcMessage::Error(error) => error.id.clone(),
            _ => None,
        };
        let line = serde_json::to_string(&item);
        async move {
            let line = line.map_err(std::io::Error::other)?;
            let sent = outgoing
                .send(line)
                .await
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdout closed"));
            if let Some(id) = answers {
                in_flight.answered(&id);
            }
            sent
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        if let Some(message) = self.incoming.recv().await {
            return Some(message);
        }
        // stdin has ended: answer what was already asked, then close.
        let deadline = *self
            .drain_deadline
            .get_or_insert_with(|| tokio::time::Instant::now() + DRAIN_TIMEOUT);
        loop {
            let changed = self.in_flight.changed();
            if self.in_flight.is_empty() {
                return None;
            }
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!("closing with requests still unanswered after end of stdin");
                    return None;
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.incoming.close();
        self.closed.cancel();
        Ok(())
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(mut writer: W, mut lines: mpsc::Receiver<String>) {
    while let Some(mut line) = lines.recv().await {
        line.push('\n');
        if writer.write_all(line.as_bytes()).await.is_err() || writer.flush().await.is_err() {
            tracing::info!("stdout closed; no more responses can be sent");
            return;
        }
    }
    let _ = writer.shutdown().await;
}

async fn read_lines<R: AsyncBufRead + Unpin>(
    mut reader: R,
    mut classifier: Classifier,
    incoming: mpsc::Sender<RxJsonRpcMessage<RoleServer>>,
    outgoing: mpsc::Sender<String>,
    in_flight: Arc<InFlight>,
) {
    loop {
        let line = match read_bounded_line(&mut reader).await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read stdin; shutting down");
                break;
            }
        };
        match classifier.classify(line, &in_flight) {
            Frame::Message(message) => {
                if incoming.send(*message).await.is_err() {
                    break;
                }
            }
            Frame::Reply(error) => {
                tracing::warn!(%error, "answered a line rmcp cannot take with an error");
                if outgoing.send(error.to_string()).await.is_err() {
                    break;
                }
            }
            Frame::Ignore(what) => tracing::debug!(what, "ignored a line"),
        }
    }
    tracing::info!("end of stdin");
    // Dropping `incoming` ends the rmcp service, which ends `serve`.
}

enum Line {
    Bytes(Vec<u8>),
    TooLong(usize),
}

/// Reads one `\n`-terminated line without ever holding more than
/// [`MAX_LINE_BYTES`] of it; `None` at end of input.
async fn read_bounded_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<Line>> {
    let mut buf = Vec::new();
    let mut total = 0usize;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(match (total, buf.is_empty()) {
                (0, _) => None,
                (n, _) if n > MAX_LINE_BYTES => Some(Line::TooLong(n)),
                _ => Some(Line::Bytes(buf)),
            });
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        total += chunk.len();
        if total <= MAX_LINE_BYTES {
            buf.extend_from_slice(chunk);
        } else {
            buf = Vec::new();
        }
        let consumed = done.unwrap_or(chunk.len());
        reader.consume(consumed);
        if done.is_some() {
            return Ok(Some(if total > MAX_LINE_BYTES {
                Line::TooLong(total)
            } else {
                Line::Bytes(buf)
            }));
        }
    }
}

#[cfg(test)]
mod tests;

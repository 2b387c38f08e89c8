//! What every TCP connection of the daemon's TCP face gets, with or
//! without TLS.

/// Sends small writes at once. An answer goes out as several small SSE
/// writes; with Nagle's algorithm each waited for the client's delayed ACK,
/// adding 40 ms to every call.
pub(super) fn no_delay(stream: &mut tokio::net::TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
}

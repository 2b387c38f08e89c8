//! Waiting for the store's notices (PostgreSQL `LISTEN`), shared by the
//! fleet and the ask-backs.

/// Waits until a notice that `wanted` accepts arrives, or the listener
/// reconnected or fell behind (notices may be lost then: the caller
/// re-reads the store). Without notices (a SQLite store) it never returns;
/// every caller also has a slow timer as its safety net.
pub(in crate::hub) async fn next_notice(
    notices: &mut Option<tokio::sync::broadcast::Receiver<crate::store::Notice>>,
    mut wanted: impl FnMut(crate::store::Notice) -> bool,
) {
    use tokio::sync::broadcast::error::RecvError;
    let Some(receiver) = notices.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        match receiver.recv().await {
            Ok(crate::store::Notice::Reconnected | crate::store::Notice::Poll)
            | Err(RecvError::Lagged(_)) => return,
            Ok(notice) => {
                if wanted(notice) {
                    return;
                }
            }
            Err(RecvError::Closed) => return std::future::pending().await,
        }
    }
}

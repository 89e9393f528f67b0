//! Bounded actor mailboxes: `smol::channel::bounded` plus the one thing it lacks, a way for code
//! that must not wait (a notification handler announcing a sign-out) to post into a full mailbox
//! without blocking and without losing the message.
//!
//! A full mailbox makes awaiting senders wait: a connection task then stops reading its socket,
//! which is the backpressure wanted. `post` is for notices from code that cannot wait; when the
//! mailbox is full, the notice is handed to a task that waits for room, so it arrives, possibly
//! after messages posted later (callers say why that is harmless for them).

use smol::channel::{Sender, TrySendError};
use std::sync::Arc;

/// The executor that runs actors and the tasks `post` starts. Set once at start.
pub type Spawner = Arc<smol::Executor<'static>>;

/// Sends `msg` without waiting. Returns false only when the receiver is gone (or the mailbox is
/// full before any executor was given, which only happens before the server started).
pub fn post<T: Send + 'static>(tx: &Sender<T>, msg: T, spawner: Option<&Spawner>) -> bool {
    match tx.try_send(msg) {
        Ok(()) => true,
        Err(TrySendError::Closed(_)) => false,
        Err(TrySendError::Full(msg)) => match spawner {
            Some(ex) => {
                let tx = tx.clone();
                ex.spawn(async move {
                    let _ = tx.send(msg).await;
                })
                .detach();
                true
            }
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_mailbox_still_gets_the_notice() {
        let ex: Spawner = Arc::new(smol::Executor::new());
        let (tx, rx) = smol::channel::bounded::<u32>(1);
        assert!(post(&tx, 1, Some(&ex)));
        assert!(post(&tx, 2, Some(&ex)), "queued behind a waiting task");
        assert!(!post(&tx, 3, None), "no executor: refused, not blocked");
        let got = smol::block_on(ex.run(async {
            let a = rx.recv().await.unwrap();
            let b = rx.recv().await.unwrap();
            (a, b)
        }));
        assert_eq!(got, (1, 2));
        drop(rx);
        assert!(!post(&tx, 4, Some(&ex)), "closed mailbox");
    }
}

//! Bounded actor mailboxes that allocate nothing per message.
//!
//! `bounded(n)` makes a many-sender, one-receiver queue of at most `n` messages; its storage is
//! allocated once. The receiving actor parks its waker in a slot (no allocation per wake-up, no
//! wake-up while it is busy draining), and a sender that finds the mailbox full waits on a
//! listener pinned in its own future (no allocation either). `smol::channel` allocates a listener
//! on each of those waits, which on the relay path is several times per read.
//!
//! A full mailbox makes `send` wait: a connection task then stops reading its socket, which is the
//! backpressure wanted. `post` is for notices from code that cannot wait; when the mailbox is full,
//! the notice is handed to a task that waits for room, so it arrives, possibly after messages
//! posted later (callers say why that is harmless for them).

use event_listener::Event;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

/// The executor that runs actors and the tasks `post` starts. Set once at start.
pub type Spawner = Arc<smol::Executor<'static>>;

struct State<T> {
    queue: VecDeque<T>,
    capacity: usize,
    /// The receiver, while it waits for a message.
    receiver: Option<Waker>,
    senders: usize,
    closed: bool,
    /// Whether the receiver was handed out (see `unclaimed`).
    claimed: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Senders waiting for room; notified when a message is taken from a full mailbox and on close.
    room: Event,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The sending side; cloned for every sender.
pub struct Sender<T>(Arc<Shared<T>>);

/// The actor's side.
pub struct Receiver<T>(Arc<Shared<T>>);

/// Why `try_send` did not queue the message (which it hands back).
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The mailbox holds `capacity` messages: the caller applies its documented full behaviour.
    Full(T),
    /// The actor has ended (shutdown or a panic): nobody will read the message.
    Closed(T),
}

/// A mailbox of at most `capacity` messages (at least one).
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let tx = unclaimed(capacity);
    let rx = tx.claim().expect("new mailbox");
    (tx, rx)
}

/// As `bounded`, for a queue that is empty most of its life (an idle XMPP session's, docs/xmpp.md
/// "Memory"): its storage is allocated when the first message arrives and grows with use, up to
/// `capacity` messages, instead of all at once; it is then kept (no allocation per message once a
/// burst has been seen).
pub fn lazy<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let tx = unclaimed_with(capacity, VecDeque::new());
    let rx = tx.claim().expect("new mailbox");
    (tx, rx)
}

/// A mailbox whose actor starts later: messages queue (up to `capacity`) until its receiver is
/// taken with `Sender::claim`.
pub fn unclaimed<T>(capacity: usize) -> Sender<T> {
    unclaimed_with(capacity, VecDeque::with_capacity(capacity.max(1)))
}

fn unclaimed_with<T>(capacity: usize, queue: VecDeque<T>) -> Sender<T> {
    let capacity = capacity.max(1);
    Sender(Arc::new(Shared {
        state: Mutex::new(State {
            queue,
            capacity,
            receiver: None,
            senders: 1,
            closed: false,
            claimed: false,
        }),
        room: Event::new(),
    }))
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.0.lock().senders += 1;
        Sender(self.0.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.senders -= 1;
        if st.senders == 0 {
            let w = st.receiver.take();
            drop(st);
            if let Some(w) = w {
                w.wake();
            }
        }
    }
}

impl<T> Sender<T> {
    /// The receiving side, the first time only.
    pub fn claim(&self) -> Option<Receiver<T>> {
        let mut st = self.0.lock();
        if std::mem::replace(&mut st.claimed, true) {
            return None;
        }
        Some(Receiver(self.0.clone()))
    }

    /// The receiver is gone or closed the mailbox: nothing sent now would be read.
    pub fn is_closed(&self) -> bool {
        self.0.lock().closed
    }

    /// Queues `msg` if there is room and the mailbox is not closed (a mailbox not yet claimed
    /// queues too: its actor takes the messages when it starts).
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let mut st = self.0.lock();
        if st.closed {
            return Err(TrySendError::Closed(msg));
        }
        if st.queue.len() >= st.capacity {
            return Err(TrySendError::Full(msg));
        }
        // Within the capacity reserved at creation (or, for a `lazy` mailbox, grown once to it):
        // no allocation.
        st.queue.push_back(msg);
        let w = st.receiver.take();
        drop(st);
        if let Some(w) = w {
            w.wake();
        }
        Ok(())
    }

    /// Queues `msg`, waiting for room while the mailbox is full. Hands `msg` back if the
    /// receiver is gone.
    pub async fn send(&self, mut msg: T) -> Result<(), T> {
        loop {
            match self.try_send(msg) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(m)) => return Err(m),
                Err(TrySendError::Full(m)) => msg = m,
            }
            event_listener::listener!(self.0.room => room);
            // Checked again after registering: room made meanwhile is not missed.
            {
                let st = self.0.lock();
                if st.closed || st.queue.len() < st.capacity {
                    continue;
                }
            }
            room.await;
        }
    }
}

impl<T> Receiver<T> {
    /// The next message; `None` once the mailbox is closed and empty, or every sender is gone.
    pub async fn recv(&self) -> Option<T> {
        std::future::poll_fn(|cx| {
            let mut st = self.0.lock();
            let was_full = st.queue.len() >= st.capacity;
            if let Some(m) = st.queue.pop_front() {
                drop(st);
                if was_full {
                    self.0.room.notify(usize::MAX);
                }
                return Poll::Ready(Some(m));
            }
            if st.closed || st.senders == 0 {
                return Poll::Ready(None);
            }
            match &st.receiver {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => st.receiver = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }

    /// The next message if one is queued.
    pub fn try_recv(&self) -> Option<T> {
        let mut st = self.0.lock();
        let was_full = st.queue.len() >= st.capacity;
        let m = st.queue.pop_front();
        drop(st);
        if m.is_some() && was_full {
            self.0.room.notify(usize::MAX);
        }
        m
    }

    /// Whether no message is queued right now: an actor uses it to tell the last message of a
    /// burst from one with more right behind it.
    pub fn is_empty(&self) -> bool {
        self.0.lock().queue.is_empty()
    }

    /// Refuses further messages (the actor is ending); those queued can still be taken.
    pub fn close(&self) {
        self.0.lock().closed = true;
        self.0.room.notify(usize::MAX);
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let rest = {
            let mut st = self.0.lock();
            st.closed = true;
            std::mem::take(&mut st.queue)
        };
        self.0.room.notify(usize::MAX);
        drop(rest);
    }
}

/// Sends without waiting. Returns false only when the receiver is gone (or the mailbox is full
/// before any executor was given, which only happens before the server started).
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
    fn a_lazy_mailbox_takes_storage_at_its_first_message_and_stays_bounded() {
        let (tx, rx) = lazy::<u32>(3);
        assert_eq!(
            tx.0.lock().queue.capacity(),
            0,
            "no storage before a message"
        );
        for i in 0..3 {
            tx.try_send(i).unwrap();
        }
        assert!(tx.0.lock().queue.capacity() > 0);
        assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
        assert_eq!(rx.try_recv(), Some(0));
        tx.try_send(3).unwrap();
        let got: Vec<u32> = std::iter::from_fn(|| rx.try_recv()).collect();
        assert_eq!(got, [1, 2, 3]);
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.try_send(4), Err(TrySendError::Closed(4)));
    }

    #[test]
    fn a_full_mailbox_still_gets_the_notice() {
        let ex: Spawner = Arc::new(smol::Executor::new());
        let (tx, rx) = bounded::<u32>(1);
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

    #[test]
    fn a_sender_waits_for_room_and_keeps_order() {
        let (tx, rx) = bounded::<u32>(2);
        let sender = std::thread::spawn(move || {
            smol::block_on(async {
                for i in 0..100 {
                    tx.send(i).await.unwrap();
                }
            })
        });
        let got: Vec<u32> = smol::block_on(async {
            let mut got = Vec::new();
            while let Some(i) = rx.recv().await {
                got.push(i);
            }
            got
        });
        sender.join().unwrap();
        assert_eq!(
            got,
            (0..100).collect::<Vec<_>>(),
            "ends when the sender is gone"
        );
    }

    #[test]
    fn closing_fails_senders_and_keeps_what_was_queued() {
        let (tx, rx) = bounded::<u32>(1);
        tx.try_send(1).unwrap();
        assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
        rx.close();
        assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
        assert_eq!(smol::block_on(tx.send(4)), Err(4));
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(smol::block_on(rx.recv()), None);
    }

    /// The switchboard writes a message through only when nothing is queued behind it.
    #[test]
    fn is_empty_tells_the_last_message_of_a_burst() {
        let (tx, rx) = bounded::<u32>(4);
        assert!(rx.is_empty());
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(rx.try_recv(), Some(1));
        assert!(!rx.is_empty(), "2 is right behind 1");
        assert_eq!(rx.try_recv(), Some(2));
        assert!(rx.is_empty(), "2 was the last");
    }
}

//! How a worker thread runs the executor: it waits for I/O itself (`block_on` drives async-io's
//! reactor from the thread that runs the tasks) and keeps async-io's helper thread off the
//! reactor while there is traffic.
//!
//! async-io runs a helper thread ("async-io") besides the threads in `block_on`. While any
//! `block_on` runs, the helper wakes on a back-off of 50 us to 10 ms and looks at the reactor's
//! tick, which every wait for I/O bumps: if the tick did not move since its last look, nobody
//! seems to be driving the reactor and the helper takes it (a blocking lock after its back-off
//! reached 10 ms). With `Executor::run` the worker waits in one `epoll_wait` for as long as
//! there is nothing to do, so at a few hundred messages per second (the gaps between a client's
//! messages are often longer than 10 ms) the helper queues on the reactor's lock, takes it the
//! moment the worker leaves `epoll_wait`, and then sits in `epoll_wait` itself: the worker,
//! finding the reactor taken, parks on a futex, and the helper wakes it for the next event.
//! That is a futex wake and two context switches per wake-up, the helper's back-off starts again
//! at 50 us, and its `epoll_wait` running beside the worker's tasks costs a second `epoll_ctl`
//! whenever an event arrives in the same tick its interest was registered in
//! (bench/analysis.md, "Paced relay").
//!
//! So, while traffic flows, the worker never waits in one `epoll_wait` longer than `WARM`
//! (shorter than the helper's longest back-off): a timer wakes it, and the tick moves between
//! any two of the helper's looks. The timer stops after `IDLE_FIRES` fires in a row with nothing
//! else waking the worker, so an idle server does not wake for it; the first wake-up after an
//! idle spell may still be handed over once. The executor itself runs as before
//! (`Executor::run`); the timer is the future it runs alongside its tasks, which is polled at
//! every wake-up of the worker.

use smol::{Executor, Timer};
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

/// The longest single wait for I/O while traffic flows: below async-io's longest back-off
/// (10 ms), so the helper thread always sees the reactor's tick move.
const WARM: Duration = Duration::from_millis(9);

/// Fires of the warm timer in a row with nothing else waking the worker after which the server
/// counts as idle and the timer stops (about 50 ms).
const IDLE_FIRES: u32 = 6;

/// Runs `ex`'s tasks on this thread until `stop` is closed; this thread waits for I/O itself.
pub fn run(ex: &Executor<'static>, stop: smol::channel::Receiver<()>) {
    smol::block_on(ex.run(keep_warm(&stop)));
}

/// Ends when `stop` is closed. Meanwhile it keeps the worker's waits for I/O shorter than `WARM`
/// while there is traffic. `Executor::run` polls it at every wake-up of the worker, before the
/// tasks: a poll that is not a timer's means the worker had something else to do.
///
/// The warm timers are armed `IDLE_FIRES` at a time, `WARM` apart: arming a timer notifies the
/// reactor (an `eventfd` write), and the worker's next wait for I/O then returns at once and
/// costs its five system calls again for nothing. Armed one by one that was a write and an
/// extra wait per fire (about 110 a second at a home server's pace); as a series it is one per
/// `IDLE_FIRES` fires. A timer of the series that has not fired yet is never re-armed, so
/// traffic costs nothing here either.
async fn keep_warm(stop: &smol::channel::Receiver<()>) {
    let mut stopped = pin!(stop.recv());
    let mut series: [Timer; IDLE_FIRES as usize] = std::array::from_fn(|_| Timer::never());
    // The series' next timer to fire; `series.len()` when none is armed.
    let mut next = series.len();
    let mut fires_in_a_row = 0u32;
    std::future::poll_fn(|cx| {
        if stopped.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        let mut fired = false;
        // Timers due together (a late wake-up) count as one fire: the worker woke once.
        while next < series.len() && Pin::new(&mut series[next]).poll(cx).is_ready() {
            next += 1;
            fired = true;
        }
        if fired {
            fires_in_a_row += 1;
        } else {
            fires_in_a_row = 0;
        }
        if fires_in_a_row >= IDLE_FIRES {
            // Idle: the rest of the series (none, unless some fired together) is dropped.
            for t in &mut series[next..] {
                t.clear();
            }
            next = series.len();
        } else if next == series.len() {
            let start = std::time::Instant::now();
            for (k, t) in (1u32..).zip(series.iter_mut()) {
                t.set_at(start + WARM * k);
                // Registered with the reactor now (a notification, once for the series).
                let _ = Pin::new(t).poll(cx);
            }
            next = 0;
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Tasks run on the worker, timers and I/O wake them, the worker outlives an idle spell
    /// (the warm timer stops) and returns when the stop channel closes.
    #[test]
    fn runs_tasks_across_an_idle_spell_and_stops_when_told() {
        let ex = Arc::new(Executor::new());
        let (stop, stop_rx) = smol::channel::bounded::<()>(1);
        let worker = {
            let ex = ex.clone();
            std::thread::spawn(move || run(&ex, stop_rx))
        };
        let (tx, rx) = std::sync::mpsc::channel();
        for pause in [1, 30, 120] {
            let tx = tx.clone();
            ex.spawn(async move {
                Timer::after(Duration::from_millis(pause)).await;
                tx.send(pause).unwrap();
            })
            .detach();
            let got = rx.recv_timeout(Duration::from_secs(5)).expect("task ran");
            assert_eq!(got, pause);
            // Longer than the warm timer's life: the next task comes after an idle spell.
            std::thread::sleep(Duration::from_millis(80));
        }
        stop.close();
        worker.join().expect("worker ended");
    }
}

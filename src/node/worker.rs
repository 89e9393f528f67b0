//! How a worker thread runs the executor: it waits for I/O itself (`block_on` drives async-io's
//! reactor from the thread that runs the tasks), so an event wakes exactly the thread that runs
//! its task.
//!
//! Upstream async-io also runs a helper thread ("async-io") that, while any `block_on` runs, wakes
//! every 10 ms and queues on the reactor's lock when the reactor's tick has not moved. A worker
//! waiting longer than that for its next message (any gap between messages on a home server)
//! then lost the reactor to the helper, and each later event reached the worker by a futex
//! hand-off. Keeping the worker's waits under 10 ms with a timer hid that, at about 110 timer
//! and 100 helper wake-ups a second. msnpd builds async-io with a helper that looks once a second
//! and never queues on the lock (vendor/async-io/PATCHED.md), so the worker needs no timer and
//! wakes only for work: at 1,000 msg/s about 50 times a second, once per burst
//! (bench/analysis.md, "Paced relay").

use smol::Executor;

/// Runs `ex`'s tasks on this thread until `stop` is closed; this thread waits for I/O itself.
pub fn run(ex: &Executor<'static>, stop: smol::channel::Receiver<()>) {
    smol::block_on(ex.run(async {
        let _ = stop.recv().await;
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use smol::Timer;
    use std::sync::Arc;
    use std::time::Duration;

    /// An executor run by `run` on a thread of its own, the channel that stops it, the thread.
    fn start_worker() -> (
        Arc<Executor<'static>>,
        smol::channel::Sender<()>,
        std::thread::JoinHandle<()>,
    ) {
        let ex = Arc::new(Executor::new());
        let (stop, stop_rx) = smol::channel::bounded::<()>(1);
        let worker = {
            let ex = ex.clone();
            std::thread::spawn(move || run(&ex, stop_rx))
        };
        (ex, stop, worker)
    }

    /// Tasks run on the worker, timers wake them, the worker outlives an idle spell (longer than
    /// the helper's back-off) and returns when the stop channel closes.
    #[test]
    fn runs_tasks_across_an_idle_spell_and_stops_when_told() {
        let (ex, stop, worker) = start_worker();
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
            // Longer than the helper's back-off: the next task comes after an idle spell.
            std::thread::sleep(Duration::from_millis(80));
        }
        stop.close();
        worker.join().expect("worker ended");
    }

    /// Another thread in `block_on` waiting for I/O while the worker waits in the reactor is
    /// woken by the worker's wait, not left to async-io's helper, which msnpd's async-io lets look
    /// only once a second (vendor/async-io/PATCHED.md): ten reads in a row take far less than
    /// ten seconds.
    #[test]
    fn a_second_block_on_thread_is_not_left_to_the_helper() {
        use smol::io::AsyncReadExt;
        use std::io::Write;
        let (ex, stop, worker) = start_worker();
        // The worker has something registered with the reactor, as a server always does.
        ex.spawn(Timer::after(Duration::from_secs(60))).detach();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut writer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (reader, _) = listener.accept().unwrap();
        let mut reader = smol::Async::new(reader).unwrap();
        let began = std::time::Instant::now();
        for round in 0u8..10 {
            let feed = std::thread::spawn(move || {
                // Long enough for the reader to be parked and the worker in `epoll_wait`.
                std::thread::sleep(Duration::from_millis(20));
                writer.write_all(&[round]).unwrap();
                writer
            });
            let mut got = [0u8; 1];
            smol::block_on(reader.read_exact(&mut got)).unwrap();
            assert_eq!(got[0], round);
            writer = feed.join().unwrap();
        }
        let took = began.elapsed();
        assert!(took < Duration::from_secs(8), "ten reads took {took:?}");
        stop.close();
        worker.join().expect("worker ended");
    }
}

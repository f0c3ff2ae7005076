//! The alternative to io_uring that lost (see benches/RESULTS.md): a
//! receive thread per bus, so that polling an empty bus costs no syscall.
//!
//! The thread blocks in `poll`, reads with `recvmmsg` into its own
//! [`RxBuffer`] and pushes frames, in order, into a bounded lock-free queue;
//! `recv(0.0)` is then a queue pop. When the queue is full the thread stops
//! reading, so the kernel's buffer fills and the kernel counts what it drops:
//! nothing is lost in user space without being counted.
//!
//! An eventfd (`ready`) is readable while frames are queued: consumers that
//! must wait poll it, and `fileno()` hands it to `select` and event loops.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_queue::ArrayQueue;

use ferrocan::rx_buffer::{Received, RxBuffer, SLOTS};
use ferrocan::waker::{Wait, Waker};

/// Frames the queue holds; past that the kernel's buffer takes the load.
pub const QUEUE_CAPACITY: usize = 4096;

/// How long the thread sleeps at most while the queue is full.
const FULL_PAUSE: Duration = Duration::from_millis(10);

struct Shared {
    queue: ArrayQueue<Received>,
    /// Readable while frames are queued (a hint kept by `signaled`).
    ready: Waker,
    signaled: AtomicBool,
    /// The thread waits for room in the queue.
    full: AtomicBool,
    /// Ends the thread.
    stop: Waker,
    /// A receive error for the consumer, delivered once the queue is drained.
    error: Mutex<Option<io::Error>>,
}

/// The consumer's end of a bus's receive thread.
pub struct Receiver {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Starts a thread reading `socket` until the receiver is dropped; the
    /// caller keeps `socket` open until then.
    pub fn start(socket: RawFd) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: ArrayQueue::new(QUEUE_CAPACITY),
            ready: Waker::new()?,
            signaled: AtomicBool::new(false),
            full: AtomicBool::new(false),
            stop: Waker::new()?,
            error: Mutex::new(None),
        });
        let producer = Arc::clone(&shared);
        let thread =
            thread::Builder::new().name("ferrocan-rx".into()).spawn(move || produce(&producer, socket))?;
        Ok(Self { shared, thread: Some(thread) })
    }

    /// The next frame, if one is queued: no syscall unless the queue just ran dry.
    pub fn pop(&self) -> io::Result<Option<Received>> {
        let shared = &*self.shared;
        if let Some(received) = shared.queue.pop() {
            if shared.full.load(Ordering::Acquire) {
                if let Some(thread) = &self.thread {
                    thread.thread().unpark();
                }
            }
            return Ok(Some(received));
        }
        self.settle();
        match shared.error.lock().unwrap_or_else(PoisonError::into_inner).take() {
            Some(error) => Err(error),
            None => Ok(None),
        }
    }

    /// Clears `ready` once the queue is empty, re-arming it if a frame came
    /// in meanwhile, so `ready` never stays readable over an empty queue
    /// for long and never stays clear over a full one.
    fn settle(&self) {
        let shared = &*self.shared;
        if !shared.signaled.load(Ordering::Acquire) {
            return;
        }
        shared.signaled.store(false, Ordering::Release);
        shared.ready.reset();
        if !shared.queue.is_empty() || shared.error.lock().unwrap_or_else(PoisonError::into_inner).is_some() {
            signal(shared);
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.wake();
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // A panic in the thread has nothing left to report.
            let _ = thread.join();
        }
    }
}

fn signal(shared: &Shared) {
    if !shared.signaled.swap(true, Ordering::AcqRel) {
        shared.ready.wake();
    }
}

/// The thread: read, queue, repeat until stopped or the socket fails.
fn produce(shared: &Shared, socket: RawFd) {
    let mut buffer = RxBuffer::new(false);
    loop {
        match shared.stop.wait(socket, libc::POLLIN, Duration::from_secs(3600)) {
            Ok(Wait::Woken) => return,
            Ok(Wait::Ready) => {}
            Ok(Wait::TimedOut | Wait::Interrupted) => continue,
            Err(error) => return fail(shared, error),
        }
        if let Err(error) = buffer.fill(socket, SLOTS) {
            if !report(shared, error) {
                return;
            }
            continue;
        }
        while let Some(received) = buffer.pop() {
            if !push(shared, received) {
                return;
            }
        }
        signal(shared);
    }
}

/// Queues one frame, waiting for room; `false` when told to stop meanwhile.
fn push(shared: &Shared, mut received: Received) -> bool {
    loop {
        match shared.queue.push(received) {
            Ok(()) => return true,
            Err(back) => received = back,
        }
        signal(shared);
        shared.full.store(true, Ordering::Release);
        if shared.stop.is_woken() {
            return false;
        }
        if shared.queue.is_full() {
            thread::park_timeout(FULL_PAUSE);
        }
        shared.full.store(false, Ordering::Release);
    }
}

/// Hands a receive error to the consumer. The socket survives most (the
/// kernel reports ENETDOWN once, and frames flow again once the interface is
/// back up); `false` for those it does not survive.
fn report(shared: &Shared, error: io::Error) -> bool {
    let fatal = matches!(error.raw_os_error(), Some(libc::ENODEV | libc::EBADF));
    let mut pending = shared.error.lock().unwrap_or_else(PoisonError::into_inner);
    let unread = pending.is_some();
    pending.get_or_insert(error);
    drop(pending);
    signal(shared);
    if unread && !fatal {
        // The consumer has not taken the last error yet: do not spin.
        thread::sleep(FULL_PAUSE);
    }
    !fatal
}

fn fail(shared: &Shared, error: io::Error) {
    report(shared, error);
}

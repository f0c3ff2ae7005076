//! An endpoint on a CAN interface: one socket with timeouts, interruption
//! and shutdown, under python-can's semantics. `ferrocan.Bus` is built on it.
//!
//! Blocking calls wait in slices of at most [`CHECK_INTERVAL`] and call the
//! caller's `check` between slices, so a binding can deliver Ctrl-C. The
//! socket lock is held only for syscalls, never across `check`, so a check
//! that needs another lock (Python's GIL) cannot deadlock with `shutdown`.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use socketcan::CanInterface;

use crate::error::{errno_of, Error};
use crate::fork::{self, BeforeFork};
use crate::frame::{Frame, CANXL_MIN_MTU, CANXL_MTU};
use crate::rx_buffer::{Received, RxBuffer};
use crate::socket::{interface_name, Options, RawSocket, XlSupport};
use crate::uring::Uring;
use crate::waker::{Wait, Waker};

/// The longest a blocking call goes without calling its `check`.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// The first and longest pause between retries while the transmit queue is full.
const MIN_BACKOFF: Duration = Duration::from_micros(50);
const MAX_BACKOFF: Duration = Duration::from_millis(5);

/// Returns `false` to stop a blocking call, which then fails with
/// [`Error::Interrupted`].
pub type Check<'a> = &'a mut dyn FnMut() -> bool;

/// An open socket, the waker that ends its waits, and how it receives.
struct Open {
    // Declared first so it drops first: the io_uring request must end before
    // the socket it reads is closed.
    /// A multishot io_uring receive, whose completions `recv` pops.
    uring: Option<Arc<Mutex<Uring>>>,
    /// Without io_uring (or in a forked child, which must leave its parent's
    /// ring alone), `recv` reads with `recvmmsg` into this buffer.
    rx: Mutex<RxBuffer>,
    socket: RawSocket,
    waker: Waker,
}

/// What a bus has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Frames handed to the caller.
    pub received: u64,
    /// Frames the kernel took for sending.
    pub sent: u64,
    /// Frames the kernel dropped because the socket's receive buffer was full.
    pub dropped: u64,
}

/// A CAN_RAW socket with python-can's timeout semantics.
pub struct Endpoint {
    channel: String,
    /// The interface's index when the bus was opened; 0 for every interface.
    ifindex: u32,
    fd_frames: bool,
    xl: XlSupport,
    open: RwLock<Option<Open>>,
    received: AtomicU64,
    sent: AtomicU64,
    dropped: AtomicU64,
    /// Set once the interface was deleted: the kernel says so only once, then
    /// the unbound socket would wait in silence.
    gone: AtomicBool,
    /// Set while the interface is known to be down. The kernel reports that
    /// to a receiving socket only once; after that each receive looks again,
    /// so that it keeps failing until the interface is back up.
    down: AtomicBool,
    shut_down: AtomicBool,
    /// The fork generation the bus was opened in.
    generation: u64,
}

impl Endpoint {
    /// Opens a socket on `channel` (`""`: every CAN interface) set up by `options`.
    pub fn open(channel: &str, options: &Options) -> Result<Self, Error> {
        let socket = RawSocket::open(channel, options)?;
        let setup_error = |e: std::io::Error| Error::Open { channel: channel.into(), errno: errno_of(&e) };
        let waker = Waker::new().map_err(setup_error)?;
        // Where io_uring is missing or forbidden, read directly.
        // io_uring's buffers hold classic and FD frames, not CAN XL ones.
        let uring =
            (options.io_uring && options.xl.is_none()).then(|| Uring::new(socket.as_raw_fd()).ok()).flatten();
        let uring = uring.map(|uring| Arc::new(Mutex::new(uring)));
        if let Some(uring) = &uring {
            fork::before_fork(&(uring.clone() as Arc<dyn BeforeFork>));
        }
        let rx = Mutex::new(RxBuffer::new(options.xl.is_some()));
        let ifindex = socket.ifindex();
        Ok(Self {
            channel: channel.into(),
            ifindex,
            // The kernel takes FD frames on a CAN XL socket too.
            fd_frames: options.fd || options.xl.is_some(),
            xl: socket.xl(),
            open: RwLock::new(Some(Open { uring, rx, socket, waker })),
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            gone: AtomicBool::new(false),
            down: AtomicBool::new(false),
            shut_down: AtomicBool::new(false),
            generation: fork::generation(),
        })
    }

    /// The interface the bus was opened on; `""` for every interface.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Whether the bus sends and receives CAN FD frames.
    pub fn fd_frames(&self) -> bool {
        self.fd_frames
    }

    /// Whether frames come in through io_uring (see [`crate::uring`]).
    pub fn io_uring(&self) -> bool {
        self.read().as_ref().is_some_and(|open| self.ring(open).is_some())
    }

    /// Receives one frame. `timeout`: `None` waits forever, zero never blocks
    /// (one syscall), otherwise waits at most that long.
    pub fn recv(&self, timeout: Option<Duration>, check: Check<'_>) -> Result<Option<Received>, Error> {
        // Try before reading the clock: a clock read is a syscall in some
        // environments (User-Mode Linux has no vDSO).
        if let Some(received) = self.try_recv()? {
            return Ok(Some(received));
        }
        if timeout.is_some_and(|t| t.is_zero()) {
            return Ok(None);
        }
        let deadline = Deadline::after(timeout);
        loop {
            if let Some(received) = self.recv_step(deadline.slice())? {
                return Ok(Some(received));
            }
            if deadline.expired() {
                return Ok(None);
            }
            if !check() {
                return Err(Error::Interrupted);
            }
        }
    }

    /// Hands up to `max` more frames that are already available to `sink`,
    /// without waiting. Returns how many.
    pub fn drain(&self, max: usize, sink: &mut dyn FnMut(Received)) -> Result<usize, Error> {
        let open = self.live(Op::Receive)?;
        let mut count = 0;
        while count < max {
            match self.take(&open, max - count)? {
                Some(received) => sink(received),
                None => break,
            }
            count += 1;
        }
        Ok(count)
    }

    /// Sends one frame, retrying while the kernel's queue is full until
    /// `timeout` (`None`: until it is taken).
    pub fn send(&self, frame: &Frame, timeout: Option<Duration>, check: Check<'_>) -> Result<(), Error> {
        self.send_batch(std::slice::from_ref(frame), timeout, check).map(|_| ())
    }

    /// Sends `frames` in order, retrying while the kernel's queue is full.
    /// Returns how many the kernel took: all of them, unless `timeout`
    /// passed first. Fails with [`Error::BufferFull`] only if it took none.
    pub fn send_batch(
        &self,
        frames: &[Frame],
        timeout: Option<Duration>,
        check: Check<'_>,
    ) -> Result<usize, Error> {
        let mut sent = self.try_send_batch(frames)?;
        if sent == frames.len() {
            return Ok(sent);
        }
        let deadline = Deadline::after(timeout);
        let mut backoff = MIN_BACKOFF;
        loop {
            sent += self.send_step(&frames[sent..], deadline.slice().min(backoff))?;
            if sent == frames.len() {
                return Ok(sent);
            }
            if deadline.expired() {
                if sent > 0 {
                    return Ok(sent);
                }
                let timeout_secs = timeout.unwrap_or_default().as_secs_f64();
                return Err(Error::BufferFull { channel: self.channel_of(&frames[0]), timeout_secs });
            }
            if !check() {
                return Err(Error::Interrupted);
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One non-blocking receive attempt: served from the buffer, or one syscall.
    pub fn try_recv(&self) -> Result<Option<Received>, Error> {
        self.recv_step(Duration::ZERO)
    }

    /// One non-blocking attempt to send `frames`; how many the kernel took.
    pub fn try_send_batch(&self, frames: &[Frame]) -> Result<usize, Error> {
        frames.iter().try_for_each(|f| self.check_kind(f))?;
        self.send_step(frames, Duration::ZERO)
    }

    /// Counters since the bus was opened.
    pub fn statistics(&self) -> Statistics {
        if let Some(open) = self.read().as_ref() {
            let reported = match self.ring(open) {
                Some(uring) => lock(uring).dropped(),
                None => lock(&open.rx).dropped(),
            };
            let counted = open.socket.kernel_drops().unwrap_or(0);
            self.dropped.fetch_max(u64::from(reported.max(counted)), Ordering::Relaxed);
        }
        Statistics {
            received: self.received.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    /// The socket's receive buffer in bytes, as the kernel reports it.
    pub fn receive_buffer_size(&self) -> Result<usize, Error> {
        let open = self.lock()?;
        open.socket.receive_buffer_size().map_err(|e| self.io_error(Op::Receive, errno_of(&e)))
    }

    /// Replaces the kernel filters with `(can_id, can_mask)` pairs; an empty
    /// list receives nothing.
    pub fn set_filters(&self, filters: &[(u32, u32)]) -> Result<(), Error> {
        let open = self.live(Op::Filters)?;
        // The kernel unbinds a socket whose interface was deleted, and then
        // takes filters that can never apply.
        if self.is_bound() && interface_name(self.ifindex).is_none() {
            return Err(self.io_error(Op::Filters, libc::ENODEV));
        }
        open.socket.set_filters(filters).map_err(|e| self.io_error(Op::Filters, errno_of(&e)))
    }

    /// Readable when `recv` has a frame to return: the socket, or with
    /// io_uring the ring, readable while completions wait.
    pub fn fileno(&self) -> Result<RawFd, Error> {
        let open = self.lock()?;
        Ok(self.readable_fd(&open))
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    /// Wakes every blocked call and closes the socket. Idempotent.
    pub fn shutdown(&self) {
        self.statistics();
        // Before the wake: a woken caller may call again at once.
        self.shut_down.store(true, Ordering::Release);
        if let Some(open) = self.read().as_ref() {
            open.waker.wake();
        }
        // Woken waiters drop their read locks within one syscall.
        let closed = if self.inherited() {
            // fork() copied the lock as it was: a thread of the parent's, one
            // this process lacks, may hold it forever. The descriptors then
            // close when this process ends.
            self.open.try_write().ok().and_then(|mut open| open.take())
        } else {
            self.open.write().unwrap_or_else(PoisonError::into_inner).take()
        };
        drop(closed);
    }

    /// Whether this process is a forked child of the one that opened the bus.
    fn inherited(&self) -> bool {
        self.generation != fork::generation()
    }

    /// The io_uring receive, in the process that set it up.
    fn ring<'a>(&self, open: &'a Open) -> Option<&'a Mutex<Uring>> {
        open.uring.as_deref().filter(|_| !self.inherited())
    }

    /// The descriptor that is readable when `recv` has something to return.
    fn readable_fd(&self, open: &Open) -> RawFd {
        self.ring(open).map_or_else(|| open.socket.as_raw_fd(), |uring| lock(uring).fd())
    }

    /// One receive attempt, then (if nothing was queued) one wait of `slice`
    /// and, if that found a frame, one more attempt.
    fn recv_step(&self, slice: Duration) -> Result<Option<Received>, Error> {
        let open = self.live(Op::Receive)?;
        if let Some(received) = self.take(&open, 1)? {
            return Ok(Some(received));
        }
        if slice.is_zero() {
            return Ok(None);
        }
        match self.wait(&open, self.readable_fd(&open), libc::POLLIN, slice)? {
            Wait::Ready => self.take(&open, 1),
            _ => Ok(None),
        }
    }

    /// The next frame, reading up to `want` (the caller takes that many) with
    /// one syscall when none is buffered.
    fn take(&self, open: &Open, want: usize) -> Result<Option<Received>, Error> {
        if self.down.load(Ordering::Relaxed) && !self.interface_up() {
            return Err(self.io_error(Op::Receive, libc::ENETDOWN));
        }
        let received = match self.read_one(open, want) {
            Err(e) if errno_of(&e) == libc::ENETDOWN && self.interface_up() => {
                // The report of a down interface that is up again: it is
                // consumed, so this read finds what is queued.
                self.read_one(open, want)
            }
            read => read,
        };
        let received = received.map_err(|e| self.io_error(Op::Receive, errno_of(&e)))?;
        if received.is_some() {
            self.received.fetch_add(1, Ordering::Relaxed);
        }
        Ok(received)
    }

    fn read_one(&self, open: &Open, want: usize) -> std::io::Result<Option<Received>> {
        if let Some(uring) = self.ring(open) {
            return lock(uring).pop();
        }
        let mut rx = lock(&open.rx);
        if rx.pending() == 0 {
            open.socket.recv_into(&mut rx, want)?;
        }
        Ok(rx.pop())
    }

    /// Whether the bus's interface is up, as the kernel reports it now; a
    /// bus on every interface counts as up. Clears [`Endpoint::down`] if so.
    fn interface_up(&self) -> bool {
        let up = !self.is_bound()
            || CanInterface::open_iface(self.ifindex).details().map_or(true, |details| details.is_up);
        if up {
            self.down.store(false, Ordering::Relaxed);
        }
        up
    }

    /// One attempt to send `frames`; after a refusal, waits up to `pause`.
    /// Returns how many the kernel took.
    fn send_step(&self, frames: &[Frame], pause: Duration) -> Result<usize, Error> {
        let open = self.live(Op::Transmit)?;
        let attempt = match open.socket.try_send_batch(frames) {
            // The report of a down interface that is up again: consumed now.
            Err(e) if errno_of(&e) == libc::ENETDOWN && self.interface_up() => {
                open.socket.try_send_batch(frames)
            }
            attempt => attempt,
        };
        let errno = match attempt {
            Ok(sent) => {
                self.sent.fetch_add(sent as u64, Ordering::Relaxed);
                return Ok(sent);
            }
            Err(e) => errno_of(&e),
        };
        let events = match errno {
            libc::EAGAIN => libc::POLLOUT,
            libc::ENOBUFS => 0,
            libc::EINVAL if frames[0].is_xl() => {
                return Err(self
                    .xl_mtu_error(&open, &frames[0])
                    .unwrap_or_else(|| self.io_error(Op::Transmit, errno)))
            }
            _ if self.is_bound() => return Err(self.io_error(Op::Transmit, errno)),
            _ => return Err(Error::Transmit { channel: self.channel_of(&frames[0]), errno }),
        };
        if !pause.is_zero() {
            self.wait(&open, open.socket.as_raw_fd(), events, pause)?;
        }
        Ok(0)
    }

    /// Refuses, with its reason, a frame of a kind the socket cannot send.
    fn check_kind(&self, frame: &Frame) -> Result<(), Error> {
        if frame.is_fd() && !self.fd_frames {
            return Err(Error::FdOnClassicBus { channel: self.channel_of(frame) });
        }
        let Some(header) = frame.xl_header() else { return Ok(()) };
        match self.xl {
            XlSupport::Off => Err(Error::XlNotEnabled { channel: self.channel_of(frame) }),
            XlSupport::WithoutVcids if header.vcid != 0 => {
                Err(Error::VcidNotCarried { channel: self.channel_of(frame), vcid: header.vcid })
            }
            _ => Ok(()),
        }
    }

    /// The kernel refuses a CAN XL frame (EINVAL) on an interface whose MTU
    /// is not CAN XL's (76 to 2060, `CANXL_MIN_MTU` to `CANXL_MTU`) or is
    /// smaller than the frame: say so, where that was the reason.
    fn xl_mtu_error(&self, open: &Open, frame: &Frame) -> Option<Error> {
        let mtu = open.socket.mtu(frame.destination())? as usize;
        let fits = (CANXL_MIN_MTU..=CANXL_MTU).contains(&mtu) && frame.as_bytes().len() <= mtu;
        (!fits).then(|| Error::XlMtu { channel: self.channel_of(frame), mtu: mtu as u32 })
    }

    fn wait(&self, open: &Open, fd: RawFd, events: libc::c_short, slice: Duration) -> Result<Wait, Error> {
        match open.waker.wait(fd, events, slice) {
            Ok(Wait::Woken) => Err(self.closed()),
            Ok(wait) => Ok(wait),
            Err(e) => Err(self.io_error(Op::Receive, errno_of(&e))),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Option<Open>> {
        self.open.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The open socket, or the error for a bus that was shut down.
    fn lock(&self) -> Result<OpenGuard<'_>, Error> {
        let guard = self.read();
        if guard.is_none() || self.is_shut_down() {
            return Err(self.closed());
        }
        Ok(OpenGuard(guard))
    }

    /// [`lock`](Self::lock), for calls that cannot work once the interface
    /// was deleted.
    fn live(&self, op: Op) -> Result<OpenGuard<'_>, Error> {
        let open = self.lock()?;
        if self.gone.load(Ordering::Relaxed) {
            return Err(self.io_error(op, libc::ENODEV));
        }
        Ok(open)
    }

    /// Whether the bus is bound to one interface, not to all.
    fn is_bound(&self) -> bool {
        !self.channel.is_empty()
    }

    fn closed(&self) -> Error {
        Error::Closed { channel: self.channel.clone() }
    }

    /// The interface a frame goes to: the bus's, or on a bus bound to every
    /// interface, the one the frame is addressed to (for error messages).
    fn channel_of(&self, frame: &Frame) -> String {
        match frame.destination() {
            0 => self.channel.clone(),
            ifindex => interface_name(ifindex).unwrap_or_else(|| format!("interface {ifindex}")),
        }
    }

    fn io_error(&self, op: Op, errno: i32) -> Error {
        let errno = if self.interface_gone(errno) { libc::ENODEV } else { errno };
        if errno == libc::ENETDOWN && self.is_bound() {
            self.down.store(true, Ordering::Relaxed);
        }
        let channel = self.channel.clone();
        match op {
            Op::Receive => Error::Receive { channel, errno },
            Op::Transmit => Error::Transmit { channel, errno },
            Op::Filters => Error::Filters { channel, errno },
        }
    }

    /// Whether a syscall failing with `errno` means that the bus's interface
    /// was deleted; if so, the bus remembers it.
    fn interface_gone(&self, errno: i32) -> bool {
        let gone = self.is_bound()
            && match errno {
                libc::ENODEV | libc::ENXIO => true,
                // Deletion takes the interface down first: if its index
                // names nothing now (or another interface), it went.
                libc::ENETDOWN => interface_name(self.ifindex).as_deref() != Some(self.channel.as_str()),
                _ => false,
            };
        if gone {
            self.gone.store(true, Ordering::Relaxed);
        }
        gone
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("channel", &self.channel)
            .field("fd_frames", &self.fd_frames)
            .field("shut_down", &self.is_shut_down())
            .finish()
    }
}

/// A child must find unread frames in the socket, not in our ring.
impl BeforeFork for Mutex<Uring> {
    fn before_fork(&self) {
        lock(self).pause();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[derive(Clone, Copy)]
enum Op {
    Receive,
    Transmit,
    Filters,
}

/// A read guard known to hold an open socket.
struct OpenGuard<'a>(RwLockReadGuard<'a, Option<Open>>);

impl std::ops::Deref for OpenGuard<'_> {
    type Target = Open;

    fn deref(&self) -> &Open {
        self.0.as_ref().expect("checked open when the guard was made")
    }
}

/// When a timed call must give up.
#[derive(Clone, Copy)]
struct Deadline(Option<Instant>);

impl Deadline {
    fn after(timeout: Option<Duration>) -> Self {
        Self(timeout.map(|t| Instant::now().checked_add(t).unwrap_or_else(far_future)))
    }

    /// How long the next wait may last.
    fn slice(&self) -> Duration {
        match self.0 {
            None => CHECK_INTERVAL,
            Some(at) => at.saturating_duration_since(Instant::now()).min(CHECK_INTERVAL),
        }
    }

    fn expired(&self) -> bool {
        self.0.is_some_and(|at| Instant::now() >= at)
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

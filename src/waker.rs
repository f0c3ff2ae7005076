//! An eventfd that ends every wait on a socket at once: how `shutdown()`
//! reaches a thread blocked in `recv` or `send`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// The socket has the events asked for.
    Ready,
    /// [`Waker::wake`] was called; the socket is being shut down.
    Woken,
    /// The time ran out.
    TimedOut,
    /// A signal arrived (EINTR): the caller should check for it now.
    Interrupted,
}

/// Once woken, stays woken: every later wait returns [`Wait::Woken`] at once.
#[derive(Debug)]
pub struct Waker(OwnedFd);

impl Waker {
    pub fn new() -> io::Result<Self> {
        // SAFETY: eventfd has no memory arguments.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor that nothing else owns.
        Ok(Self(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64. A full counter (EAGAIN)
        // still leaves the eventfd readable, which is all that matters.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Clears a wake-up, for wakers used as level-triggered "ready" flags.
    pub fn reset(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64; EAGAIN (already
        // clear) leaves it untouched, which is fine.
        unsafe { libc::read(self.0.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
    }

    /// Whether [`wake`](Self::wake) was called (and not reset); one syscall.
    pub fn is_woken(&self) -> bool {
        matches!(self.wait(-1, 0, Duration::ZERO), Ok(Wait::Woken))
    }

    /// Waits until `fd` has `events` (none: just sleep), the waker is woken,
    /// or `timeout` passes.
    pub fn wait(&self, fd: RawFd, events: libc::c_short, timeout: Duration) -> io::Result<Wait> {
        let mut fds = [
            libc::pollfd { fd: self.0.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd, events, revents: 0 },
        ];
        let watched = if events == 0 { 1 } else { 2 };
        let millis = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
        // SAFETY: fds is a live array of at least `watched` pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), watched, millis) };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EINTR) => Ok(Wait::Interrupted),
                _ => Err(err),
            };
        }
        Ok(if fds[0].revents != 0 {
            Wait::Woken
        } else if fds[1].revents != 0 {
            Wait::Ready
        } else {
            Wait::TimedOut
        })
    }
}

impl AsRawFd for Waker {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_woken_waker_ends_every_wait_at_once() {
        let waker = Waker::new().unwrap();
        let start = Instant::now();
        assert_eq!(waker.wait(-1, 0, Duration::from_millis(30)).unwrap(), Wait::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(30));
        waker.wake();
        for _ in 0..3 {
            assert_eq!(waker.wait(-1, 0, Duration::from_secs(10)).unwrap(), Wait::Woken);
        }
    }
}

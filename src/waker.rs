//! An eventfd that ends every wait on a socket at once: how `shutdown()`
//! reaches a thread blocked in `recv` or `send`.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::fork;

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
///
/// Woken per process: a forked child that inherited a waker gets an eventfd
/// of its own at first use, so that its wake-ups end its own waits and never
/// the parent's (see [`crate::fork`]).
#[derive(Debug)]
pub struct Waker {
    fd: AtomicI32,
    /// The fork generation `fd` was made in.
    generation: AtomicU64,
    renewing: Mutex<()>,
}

impl Waker {
    /// A new eventfd, not yet woken.
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            fd: AtomicI32::new(eventfd()?),
            generation: AtomicU64::new(fork::generation()),
            renewing: Mutex::new(()),
        })
    }

    /// Makes the eventfd readable, which ends every wait that includes it.
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64. A full counter (EAGAIN)
        // still leaves the eventfd readable, which is all that matters.
        unsafe { libc::write(self.fd(), (&one as *const u64).cast(), 8) };
    }

    /// Clears a wake-up, for wakers used as level-triggered "ready" flags.
    pub fn reset(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64; EAGAIN (already
        // clear) leaves it untouched, which is fine.
        unsafe { libc::read(self.fd(), (&mut count as *mut u64).cast(), 8) };
    }

    /// Whether [`wake`](Self::wake) was called (and not reset); one syscall.
    pub fn is_woken(&self) -> bool {
        matches!(self.wait(-1, 0, Duration::ZERO), Ok(Wait::Woken))
    }

    /// Waits until `fd` has `events` (none: just sleep), the waker is woken,
    /// or `timeout` passes.
    pub fn wait(&self, fd: RawFd, events: libc::c_short, timeout: Duration) -> io::Result<Wait> {
        let mut fds = [
            libc::pollfd { fd: self.fd(), events: libc::POLLIN, revents: 0 },
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

impl Waker {
    /// This process's eventfd, readable once woken: for callers that poll it with other descriptors.
    pub fn fd(&self) -> RawFd {
        let now = fork::generation();
        if self.generation.load(Ordering::Acquire) != now {
            self.renew(now);
        }
        self.fd.load(Ordering::Acquire)
    }

    /// Replaces an eventfd inherited across fork() with a new one. If that
    /// fails (no descriptors left), wake-ups in this process do nothing, and
    /// blocked calls end with their next wait slice instead.
    fn renew(&self, now: u64) {
        let _only_one = self.renewing.lock().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) == now {
            return;
        }
        let inherited = self.fd.swap(eventfd().unwrap_or(-1), Ordering::AcqRel);
        self.generation.store(now, Ordering::Release);
        close(inherited);
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        close(*self.fd.get_mut());
    }
}

fn eventfd() -> io::Result<RawFd> {
    // SAFETY: eventfd has no memory arguments.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

fn close(fd: RawFd) {
    if fd >= 0 {
        // SAFETY: fd is this waker's own descriptor, closed exactly once.
        unsafe { libc::close(fd) };
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

    #[test]
    fn a_forked_child_wakes_only_itself() {
        let waker = Waker::new().unwrap();
        // SAFETY: the child only makes syscalls and exits without unwinding.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            waker.wake();
            let woken = waker.wait(-1, 0, Duration::ZERO).is_ok_and(|w| w == Wait::Woken);
            // SAFETY: _exit ends the child at once, running no Rust code.
            unsafe { libc::_exit(if woken { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waits for our own child into a live int.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "the child was not woken");
        assert_eq!(waker.wait(-1, 0, Duration::ZERO).unwrap(), Wait::TimedOut, "the child woke the parent");
    }
}

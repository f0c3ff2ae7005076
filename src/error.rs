//! The core's errors. Their texts are the user-facing ones (`docs/errors.md`);
//! the Python layer only picks the exception class.

use std::fmt;
use std::io;

use crate::candump_log::LogLineError;
use crate::cansend::SyntaxError;
use crate::frame::FrameError;

/// Everything that can go wrong in the core.
#[derive(Debug)]
pub enum Error {
    /// No interface has this name.
    NoSuchInterface {
        /// The interface, as the caller named it.
        channel: String,
    },
    /// The interface exists but is not a CAN interface (`lo`, `eth0`, ...).
    NotCanInterface {
        /// The interface, as the caller named it.
        channel: String,
    },
    /// The running kernel lacks the SocketCAN protocol, whose module is named.
    NoKernelSupport {
        /// The errno the kernel returned.
        errno: i32,
        /// The kernel module that provides it (`can-raw`, `can-bcm`).
        module: &'static str,
    },
    /// Opening or binding failed for another reason.
    Open {
        /// The interface, as the caller named it.
        channel: String,
        /// The errno the kernel returned.
        errno: i32,
    },
    /// Hardware timestamps were asked of a device that has none.
    NoHardwareTimestamps {
        /// The interface, as the caller named it.
        channel: String,
    },
    /// The bus was shut down.
    Closed {
        /// The interface, as the caller named it.
        channel: String,
    },
    /// An FD frame was sent on a socket opened without FD support.
    FdOnClassicBus {
        /// The interface, as the caller named it.
        channel: String,
    },
    /// A CAN XL frame was sent on a socket opened without CAN XL support.
    XlNotEnabled {
        /// The interface, as the caller named it.
        channel: String,
    },
    /// A CAN XL frame was sent on an interface whose MTU is not CANXL_MTU.
    XlMtu {
        /// The interface the frame was for.
        channel: String,
        /// Its MTU.
        mtu: u32,
    },
    /// A CAN XL frame with a VCID, on a kernel that would clear it.
    VcidNotCarried {
        /// The interface, as the caller named it.
        channel: String,
        /// The frame's VCID.
        vcid: u8,
    },
    /// CAN XL was asked of a kernel older than 6.2.
    NoXlSupport {
        /// The running kernel's release.
        release: String,
    },
    /// VCID options were asked of a kernel older than 6.9.
    NoVcidSupport {
        /// The running kernel's release.
        release: String,
    },
    /// A message sent on a bus on every interface names no interface to send on.
    NoDestination,
    /// The kernel's transmit queue stayed full for the whole timeout.
    BufferFull {
        /// The interface, as the caller named it.
        channel: String,
        /// How long the send waited.
        timeout_secs: f64,
    },
    /// Sending failed for a reason other than a full queue.
    Transmit {
        /// The interface, as the caller named it.
        channel: String,
        /// The errno the kernel returned.
        errno: i32,
    },
    /// Receiving failed.
    Receive {
        /// The interface, as the caller named it.
        channel: String,
        /// The errno the kernel returned.
        errno: i32,
    },
    /// The kernel refused the filters.
    Filters {
        /// The interface, as the caller named it.
        channel: String,
        /// The errno the kernel returned.
        errno: i32,
    },
    /// A frame that is not valid CAN or CAN FD.
    Frame(FrameError),
    /// Text that is not a frame in cansend syntax.
    FrameSyntax(SyntaxError),
    /// A line that is not in candump's log format.
    LogLine(LogLineError),
    /// Changing an interface needs CAP_NET_ADMIN.
    NotPermitted {
        /// The interface, as the caller named it.
        channel: String,
        /// What was attempted, in words (`create`, `bring up`).
        action: &'static str,
    },
    /// A bit-timing setting for a virtual interface, which has none.
    VirtualLink {
        /// The interface, as the caller named it.
        channel: String,
        /// The interface's kind (`vcan`, `vxcan`).
        kind: String,
        /// The setting asked for.
        what: &'static str,
    },
    /// An MTU no CAN interface takes, or one the interface's driver refused.
    BadMtu {
        /// The MTU asked for.
        mtu: u32,
    },
    /// Interface settings the kernel only takes together with others.
    LinkSettings {
        /// What is wrong with the settings.
        problem: &'static str,
        /// Settings that work, for the message.
        example: &'static str,
    },
    /// The kernel refused an interface change or query.
    Link {
        /// The interface, as the caller named it.
        channel: String,
        /// What was attempted, in words (`read`, `delete`).
        action: &'static str,
        /// The errno the kernel returned.
        errno: i32,
    },
    /// A recording's file could not be written; the frames received but not
    /// written are counted.
    Write {
        /// The errno the kernel returned.
        errno: i32,
        /// Frames received but not written.
        unwritten: u64,
    },
    /// The caller's check (for Python: pending signals) asked to stop.
    Interrupted,
}

impl Error {
    /// Why opening a socket of the protocol in kernel `module` on
    /// `channel`, an interface known to exist, failed with `errno`.
    pub(crate) fn opening(channel: &str, module: &'static str, errno: i32) -> Self {
        match errno {
            libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT => Self::NoKernelSupport { errno, module },
            // The interface exists (checked first), so it is of another kind.
            libc::ENODEV => Self::NotCanInterface { channel: channel.into() },
            errno => Self::Open { channel: channel.into(), errno },
        }
    }

    /// The errno behind the error, where there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::NoSuchInterface { .. } | Self::NotCanInterface { .. } => Some(libc::ENODEV),
            Self::BufferFull { .. } => Some(libc::ENOBUFS),
            Self::NoKernelSupport { errno, .. }
            | Self::Open { errno, .. }
            | Self::Transmit { errno, .. }
            | Self::Receive { errno, .. }
            | Self::Filters { errno, .. }
            | Self::Link { errno, .. }
            | Self::Write { errno, .. } => Some(*errno),
            Self::NotPermitted { .. } => Some(libc::EPERM),
            _ => None,
        }
    }
}

impl From<FrameError> for Error {
    fn from(e: FrameError) -> Self {
        Self::Frame(e)
    }
}

impl From<SyntaxError> for Error {
    fn from(e: SyntaxError) -> Self {
        Self::FrameSyntax(e)
    }
}

impl From<LogLineError> for Error {
    fn from(e: LogLineError) -> Self {
        Self::LogLine(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchInterface { channel } => write!(
                f,
                "CAN interface '{channel}' does not exist; create a virtual one with: \
                 sudo ip link add dev {channel} type vcan && sudo ip link set {channel} up"
            ),
            Self::NotCanInterface { channel } => {
                write!(f, "interface '{channel}' is not a CAN interface")
            }
            Self::NoKernelSupport { errno, module } => write!(
                f,
                "this kernel does not support SocketCAN: {}; load it with: sudo modprobe {module}",
                strerror(*errno)
            ),
            Self::Open { channel, errno } => {
                write!(f, "cannot open CAN interface '{channel}': {}", strerror(*errno))
            }
            Self::NoHardwareTimestamps { channel } => write!(
                f,
                "'{channel}' has no hardware timestamps (its driver reports no \
                 SOF_TIMESTAMPING_RX_HARDWARE); use timestamping='software'"
            ),
            Self::Closed { channel } => {
                write!(f, "the bus on '{channel}' is shut down; open a new Bus to use the interface again")
            }
            Self::NoDestination => f.write_str(
                "a bus on every interface (channel='') sends a message only where msg.channel \
                 names the interface, e.g. msg.channel = 'can0'",
            ),
            Self::FdOnClassicBus { channel } => {
                write!(f, "cannot send a CAN FD frame on '{channel}': open the bus with fd=True")
            }
            Self::XlNotEnabled { channel } => {
                write!(f, "cannot send a CAN XL frame on '{channel}': open the bus with xl=True")
            }
            Self::XlMtu { channel, mtu } => write!(
                f,
                "cannot send a CAN XL frame on '{channel}': its MTU is {mtu}, and CAN XL needs 2060 \
                 (ip link set {channel} mtu 2060)"
            ),
            Self::VcidNotCarried { channel, vcid } => {
                write!(f, "cannot send vcid={vcid} on '{channel}': VCIDs need Linux 6.9 or later")
            }
            Self::NoXlSupport { release } => {
                write!(f, "CAN XL needs Linux 6.2 or later (CAN_RAW_XL_FRAMES); this kernel is {release}")
            }
            Self::NoVcidSupport { release } => write!(
                f,
                "tx_vcid and rx_vcid need Linux 6.9 or later (CAN_RAW_XL_VCID_OPTS); this kernel is {release}"
            ),
            Self::BufferFull { channel, timeout_secs } => write!(
                f,
                "transmit buffer full on '{channel}': the frame was not taken within {timeout_secs:?} s"
            ),
            Self::Transmit { channel, errno } => {
                write!(f, "failed to transmit on '{channel}': {}{}", strerror(*errno), hint(channel, *errno))
            }
            Self::Receive { channel, errno } => {
                write!(f, "failed to receive on '{channel}': {}{}", strerror(*errno), hint(channel, *errno))
            }
            Self::Filters { channel, errno } => {
                write!(
                    f,
                    "failed to set filters on '{channel}': {}{}",
                    strerror(*errno),
                    hint(channel, *errno)
                )
            }
            Self::Frame(e) => e.fmt(f),
            Self::FrameSyntax(e) => e.fmt(f),
            Self::LogLine(e) => e.fmt(f),
            Self::NotPermitted { channel, action } => write!(
                f,
                "changing CAN interfaces needs CAP_NET_ADMIN (run as root, or grant the \
                 capability); the kernel refused to {action} '{channel}'"
            ),
            Self::VirtualLink { channel, kind, what } => write!(
                f,
                "'{channel}' is a virtual interface ({kind}): it has no {what}; \
                 that applies to real controllers such as can0"
            ),
            Self::BadMtu { mtu } => write!(
                f,
                "mtu {mtu} is not one the interface takes: a CAN interface takes 16 (classic CAN), \
                 72 (CAN FD) or 76 to 2060 (CAN XL, where the kernel has it), as far as its driver \
                 supports them"
            ),
            Self::LinkSettings { problem, example } => {
                write!(f, "{problem}; give them in one call, such as {example}")
            }
            Self::Link { channel, action, errno } => {
                write!(f, "cannot {action} '{channel}': {}{}", strerror(*errno), link_hint(*errno))
            }
            Self::Write { errno, unwritten } => {
                let plural = if *unwritten == 1 { "" } else { "s" };
                write!(f, "{}; the recording stopped, and {unwritten} frame{plural} received before could not be written", strerror(*errno))
            }
            Self::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for Error {}

/// The errno of an I/O error, EIO where the error carries none.
pub(crate) fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// The errno the last failed libc call left.
pub(crate) fn last_errno() -> i32 {
    errno_of(&io::Error::last_os_error())
}

/// Runs a syscall again while a signal interrupts it.
pub(crate) fn retry_eintr(mut call: impl FnMut() -> isize) -> io::Result<isize> {
    loop {
        let n = call();
        if n >= 0 {
            return Ok(n);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// What to do about the errors a user can fix.
fn hint(channel: &str, errno: i32) -> String {
    match errno {
        libc::ENETDOWN => {
            format!("; the interface is down, bring it up with: sudo ip link set {channel} up")
        }
        libc::ENODEV | libc::ENXIO | libc::ENOTCONN => {
            "; the interface has gone, open a new Bus once it exists again".to_owned()
        }
        _ => String::new(),
    }
}

/// What to do when the kernel refuses an interface change.
fn link_hint(errno: i32) -> &'static str {
    match errno {
        libc::EBUSY => {
            "; bit timing changes need the interface down, and a manual restart \
                        needs a controller in bus-off with restart-ms 0"
        }
        libc::EOPNOTSUPP => "; this kind of interface does not support it",
        _ => "",
    }
}

/// The C library's text for `errno`, as Python's `os.strerror` gives it.
pub fn strerror(errno: i32) -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: buf is writable for its whole length, and strerror_r
    // NUL-terminates what it writes on success.
    let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {errno}");
    }
    // SAFETY: NUL-terminated by strerror_r above.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_matches_the_c_library() {
        assert_eq!(strerror(libc::ENODEV), "No such device");
        assert_eq!(strerror(libc::ENOBUFS), "No buffer space available");
    }

    #[test]
    fn errors_tell_the_user_what_to_do() {
        let down = Error::Transmit { channel: "can0".into(), errno: libc::ENETDOWN };
        assert_eq!(
            down.to_string(),
            "failed to transmit on 'can0': Network is down; the interface is down, \
             bring it up with: sudo ip link set can0 up"
        );
        assert_eq!(down.errno(), Some(libc::ENETDOWN));
        let full = Error::BufferFull { channel: "can0".into(), timeout_secs: 0.1 };
        assert_eq!(full.to_string(), "transmit buffer full on 'can0': the frame was not taken within 0.1 s");
    }
}

//! Vector's ASCII log (`.asc`), as python-can's ASCWriter writes it: times
//! relative to the first frame, channels numbered from 1.

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use crate::frame::{dlc_of_fd_len, Frame};
use crate::rx_buffer::Received;

/// What ASC lines depend on besides their frame: the time of the first.
#[derive(Debug, Default)]
pub struct Asc {
    start: Option<Duration>,
}

impl Asc {
    /// The file's first lines, dated `now`.
    pub fn header(out: &mut Vec<u8>, now: SystemTime) -> io::Result<()> {
        let date = AscDate::of(now);
        write!(out, "date {date}\nbase hex  timestamps absolute\ninternal events logged\n")
    }

    /// Before the first frame: the trigger block's start, at its time.
    pub fn begin(&mut self, out: &mut Vec<u8>, received: &Received) -> io::Result<()> {
        if self.start.is_none() {
            let date = AscDate::of(SystemTime::UNIX_EPOCH + received.timestamp);
            write!(out, "Begin Triggerblock {date}\n   0.000000 Start of measurement\n")?;
            self.start = Some(received.timestamp);
        }
        Ok(())
    }

    /// The line for a frame on channel `number`, after [`begin`](Self::begin).
    pub fn frame(&self, out: &mut Vec<u8>, received: &Received, number: usize) -> io::Result<()> {
        let start = self.start.unwrap_or(received.timestamp);
        let elapsed = received.timestamp.saturating_sub(start);
        write!(out, "{:>4}.{:06} ", elapsed.as_secs(), elapsed.subsec_micros())?;
        let frame = &received.frame;
        if frame.is_error() {
            return writeln!(out, "{number}  ErrorFrame");
        }
        let direction = if received.local { "Tx" } else { "Rx" };
        let id = AscId::of(frame);
        let id = id.as_str();
        if frame.is_fd() {
            let data = frame.data();
            write!(
                out,
                "CANFD {number:>3} {direction:<4} {id:>8}  {:>32} {} {} {:x} {:>2}",
                "",
                u8::from(frame.brs()),
                u8::from(frame.esi()),
                dlc_of_fd_len(data.len()),
                data.len()
            )?;
            write_hex_bytes(out, data)?;
            let flags = 1 << 12 | u32::from(frame.brs()) << 13 | u32::from(frame.esi()) << 14;
            return writeln!(
                out,
                " {:>8} {:>4} {flags:>8X} {:>8} {:>8} {:>8} {:>8} {:>8}",
                0, 0, 0, 0, 0, 0, 0
            );
        }
        let kind = if frame.is_remote() { 'r' } else { 'd' };
        write!(out, "{number}  {id:<15} {direction:<4} {kind} {:x}", frame.dlc())?;
        write_hex_bytes(out, frame.data())?;
        out.write_all(b"\n")
    }
}

/// An identifier as ASC writes it: hex, with `x` after an extended one.
struct AscId {
    text: [u8; 9],
    len: usize,
}

impl AscId {
    fn of(frame: &Frame) -> Self {
        let mut text = [0; 9];
        let mut cursor = std::io::Cursor::new(&mut text[..]);
        let suffix = if frame.is_extended() { "x" } else { "" };
        // At most 8 hex digits and the suffix: it fits.
        let _ = write!(cursor, "{:X}{suffix}", frame.id());
        let len = cursor.position() as usize;
        Self { text, len }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[..self.len]).unwrap_or_default()
    }
}

fn write_hex_bytes(out: &mut Vec<u8>, data: &[u8]) -> io::Result<()> {
    data.iter().try_for_each(|byte| write!(out, " {byte:02X}"))
}

/// A local time as ASC headers write it: `Thu Dec 03 13:31:57.123 2026`.
struct AscDate(libc::tm, u32);

impl AscDate {
    fn of(time: SystemTime) -> Self {
        let since = time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs() as libc::time_t;
        // SAFETY: tm is plain old data; localtime_r fills it from a live time_t.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        unsafe { libc::localtime_r(&secs, &mut tm) };
        Self(tm, since.subsec_millis())
    }
}

impl std::fmt::Display for AscDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        const MONTHS: [&str; 12] =
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let Self(tm, millis) = self;
        write!(
            f,
            "{} {} {:02} {:02}:{:02}:{:02}.{millis:03} {}",
            DAYS[tm.tm_wday.rem_euclid(7) as usize],
            MONTHS[tm.tm_mon.rem_euclid(12) as usize],
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
            tm.tm_year + 1900
        )
    }
}

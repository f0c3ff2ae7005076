//! Received frames as text lines: candump's screen and log formats and
//! Vector's ASC, written straight into an output buffer.
//!
//! A [`LogFormat`] keeps what a line depends on besides its frame: the
//! interface-name width (candump right-aligns names to the longest seen), the
//! indentation of standard IDs once an extended one was seen, and for ASC
//! the start of the measurement and the channel numbers.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, SystemTime};

use socketcan::frame::{CANFD_BRS, CANFD_ESI, CANFD_FDF, CAN_ERR_FLAG};

use crate::frame::Frame;
use crate::rx_buffer::Received;

/// The text formats a recording can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// candump's log format (`candump -L`), read by canplayer:
    /// `(1795505855.998830) vcan0 123#DEADBEEF`.
    Log,
    /// candump's screen format: `  vcan0  123   [4]  DE AD BE EF`.
    Candump,
    /// candump -x: the screen format with the direction (RX/TX), BRS and ESI.
    CandumpExtra,
    /// Vector's ASCII log (`.asc`), as python-can's ASCWriter writes it.
    Asc,
}

impl Format {
    /// The format's name in ferrocan's API: `log`, `candump`, `candump-x`, `asc`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "log" => Some(Self::Log),
            "candump" => Some(Self::Candump),
            "candump-x" => Some(Self::CandumpExtra),
            "asc" => Some(Self::Asc),
            _ => None,
        }
    }
}

/// One format's writer, with the state its lines depend on.
pub struct LogFormat {
    format: Format,
    /// Interface names are right-aligned to this width, which grows.
    width: usize,
    /// Standard IDs are indented once an extended one was seen (candump).
    indent: bool,
    asc: Asc,
}

impl LogFormat {
    /// `names`: the interfaces asked for (`any` included), which set the
    /// first width, as in candump.
    pub fn new(format: Format, names: &[&str]) -> Self {
        let width = names.iter().map(|name| name.len()).max().unwrap_or(0);
        Self { format, width, indent: false, asc: Asc::default() }
    }

    /// What comes before the first frame.
    pub fn header(&mut self, out: &mut Vec<u8>, now: SystemTime) {
        if self.format == Format::Asc {
            let date = AscDate::of(now);
            let _ = write!(out, "date {date}\nbase hex  timestamps absolute\ninternal events logged\n");
        }
    }

    /// The line for a frame received on interface `channel`.
    pub fn frame(&mut self, out: &mut Vec<u8>, received: &Received, channel: &str) {
        self.width = self.width.max(channel.len());
        let frame = &received.frame;
        // Writing to a Vec cannot fail.
        let _ = match self.format {
            Format::Log => {
                let (secs, micros) = (received.timestamp.as_secs(), received.timestamp.subsec_micros());
                write!(out, "({secs:010}.{micros:06}) {channel:>0$} ", self.width)
                    .and_then(|()| write_cansend(out, frame))
                    .and_then(|()| out.write_all(b"\n"))
            }
            Format::Candump | Format::CandumpExtra => self.candump(out, received, channel),
            Format::Asc => self.asc.frame(out, received, channel),
        };
    }

    /// What comes after the last frame.
    pub fn footer(&mut self, out: &mut Vec<u8>) {
        if self.format == Format::Asc {
            out.extend_from_slice(b"End TriggerBlock\n");
        }
    }

    fn candump(&mut self, out: &mut Vec<u8>, received: &Received, channel: &str) -> std::io::Result<()> {
        let frame = &received.frame;
        self.indent |= frame.is_extended() && !frame.is_error();
        write!(out, "  {channel:>0$}", self.width)?;
        if self.format == Format::CandumpExtra {
            let direction = if received.local { "TX" } else { "RX" };
            let brs = if frame.brs() { 'B' } else { '-' };
            let esi = if frame.esi() { 'E' } else { '-' };
            write!(out, "  {direction} {brs} {esi}")?;
        }
        if frame.is_error() {
            write!(out, "  {:08X}  ", CAN_ERR_FLAG | frame.id())?;
        } else if frame.is_extended() {
            write!(out, "  {:08X}  ", frame.id())?;
        } else {
            let pad = if self.indent { "     " } else { "" };
            write!(out, "  {pad}{:03X}  ", frame.id())?;
        }
        let data = frame.data();
        if frame.is_fd() {
            write!(out, "[{:02}] ", data.len())?;
        } else if frame.is_remote() {
            return writeln!(out, " [{}]  remote request", frame.dlc());
        } else {
            write!(out, " [{}] ", data.len())?;
        }
        for byte in data {
            write!(out, " {byte:02X}")?;
        }
        if frame.is_error() && !frame.is_fd() {
            write!(out, "{:>1$}", "ERRORFRAME", 3 * (8 - data.len()) + 13)?;
        }
        out.write_all(b"\n")
    }
}

/// A frame in cansend syntax, as `candump -L` prints it (see [`crate::cansend`]).
fn write_cansend(out: &mut Vec<u8>, frame: &Frame) -> std::io::Result<()> {
    if frame.is_error() {
        write!(out, "{:08X}#", CAN_ERR_FLAG | frame.id())?;
    } else if frame.is_extended() {
        write!(out, "{:08X}#", frame.id())?;
    } else {
        write!(out, "{:03X}#", frame.id())?;
    }
    if frame.is_remote() {
        return match frame.dlc() {
            0 => write!(out, "R"),
            dlc => write!(out, "R{dlc}"),
        };
    }
    if frame.is_fd() {
        let flags = CANFD_FDF | flag(frame.brs(), CANFD_BRS) | flag(frame.esi(), CANFD_ESI);
        write!(out, "#{flags:X}")?;
    }
    frame.data().iter().try_for_each(|byte| write!(out, "{byte:02X}"))
}

fn flag(on: bool, flag: libc::c_int) -> libc::c_int {
    if on {
        flag
    } else {
        0
    }
}

/// Vector ASC: times relative to the first frame, channels numbered from 1
/// in the order they first appear (a comment line says which is which).
#[derive(Default)]
struct Asc {
    start: Option<Duration>,
    channels: HashMap<String, usize>,
}

impl Asc {
    fn frame(&mut self, out: &mut Vec<u8>, received: &Received, channel: &str) -> std::io::Result<()> {
        let start = match self.start {
            Some(start) => start,
            None => {
                let date = AscDate::of(SystemTime::UNIX_EPOCH + received.timestamp);
                write!(out, "Begin Triggerblock {date}\n   0.000000 Start of measurement\n")?;
                *self.start.insert(received.timestamp)
            }
        };
        let number = self.channel_number(out, channel)?;
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
                fd_dlc(data.len()),
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

    /// The channel's number, announced in a comment the first time.
    fn channel_number(&mut self, out: &mut Vec<u8>, channel: &str) -> std::io::Result<usize> {
        if let Some(&number) = self.channels.get(channel) {
            return Ok(number);
        }
        let number = self.channels.len() + 1;
        self.channels.insert(channel.to_owned(), number);
        writeln!(out, "// channel {number}: {channel}")?;
        Ok(number)
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

fn write_hex_bytes(out: &mut Vec<u8>, data: &[u8]) -> std::io::Result<()> {
    data.iter().try_for_each(|byte| write!(out, " {byte:02X}"))
}

/// The DLC code of a CAN FD payload length.
fn fd_dlc(len: usize) -> u8 {
    match len {
        0..=8 => len as u8,
        9..=12 => 9,
        13..=16 => 10,
        17..=20 => 11,
        21..=24 => 12,
        25..=32 => 13,
        33..=48 => 14,
        _ => 15,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::FrameSpec;

    fn received(spec: FrameSpec<'_>, micros: u64) -> Received {
        let frame = Frame::new(&spec).expect("valid");
        Received { frame, timestamp: Duration::from_micros(micros), local: false, own: false, ifindex: 1 }
    }

    fn lines(format: Format, names: &[&str], frames: &[(Received, &str)]) -> String {
        let mut writer = LogFormat::new(format, names);
        let mut out = Vec::new();
        for (frame, channel) in frames {
            writer.frame(&mut out, frame, channel);
        }
        String::from_utf8(out).expect("ASCII")
    }

    const T0: u64 = 1_796_305_227_000_001;

    #[test]
    fn log_lines_are_candumps_with_names_aligned_to_the_longest() {
        let standard = FrameSpec { id: 0x123, data: &[0xDE, 0xAD], ..FrameSpec::default() };
        let fd = FrameSpec {
            id: 0x1ABCDEF,
            extended: true,
            fd: true,
            brs: true,
            data: &[1],
            ..FrameSpec::default()
        };
        let text = lines(
            Format::Log,
            &["vcan0"],
            &[(received(standard, T0), "vcan0"), (received(fd, T0 + 999_999), "vcan10")],
        );
        assert_eq!(text, "(1796305227.000001) vcan0 123#DEAD\n(1796305228.000000) vcan10 01ABCDEF##501\n");
    }

    #[test]
    fn candump_indents_standard_ids_once_an_extended_one_was_seen() {
        let standard = FrameSpec { id: 0x7FF, data: &[1], ..FrameSpec::default() };
        let extended = FrameSpec { id: 0x1FFFFFFF, extended: true, ..FrameSpec::default() };
        let remote = FrameSpec { id: 0x123, remote: true, dlc: Some(2), ..FrameSpec::default() };
        let frames = [standard, extended, remote].map(|spec| (received(spec, T0), "vcan0"));
        assert_eq!(
            lines(Format::Candump, &["any"], &frames),
            "  vcan0  7FF   [1]  01\n  vcan0  1FFFFFFF   [0] \n  vcan0       123   [2]  remote request\n"
        );
    }

    #[test]
    fn asc_numbers_channels_and_times_from_the_first_frame() {
        let classic = FrameSpec { id: 0x123, data: &[0xDE, 0xAD], ..FrameSpec::default() };
        let fd = FrameSpec {
            id: 0x12345,
            extended: true,
            fd: true,
            esi: true,
            data: &[0; 12],
            ..FrameSpec::default()
        };
        let error = FrameSpec { id: 0x80, error: true, data: &[0; 8], ..FrameSpec::default() };
        let frames = [
            (received(classic, T0), "vcan0"),
            (received(fd, T0 + 1_500_000), "vcan1"),
            (received(error, T0 + 2), "vcan0"),
        ];
        let text = lines(Format::Asc, &[], &frames);
        let body: Vec<&str> = text.lines().skip(2).collect();
        assert!(text.starts_with("Begin Triggerblock "), "{text}");
        assert_eq!(
            body,
            [
                "// channel 1: vcan0",
                "   0.000000 1  123             Rx   d 2 DE AD",
                "// channel 2: vcan1",
                "   1.500000 CANFD   2 Rx     12345x                                   0 1 9 12 00 00 00 00 00 00 00 00 00 00 00 00        0    0     5000        0        0        0        0        0",
                "   0.000002 1  ErrorFrame",
            ]
        );
    }
}

//! Received frames written as a log: candump's screen and log formats, and
//! Vector's ASC and BLF, straight into an output buffer.
//!
//! A [`LogFormat`] keeps what the output depends on besides the frame at
//! hand: candump's alignment, the time of the first frame, and the channel
//! numbers of ASC and BLF, given from 1 in the order channels first appear.

mod asc;
pub mod blf;
mod candump;

use std::collections::HashMap;
use std::time::SystemTime;

pub use blf::FILE_HEADER_SIZE as BLF_HEADER_SIZE;

use crate::rx_buffer::Received;
use asc::Asc;
use blf::Blf;
use candump::Candump;

/// The formats a recording can be written in.
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
    /// Vector's Binary Logging Format (`.blf`), uncompressed; its header is
    /// rewritten at the end, so it needs a file it can seek in.
    Blf,
}

impl Format {
    /// Whether the format can write CAN XL frames: candump's can, Vector's
    /// ASC and BLF (as ferrocan writes them) cannot.
    pub fn has_xl(self) -> bool {
        matches!(self, Self::Log | Self::Candump | Self::CandumpExtra)
    }

    /// The format's name in ferrocan's API: `log`, `candump`, `candump-x`, `asc`, `blf`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "log" => Some(Self::Log),
            "candump" => Some(Self::Candump),
            "candump-x" => Some(Self::CandumpExtra),
            "asc" => Some(Self::Asc),
            "blf" => Some(Self::Blf),
            _ => None,
        }
    }
}

/// One format's writer, with the state its output depends on.
#[derive(Debug)]
pub struct LogFormat {
    format: Format,
    candump: Candump,
    asc: Asc,
    blf: Blf,
    /// ASC's and BLF's channel numbers, by interface name.
    channels: HashMap<String, usize>,
}

impl LogFormat {
    /// `names`: the interfaces asked for (`any` included), which set
    /// candump's first width.
    pub fn new(format: Format, names: &[&str]) -> Self {
        let candump = Candump::new(names);
        Self { format, candump, asc: Asc::default(), blf: Blf::default(), channels: HashMap::new() }
    }

    /// What comes before the first frame.
    pub fn header(&mut self, out: &mut Vec<u8>, now: SystemTime) {
        match self.format {
            Format::Asc => {
                let _ = Asc::header(out, now);
            }
            Format::Blf => self.blf.header(out),
            _ => {}
        }
    }

    /// The output for a frame received on interface `channel`.
    pub fn frame(&mut self, out: &mut Vec<u8>, received: &Received, channel: &str) {
        // Writing to a Vec cannot fail.
        let _ = match self.format {
            Format::Log => self.candump.log_line(out, received, channel),
            Format::Candump => self.candump.screen_line(out, received, channel, false),
            Format::CandumpExtra => self.candump.screen_line(out, received, channel, true),
            Format::Asc => self.asc.begin(out, received).and_then(|()| {
                let number = self.channel_number(out, channel);
                self.asc.frame(out, received, number)
            }),
            Format::Blf => {
                let number = self.channel_number(out, channel);
                let number = u16::try_from(number).unwrap_or(u16::MAX);
                self.blf.frame(out, &received.frame, received.local, received.timestamp, number);
                Ok(())
            }
        };
    }

    /// Makes `out` whole before it is written: closes BLF's open container.
    pub fn seal(&mut self, out: &mut [u8]) {
        if self.format == Format::Blf {
            self.blf.seal(out);
        }
    }

    /// What comes after the last frame.
    pub fn footer(&mut self, out: &mut Vec<u8>) {
        if self.format == Format::Asc {
            out.extend_from_slice(b"End TriggerBlock\n");
        }
    }

    /// BLF's final file header, to write over the first bytes at the end.
    pub fn final_header(&self) -> Option<[u8; BLF_HEADER_SIZE]> {
        (self.format == Format::Blf).then(|| self.blf.file_header())
    }

    /// The channel's number; in ASC, a comment line announces it the first time.
    fn channel_number(&mut self, out: &mut Vec<u8>, channel: &str) -> usize {
        if let Some(&number) = self.channels.get(channel) {
            return number;
        }
        let number = self.channels.len() + 1;
        self.channels.insert(channel.to_owned(), number);
        if self.format == Format::Asc {
            out.extend_from_slice(format!("// channel {number}: {channel}\n").as_bytes());
        }
        number
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::frame::{Frame, FrameSpec};

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

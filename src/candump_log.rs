//! candump's log format (`candump -L` and `-l`, read by canplayer), both
//! ways, with the rules and error texts of `python/ferrocan/_candump_log.py`, the
//! pure-Python implementation:
//!
//! `(1795505855.998830) vcan0 123#DEADBEEF`: the receive time (epoch seconds,
//! with microseconds), the interface and the frame in cansend syntax, CAN XL
//! frames included (`(1795505855.998830) vcan0 45123#81:00:12345678#112233`).

use std::fmt;

use crate::cansend::{self, ParsedFrame, SyntaxError};
use crate::py_repr::PyRepr;

/// Longest interface name Linux accepts (IFNAMSIZ less the NUL).
const MAX_NAME_BYTES: usize = 15;

/// One line of a log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// Seconds since the epoch, as written.
    pub timestamp: f64,
    /// The interface name.
    pub channel: String,
    /// The frame, in cansend syntax.
    pub frame: ParsedFrame,
}

/// A line that is not in candump's log format; the `String`s are the
/// offending part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogLineError {
    /// Not three fields, or not starting with '(': the line, right-stripped.
    Shape(String),
    /// A timestamp that is not `(seconds.fraction)`.
    Timestamp(String),
    /// A timestamp too large for a float's seconds.
    TimestampTooLarge(String),
    /// An interface name containing a NUL.
    ChannelNul(String),
    /// An interface name longer than Linux allows (15 bytes).
    ChannelTooLong(String),
    /// The frame field is not in cansend syntax.
    Frame(SyntaxError),
}

impl fmt::Display for LogLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape(line) => {
                write!(f, "expected '(SECONDS.MICROSECONDS) INTERFACE FRAME', got {}", PyRepr(line))
            }
            Self::Timestamp(stamp) => {
                write!(f, "the timestamp {} must be (SECONDS.MICROSECONDS) in digits 0-9", PyRepr(stamp))
            }
            Self::TimestampTooLarge(stamp) => write!(f, "the timestamp {} is too large", PyRepr(stamp)),
            Self::ChannelNul(channel) => {
                write!(f, "channel {} contains a NUL byte; interface names cannot", PyRepr(channel))
            }
            Self::ChannelTooLong(channel) => write!(
                f,
                "channel {} is {} bytes long; Linux interface names are at most {MAX_NAME_BYTES} bytes",
                PyRepr(channel),
                channel.len()
            ),
            Self::Frame(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LogLineError {}

impl From<SyntaxError> for LogLineError {
    fn from(e: SyntaxError) -> Self {
        Self::Frame(e)
    }
}

/// One log line (a trailing newline is whitespace).
pub fn parse(line: &str) -> Result<LogLine, LogLineError> {
    let mut fields = line.split(is_space).filter(|field| !field.is_empty());
    let (Some(stamp), Some(channel), Some(frame), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(LogLineError::Shape(line.trim_end_matches(is_space).to_owned()));
    };
    if !line.starts_with('(') {
        return Err(LogLineError::Shape(line.trim_end_matches(is_space).to_owned()));
    }
    let timestamp = parse_timestamp(stamp)?;
    check_channel(channel)?;
    let frame = cansend::parse(frame)?;
    Ok(LogLine { timestamp, channel: channel.to_owned(), frame })
}

/// The line for `line` (without a newline), as candump prints it for one
/// interface. Microseconds: a finer timestamp is rounded.
pub fn format(line: &LogLine) -> String {
    format!("({:017.6}) {} {}", line.timestamp, line.channel, cansend::format(&line.frame.spec()))
}

/// Python's `str.isspace()`, which `str.split()` splits at: Unicode's
/// White_Space and the ASCII information separators.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn parse_timestamp(stamp: &str) -> Result<f64, LogLineError> {
    let bad = || LogLineError::Timestamp(stamp.to_owned());
    let inner = stamp.strip_prefix('(').and_then(|s| s.strip_suffix(')')).ok_or_else(bad)?;
    let (seconds, fraction) = inner.split_once('.').ok_or_else(bad)?;
    if !decimal(seconds) || !decimal(fraction) {
        return Err(bad());
    }
    let value: f64 = inner.parse().map_err(|_| bad())?;
    if !value.is_finite() {
        return Err(LogLineError::TimestampTooLarge(stamp.to_owned()));
    }
    Ok(value)
}

fn decimal(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn check_channel(channel: &str) -> Result<(), LogLineError> {
    if channel.contains('\0') {
        return Err(LogLineError::ChannelNul(channel.to_owned()));
    }
    if channel.len() > MAX_NAME_BYTES {
        return Err(LogLineError::ChannelTooLong(channel.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_line() {
        let line = parse("(1795505855.998830) vcan0 123##5AABB\n").unwrap();
        assert_eq!((line.timestamp, line.channel.as_str()), (1_795_505_855.998_83, "vcan0"));
        assert_eq!(line.frame, cansend::parse("123##5AABB").unwrap());
        let spaced = parse("(1.5)\x1cvcan0\u{3000}123#00\u{85}").unwrap();
        assert_eq!((spaced.timestamp, spaced.channel.as_str()), (1.5, "vcan0"), "Python's whitespace");
    }

    #[test]
    fn names_the_problem_as_python_does() {
        let long = format!("({}.0) vcan0 123#00", "9".repeat(400));
        let cases = [
            ("vcan0 123#00\n", "expected '(SECONDS.MICROSECONDS) INTERFACE FRAME', got 'vcan0 123#00'"),
            ("(1.5) vcan0", "expected '(SECONDS.MICROSECONDS) INTERFACE FRAME', got '(1.5) vcan0'"),
            ("(1,5) vcan0 123#00", "the timestamp '(1,5)' must be (SECONDS.MICROSECONDS) in digits 0-9"),
            ("(-1.5) vcan0 123#00", "the timestamp '(-1.5)' must be (SECONDS.MICROSECONDS) in digits 0-9"),
            ("(1.5 vcan0 123#00", "the timestamp '(1.5' must be (SECONDS.MICROSECONDS) in digits 0-9"),
            ("(1.) vcan0 123#00", "the timestamp '(1.)' must be (SECONDS.MICROSECONDS) in digits 0-9"),
            ("( vcan0 123#00", "the timestamp '(' must be (SECONDS.MICROSECONDS) in digits 0-9"),
            ("(1.5) a\0b 123#00", "channel 'a\\x00b' contains a NUL byte; interface names cannot"),
            (
                "(1.5) averyveryverylongname 123#00",
                "channel 'averyveryverylongname' is 21 bytes long; Linux interface names are at most 15 bytes",
            ),
            ("(1.5) vcan0 12G#00", "malformed CAN frame '12G#00': the ID '12G' is not hexadecimal"),
        ];
        for (line, expected) in cases {
            assert_eq!(parse(line).unwrap_err().to_string(), expected);
        }
        let too_large = format!("the timestamp '({}.0)' is too large", "9".repeat(400));
        assert_eq!(parse(&long).unwrap_err().to_string(), too_large);
    }

    #[test]
    fn formats_as_candump_prints() {
        let line = |timestamp, frame| LogLine { timestamp, channel: "vcan0".into(), frame };
        let frame = cansend::parse("123#01").unwrap();
        assert_eq!(format(&line(0.5, frame.clone())), "(0000000000.500000) vcan0 123#01");
        assert_eq!(format(&line(0.0078125, frame)), "(0000000000.007812) vcan0 123#01", "ties to even");
        for text in
            ["(1795505855.998831) vcan1 1FFFFFFF#R3", "(1795505855.998831) vcan0 45123#81:00:12345678#112233"]
        {
            assert_eq!(format(&parse(text).unwrap()), text);
        }
    }

    #[test]
    fn parses_a_can_xl_line() {
        let line = parse("(1795505855.998830) vcan0 45123#81:00:12345678#112233\n").unwrap();
        assert_eq!(line.frame, cansend::parse("45123#81:00:12345678#112233").unwrap());
        assert!(line.frame.spec().xl);
        let problem = "malformed CAN frame '45123#82:00:12345678#11': the CAN XL flags '82' set bits \
                       other than XLF (80) and SEC (01), which ferrocan cannot represent (RRS, 02, included)";
        assert_eq!(parse("(1.5) vcan0 45123#82:00:12345678#11").unwrap_err().to_string(), problem);
    }
}

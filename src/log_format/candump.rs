//! candump's screen format (`  vcan0  123   [4]  DE AD BE EF`, with `-x`
//! the direction and flags) and log format (`(1795505855.998830) vcan0
//! 123#DEADBEEF`), which right-align interface names to the longest seen.

use std::io::{self, Write};

use socketcan::frame::{CANFD_BRS, CANFD_ESI, CANFD_FDF, CANFD_MAX_DLEN, CAN_ERR_FLAG};

use crate::frame::{canxl_flags, Frame, XlHeader};
use crate::rx_buffer::Received;

/// What candump's lines depend on besides their frame.
#[derive(Debug)]
pub struct Candump {
    /// Interface names are right-aligned to this width, which grows.
    width: usize,
    /// Standard IDs are indented once an extended one was seen.
    indent: bool,
}

impl Candump {
    /// `names`: the interfaces asked for (`any` included), which set the
    /// first width, as in candump.
    pub fn new(names: &[&str]) -> Self {
        Self { width: names.iter().map(|name| name.len()).max().unwrap_or(0), indent: false }
    }

    /// The log line: the receive time in microseconds (truncated, as
    /// candump prints it), the interface and the frame in cansend syntax.
    pub fn log_line(&mut self, out: &mut Vec<u8>, received: &Received, channel: &str) -> io::Result<()> {
        self.width = self.width.max(channel.len());
        let (secs, micros) = (received.timestamp.as_secs(), received.timestamp.subsec_micros());
        write!(out, "({secs:010}.{micros:06}) {channel:>0$} ", self.width)?;
        write_cansend(out, &received.frame)?;
        out.write_all(b"\n")
    }

    /// The screen line; `extra` adds candump -x's direction, BRS and ESI.
    pub fn screen_line(
        &mut self,
        out: &mut Vec<u8>,
        received: &Received,
        channel: &str,
        extra: bool,
    ) -> io::Result<()> {
        let frame = &received.frame;
        self.width = self.width.max(channel.len());
        self.indent |= frame.is_extended() && !frame.is_error();
        write!(out, "  {channel:>0$}", self.width)?;
        if extra {
            let direction = if received.local { "TX" } else { "RX" };
            let brs = if frame.brs() { 'B' } else { '-' };
            let esi = if frame.esi() { 'E' } else { '-' };
            write!(out, "  {direction} {brs} {esi}")?;
        }
        if let Some(header) = frame.xl_header() {
            let pad = if self.indent { "     " } else { "" };
            write!(out, "  {pad}{:03X} [{:04}] ", frame.id(), frame.data().len())?;
            return write_xl_screen(out, frame, header);
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

/// The rest of a CAN XL frame's screen line, as can-utils' lib.c prints it:
/// `(VCID|flags:SDT:AF)` and at most 64 data bytes, then ` ...` for more.
fn write_xl_screen(out: &mut Vec<u8>, frame: &Frame, header: XlHeader) -> io::Result<()> {
    let flags = canxl_flags(header.sec);
    let (vcid, sdt, af) = (header.vcid, header.sdu_type, header.acceptance_field);
    write!(out, "({vcid:02X}|{flags:02X}:{sdt:02X}:{af:08X}) ")?;
    let data = frame.data();
    let shown = &data[..data.len().min(CANFD_MAX_DLEN)];
    for (i, byte) in shown.iter().enumerate() {
        let separator = if i == 0 { "" } else { " " };
        write!(out, "{separator}{byte:02X}")?;
    }
    if shown.len() < data.len() {
        out.write_all(b" ...")?;
    }
    out.write_all(b"\n")
}

/// A frame in cansend syntax, as `candump -L` prints it (see [`crate::cansend`]).
fn write_cansend(out: &mut Vec<u8>, frame: &Frame) -> io::Result<()> {
    if let Some(header) = frame.xl_header() {
        let (vcid, sdt, af) = (header.vcid, header.sdu_type, header.acceptance_field);
        write!(out, "{vcid:02X}{:03X}#{:02X}:{sdt:02X}:{af:08X}#", frame.id(), canxl_flags(header.sec))?;
        return frame.data().iter().try_for_each(|byte| write!(out, "{byte:02X}"));
    }
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

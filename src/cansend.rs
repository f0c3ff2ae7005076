//! cansend's frame syntax (can-utils), both ways, with the rules and error
//! texts of `python/ferrocan/_cansend.py`, the pure-Python twin.
//!
//! * `123#DEADBEEF`: a standard ID (3 hex digits) and 4 data bytes
//! * `1FFFFFFF#11.22`: an extended ID (8 hex digits); dots may separate bytes
//! * `123#R`, `123#R3`: a remote frame, requesting 0 or 3 bytes
//! * `123##1112233`: CAN FD; the digit after `##` is `canfd_frame.flags`
//!   (BRS=1, ESI=2, FDF=4), then the data
//! * `20000040#0000000000000000`: CAN_ERR_FLAG in 8 digits, an error frame
//! * `45123#81:00:12345678#11223344`: CAN XL; 5 digits are the VCID (45) and
//!   the 11-bit priority ID (123), then `canxl_frame.flags` (XLF=80, SEC=01;
//!   XLF is implied), the SDU type and the acceptance field, then 1 to 2048
//!   data bytes

use std::fmt::{self, Write};

use socketcan::frame::{
    CANFD_BRS, CANFD_ESI, CANFD_FDF, CANFD_MAX_DLEN, CAN_EFF_FLAG, CAN_EFF_MASK, CAN_ERR_FLAG, CAN_MAX_DLEN,
    CAN_RTR_FLAG, CAN_SFF_MASK,
};

use crate::frame::{canxl_flags, FrameSpec, CANXL_MAX_DLEN, CANXL_PRIO_MASK, CANXL_SEC, CANXL_XLF};
use crate::py_repr::PyRepr;

/// A frame read from text: a valid [`FrameSpec`] that owns its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedFrame {
    /// Every field but the data.
    header: FrameSpec<'static>,
    data: Vec<u8>,
}

impl ParsedFrame {
    /// `dlc` is `Some` for remote frames only; other frames' is their data's length.
    pub fn spec(&self) -> FrameSpec<'_> {
        FrameSpec { data: &self.data, ..self.header }
    }
}

/// Text that is not a frame in cansend syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    text: String,
    problem: Problem,
}

/// What is wrong with the text; the `String`s are the offending part.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Problem {
    NoDelimiter,
    IdLength(String),
    IdNotHex(String),
    StandardIdRange(String),
    ExtendedIdRange(String),
    RemoteErrorFrame,
    FdErrorFrame,
    RemoteLength(String),
    FlagsMissing,
    FlagsNotHex(char),
    DataNotHex(String),
    DataOddDigits(String),
    DataMisplacedDot(String),
    DataTooLong { bytes: usize, kind: Kind },
    XlPriorityRange(String),
    XlNoDelimiter,
    XlHeaderShape(String),
    XlFieldNotHex { field: &'static str, value: String },
    XlFlags(String),
    XlNoData,
}

/// The kind of frame, which limits its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Classic,
    Fd,
    Xl,
}

impl Kind {
    fn max_len(self) -> usize {
        match self {
            Self::Classic => CAN_MAX_DLEN,
            Self::Fd => CANFD_MAX_DLEN,
            Self::Xl => CANXL_MAX_DLEN,
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed CAN frame {}: {}", PyRepr(&self.text), self.problem)
    }
}

impl std::error::Error for SyntaxError {}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoDelimiter => f.write_str("there is no '#' after the ID (expected e.g. 123#DEADBEEF)"),
            Self::IdLength(id) => write!(
                f,
                "the ID {} must have 3 hex digits (standard), 8 (extended) \
                 or 5 (CAN XL: VCID and priority)",
                PyRepr(id)
            ),
            Self::IdNotHex(id) => write!(f, "the ID {} is not hexadecimal", PyRepr(id)),
            Self::StandardIdRange(id) => {
                write!(f, "the standard (11-bit) ID {} is out of range: must be 000..7FF", PyRepr(id))
            }
            Self::ExtendedIdRange(id) => write!(
                f,
                "the extended (29-bit) ID {} is out of range: must be 00000000..1FFFFFFF \
                 (2xxxxxxx is an error frame)",
                PyRepr(id)
            ),
            Self::RemoteErrorFrame => f.write_str("an error frame cannot be a remote frame"),
            Self::FdErrorFrame => f.write_str("an error frame cannot be a CAN FD frame"),
            Self::RemoteLength(length) => {
                write!(f, "the remote frame's length 'R{length}' must be R or R0..R8")
            }
            Self::FlagsMissing => f.write_str("the CAN FD flags digit is missing after '##'"),
            Self::FlagsNotHex(flags) => {
                let mut buf = [0; 4];
                write!(f, "the CAN FD flags {} are not a hex digit", PyRepr(flags.encode_utf8(&mut buf)))
            }
            Self::DataNotHex(data) => write!(f, "the data {} is not hexadecimal", PyRepr(data)),
            Self::DataOddDigits(data) => {
                write!(f, "the data {} has an odd number of hex digits (2 per byte)", PyRepr(data))
            }
            Self::DataMisplacedDot(data) => {
                write!(f, "the data {} has a misplaced '.': dots separate bytes", PyRepr(data))
            }
            Self::DataTooLong { bytes, kind: Kind::Classic } => write!(
                f,
                "the data is {bytes} bytes, but a classic CAN frame carries at most {CAN_MAX_DLEN} \
                 (use ## for CAN FD)"
            ),
            Self::DataTooLong { bytes, kind: Kind::Fd } => {
                write!(f, "the data is {bytes} bytes, but a CAN FD frame carries at most {CANFD_MAX_DLEN}")
            }
            Self::DataTooLong { bytes, kind: Kind::Xl } => {
                write!(f, "the data is {bytes} bytes, but a CAN XL frame carries at most {CANXL_MAX_DLEN}")
            }
            Self::XlPriorityRange(prio) => {
                write!(f, "the CAN XL priority ID {} is out of range: must be 000..7FF", PyRepr(prio))
            }
            Self::XlNoDelimiter => f.write_str(
                "there is no '#' after the CAN XL header (expected e.g. 45123#81:00:12345678#11223344)",
            ),
            Self::XlHeaderShape(header) => write!(
                f,
                "the CAN XL header {} must be FLAGS:SDT:AF in 2, 2 and 8 hex digits (e.g. 80:00:12345678)",
                PyRepr(header)
            ),
            Self::XlFieldNotHex { field, value } => {
                write!(f, "the CAN XL {field} {} is not hexadecimal", PyRepr(value))
            }
            Self::XlFlags(flags) => write!(
                f,
                "the CAN XL flags {} set bits other than XLF (80) and SEC (01), \
                 which ferrocan cannot represent (RRS, 02, included)",
                PyRepr(flags)
            ),
            Self::XlNoData => f.write_str("the data is empty, but a CAN XL frame carries 1 to 2048 bytes"),
        }
    }
}

/// The frame that `cansend IFACE TEXT` would send.
pub fn parse(text: &str) -> Result<ParsedFrame, SyntaxError> {
    parse_frame(text).map_err(|problem| SyntaxError { text: text.to_owned(), problem })
}

/// A valid frame in cansend syntax, exactly as `candump -L` prints it: FD
/// flags include FDF, as the kernel delivers them.
pub fn format(spec: &FrameSpec<'_>) -> String {
    let data = spec.data.iter().fold(String::with_capacity(2 * spec.data.len()), |mut hex, b| {
        let _ = write!(hex, "{b:02X}"); // writing to a String cannot fail
        hex
    });
    if spec.xl {
        let flags = canxl_flags(spec.sec);
        let (vcid, prio, sdt, af) = (spec.vcid, spec.id, spec.sdu_type, spec.acceptance_field);
        return format!("{vcid:02X}{prio:03X}#{flags:02X}:{sdt:02X}:{af:08X}#{data}");
    }
    if spec.error {
        return format!("{:08X}#{data}", i64::from(CAN_ERR_FLAG) | spec.id);
    }
    let id = if spec.extended { format!("{:08X}", spec.id) } else { format!("{:03X}", spec.id) };
    if spec.remote {
        return match spec.dlc {
            None | Some(0) => format!("{id}#R"),
            Some(dlc) => format!("{id}#R{dlc}"),
        };
    }
    if spec.fd {
        let flags = CANFD_FDF | flag(spec.brs, CANFD_BRS) | flag(spec.esi, CANFD_ESI);
        return format!("{id}##{flags:X}{data}");
    }
    format!("{id}#{data}")
}

fn flag(on: bool, flag: libc::c_int) -> libc::c_int {
    if on {
        flag
    } else {
        0
    }
}

fn parse_frame(text: &str) -> Result<ParsedFrame, Problem> {
    let (id, rest) = text.split_once('#').ok_or(Problem::NoDelimiter)?;
    if id.chars().count() == 5 {
        return xl(id, rest);
    }
    let header = parse_id(id)?;
    // rest[1..] below: the first character is ASCII.
    match rest.chars().next() {
        Some('R' | 'r') if header.error => Err(Problem::RemoteErrorFrame),
        Some('R' | 'r') => remote(header, &rest[1..]),
        Some('#') if header.error => Err(Problem::FdErrorFrame),
        Some('#') => fd(header, &rest[1..]),
        _ => Ok(ParsedFrame { header, data: parse_data(rest, Kind::Classic)? }),
    }
}

/// A header with the ID, and the extended and error flags.
fn parse_id(id: &str) -> Result<FrameSpec<'static>, Problem> {
    let digits = id.chars().count();
    if digits != 3 && digits != 8 {
        return Err(Problem::IdLength(id.to_owned()));
    }
    if !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Problem::IdNotHex(id.to_owned()));
    }
    let value = u32::from_str_radix(id, 16).expect("at most 8 hex digits");
    let header = |id: u32, extended: bool, error: bool| FrameSpec {
        id: id.into(),
        extended,
        error,
        ..FrameSpec::default()
    };
    if digits == 3 {
        if value > CAN_SFF_MASK {
            return Err(Problem::StandardIdRange(id.to_owned()));
        }
        return Ok(header(value, false, false));
    }
    if value & CAN_ERR_FLAG != 0 && value & (CAN_EFF_FLAG | CAN_RTR_FLAG) == 0 {
        // Linux's error classes fit in 11 bits; wider ones make an extended ID,
        // as ferrocan.Message requires.
        let classes = value & CAN_EFF_MASK;
        return Ok(header(classes, classes > CAN_SFF_MASK, true));
    }
    if value > CAN_EFF_MASK {
        return Err(Problem::ExtendedIdRange(id.to_owned()));
    }
    Ok(header(value, true, false))
}

fn remote(header: FrameSpec<'static>, length: &str) -> Result<ParsedFrame, Problem> {
    let dlc = match length.as_bytes() {
        [] => 0,
        [digit @ b'0'..=b'8'] => digit - b'0',
        _ => return Err(Problem::RemoteLength(length.to_owned())),
    };
    let header = FrameSpec { remote: true, dlc: Some(dlc.into()), ..header };
    Ok(ParsedFrame { header, data: Vec::new() })
}

fn fd(header: FrameSpec<'static>, rest: &str) -> Result<ParsedFrame, Problem> {
    let mut chars = rest.chars();
    let flags = chars.next().ok_or(Problem::FlagsMissing)?;
    let value = flags.to_digit(16).ok_or(Problem::FlagsNotHex(flags))? as libc::c_int;
    let header = FrameSpec { fd: true, brs: value & CANFD_BRS != 0, esi: value & CANFD_ESI != 0, ..header };
    Ok(ParsedFrame { header, data: parse_data(chars.as_str(), Kind::Fd)? })
}

/// `VVPPP#FF:SS:AAAAAAAA#DATA`, split at the ID's '#': a CAN XL frame.
fn xl(id: &str, rest: &str) -> Result<ParsedFrame, Problem> {
    if !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Problem::IdNotHex(id.to_owned()));
    }
    let (vcid, prio) = id.split_at(2);
    let prio_value = hex(prio);
    if prio_value > i64::from(CANXL_PRIO_MASK) {
        return Err(Problem::XlPriorityRange(prio.to_owned()));
    }
    let (xl_header, data) = rest.split_once('#').ok_or(Problem::XlNoDelimiter)?;
    let fields: Vec<&str> = xl_header.split(':').collect();
    let [flags, sdt, af] = fields[..] else { return Err(Problem::XlHeaderShape(xl_header.to_owned())) };
    if [flags, sdt, af].map(|field| field.chars().count()) != [2, 2, 8] {
        return Err(Problem::XlHeaderShape(xl_header.to_owned()));
    }
    for (field, value) in [("flags byte", flags), ("SDU type", sdt), ("acceptance field", af)] {
        if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Problem::XlFieldNotHex { field, value: value.to_owned() });
        }
    }
    let flags_value = hex(flags);
    if flags_value & !i64::from(CANXL_XLF | CANXL_SEC) != 0 {
        return Err(Problem::XlFlags(flags.to_owned()));
    }
    let data = parse_data(data, Kind::Xl)?;
    if data.is_empty() {
        return Err(Problem::XlNoData);
    }
    let header = FrameSpec {
        id: prio_value,
        xl: true,
        sec: flags_value & i64::from(CANXL_SEC) != 0,
        sdu_type: hex(sdt),
        acceptance_field: hex(af),
        vcid: hex(vcid),
        ..FrameSpec::default()
    };
    Ok(ParsedFrame { header, data })
}

/// The value of at most 8 ASCII hex digits.
fn hex(digits: &str) -> i64 {
    i64::from_str_radix(digits, 16).expect("checked to be at most 8 hex digits")
}

/// Hex digit pairs, each optionally preceded and followed by one dot.
fn parse_data(data: &str, kind: Kind) -> Result<Vec<u8>, Problem> {
    let digits: Vec<u8> = data.bytes().filter(|&b| b != b'.').collect();
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(Problem::DataNotHex(data.to_owned()));
    }
    if digits.len() % 2 != 0 {
        return Err(Problem::DataOddDigits(data.to_owned()));
    }
    if !dots_between_bytes(data) {
        return Err(Problem::DataMisplacedDot(data.to_owned()));
    }
    if digits.len() > 2 * kind.max_len() {
        return Err(Problem::DataTooLong { bytes: digits.len() / 2, kind });
    }
    Ok(digits.chunks(2).map(|pair| nibble(pair[0]) << 4 | nibble(pair[1])).collect())
}

fn nibble(digit: u8) -> u8 {
    char::from(digit).to_digit(16).expect("checked to be a hex digit") as u8
}

/// Whether every dot stands at a byte boundary, and no two are adjacent.
fn dots_between_bytes(data: &str) -> bool {
    let mut digits = 0;
    let mut previous = 0;
    for b in data.bytes() {
        if b == b'.' && (digits % 2 != 0 || previous == b'.') {
            return false;
        }
        digits += usize::from(b != b'.');
        previous = b;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Frame;

    /// (id, extended, remote, error, fd, brs, esi, dlc, data) as ferrocan.Message has them.
    type Fields = (i64, bool, bool, bool, bool, bool, bool, i64, Vec<u8>);

    fn fields(text: &str) -> Fields {
        let parsed = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let s = parsed.spec();
        let dlc = s.dlc.unwrap_or(s.data.len() as i64);
        (s.id, s.extended, s.remote, s.error, s.fd, s.brs, s.esi, dlc, s.data.to_vec())
    }

    #[test]
    fn parses_what_cansend_sends() {
        let f = false;
        let t = true;
        let cases: Vec<(&str, Fields)> = vec![
            ("123#DEADBEEF", (0x123, f, f, f, f, f, f, 4, vec![0xDE, 0xAD, 0xBE, 0xEF])),
            ("1FFFFFFF#0102", (0x1FFF_FFFF, t, f, f, f, f, f, 2, vec![1, 2])),
            ("00000123#", (0x123, t, f, f, f, f, f, 0, vec![])),
            ("7ff#aa.bb.cc", (0x7FF, f, f, f, f, f, f, 3, vec![0xAA, 0xBB, 0xCC])),
            ("123#.11.22.", (0x123, f, f, f, f, f, f, 2, vec![0x11, 0x22])),
            ("123#R", (0x123, f, t, f, f, f, f, 0, vec![])),
            ("123#r8", (0x123, f, t, f, f, f, f, 8, vec![])),
            ("00ABCDEF#R3", (0xAB_CDEF, t, t, f, f, f, f, 3, vec![])),
            ("123##1AABB", (0x123, f, f, f, t, t, f, 2, vec![0xAA, 0xBB])),
            ("123##3", (0x123, f, f, f, t, t, t, 0, vec![])),
            ("20000040#0000000000000000", (0x40, f, f, t, f, f, f, 8, vec![0; 8])),
            ("3FFFFFFF#", (0x1FFF_FFFF, t, f, t, f, f, f, 0, vec![])),
        ];
        for (text, expected) in cases {
            assert_eq!(fields(text), expected, "{text}");
        }
        assert_eq!(fields(&format!("123##5{}", "00".repeat(64))).7, 64);
    }

    #[test]
    fn names_the_frame_and_the_problem_as_python_does() {
        let cases = [
            ("", "there is no '#' after the ID (expected e.g. 123#DEADBEEF)"),
            ("12G#00", "the ID '12G' is not hexadecimal"),
            ("12#00", "the ID '12' must have 3 hex digits (standard), 8 (extended) or 5 (CAN XL: VCID and priority)"),
            ("1é3#00", "the ID '1é3' is not hexadecimal"),
            ("800#00", "the standard (11-bit) ID '800' is out of range: must be 000..7FF"),
            (
                "9FFFFFFF#00",
                "the extended (29-bit) ID '9FFFFFFF' is out of range: must be 00000000..1FFFFFFF \
                 (2xxxxxxx is an error frame)",
            ),
            ("123#0", "the data '0' has an odd number of hex digits (2 per byte)"),
            ("123#DE AD", "the data 'DE AD' is not hexadecimal"),
            ("123#11..22", "the data '11..22' has a misplaced '.': dots separate bytes"),
            ("123#1.122", "the data '1.122' has a misplaced '.': dots separate bytes"),
            (
                "123#001122334455667788",
                "the data is 9 bytes, but a classic CAN frame carries at most 8 (use ## for CAN FD)",
            ),
            ("123##", "the CAN FD flags digit is missing after '##'"),
            ("123##G00", "the CAN FD flags 'G' are not a hex digit"),
            ("123##'", "the CAN FD flags \"'\" are not a hex digit"),
            ("123#R9", "the remote frame's length 'R9' must be R or R0..R8"),
            ("123#Ré", "the remote frame's length 'Ré' must be R or R0..R8"),
            ("20000040#R", "an error frame cannot be a remote frame"),
            ("20000040##1", "an error frame cannot be a CAN FD frame"),
        ];
        for (text, problem) in cases {
            let expected = format!("malformed CAN frame {}: {problem}", PyRepr(text));
            assert_eq!(parse(text).unwrap_err().to_string(), expected);
        }
        let too_long = format!("123##1{}", "00".repeat(65));
        let problem = "the data is 65 bytes, but a CAN FD frame carries at most 64";
        let expected = format!("malformed CAN frame {}: {problem}", PyRepr(&too_long));
        assert_eq!(parse(&too_long).unwrap_err().to_string(), expected);
    }

    #[test]
    fn parses_can_xl_as_lib_h_documents() {
        let parsed = parse("45123#81:00:12345678#11223344.556677").unwrap();
        let expected = FrameSpec {
            id: 0x123,
            xl: true,
            sec: true,
            sdu_type: 0,
            acceptance_field: 0x1234_5678,
            vcid: 0x45,
            data: &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77],
            ..FrameSpec::default()
        };
        assert_eq!(parsed.spec(), expected);
        let plain = parse("007ff#00:ff:ffffffff#00").unwrap();
        let expected = FrameSpec {
            id: 0x7FF,
            xl: true,
            sdu_type: 0xFF,
            acceptance_field: 0xFFFF_FFFF,
            data: &[0],
            ..FrameSpec::default()
        };
        assert_eq!(plain.spec(), expected, "XLF is implied");
        assert_eq!(
            parse(&format!("00000#80:00:00000000#{}", "AB".repeat(2048))).unwrap().spec().data.len(),
            2048
        );
    }

    #[test]
    fn names_the_can_xl_problem_as_python_does() {
        let cases = [
            ("4512G#80:00:00000000#11", "the ID '4512G' is not hexadecimal"),
            ("45800#80:00:00000000#11", "the CAN XL priority ID '800' is out of range: must be 000..7FF"),
            (
                "45123#80:00:00000000",
                "there is no '#' after the CAN XL header (expected e.g. 45123#81:00:12345678#11223344)",
            ),
            (
                "45123#80.00:00000000#11",
                "the CAN XL header '80.00:00000000' must be FLAGS:SDT:AF in 2, 2 and 8 hex digits \
                 (e.g. 80:00:12345678)",
            ),
            (
                "45123#80:00:0000000#11",
                "the CAN XL header '80:00:0000000' must be FLAGS:SDT:AF in 2, 2 and 8 hex digits \
                 (e.g. 80:00:12345678)",
            ),
            ("45123#8G:00:00000000#11", "the CAN XL flags byte '8G' is not hexadecimal"),
            ("45123#80:é0:00000000#11", "the CAN XL SDU type 'é0' is not hexadecimal"),
            ("45123#80:0x:00000000#11", "the CAN XL SDU type '0x' is not hexadecimal"),
            ("45123#80:00:0000000Z#11", "the CAN XL acceptance field '0000000Z' is not hexadecimal"),
            (
                "45123#82:00:00000000#11",
                "the CAN XL flags '82' set bits other than XLF (80) and SEC (01), \
                 which ferrocan cannot represent (RRS, 02, included)",
            ),
            ("45123#80:00:00000000#", "the data is empty, but a CAN XL frame carries 1 to 2048 bytes"),
            ("45123#80:00:00000000#112", "the data '112' has an odd number of hex digits (2 per byte)"),
            ("45123#80:00:00000000#11#22", "the data '11#22' is not hexadecimal"),
        ];
        for (text, problem) in cases {
            let expected = format!("malformed CAN frame {}: {problem}", PyRepr(text));
            assert_eq!(parse(text).unwrap_err().to_string(), expected);
        }
        let too_long = format!("00123#80:00:00000000#{}", "00".repeat(2049));
        let problem = "the data is 2049 bytes, but a CAN XL frame carries at most 2048";
        let expected = format!("malformed CAN frame {}: {problem}", PyRepr(&too_long));
        assert_eq!(parse(&too_long).unwrap_err().to_string(), expected);
    }

    #[test]
    fn formats_as_candump_log_prints() {
        let spec = |id, extended| FrameSpec { id, extended, ..FrameSpec::default() };
        let cases = [
            (FrameSpec { data: &[0xDE, 0xAD], ..spec(0x123, false) }, "123#DEAD"),
            (spec(0x123, true), "00000123#"),
            (FrameSpec { remote: true, dlc: Some(0), ..spec(0x7FF, false) }, "7FF#R"),
            (FrameSpec { remote: true, dlc: Some(3), ..spec(0x7FF, false) }, "7FF#R3"),
            (FrameSpec { fd: true, data: &[1], ..spec(1, false) }, "001##401"),
            (FrameSpec { fd: true, brs: true, esi: true, ..spec(1, true) }, "00000001##7"),
            (FrameSpec { error: true, data: &[0; 8], ..spec(0x40, false) }, "20000040#0000000000000000"),
            (
                FrameSpec {
                    xl: true,
                    sec: true,
                    acceptance_field: 0x1234_5678,
                    vcid: 0x45,
                    data: &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77],
                    ..spec(0x123, false)
                },
                "45123#81:00:12345678#11223344556677",
            ),
            (
                FrameSpec { xl: true, sdu_type: 0xA, data: &[1], ..spec(0x7FF, false) },
                "007FF#80:0A:00000000#01",
            ),
        ];
        for (spec, text) in cases {
            assert_eq!(format(&spec), text);
        }
    }

    #[test]
    fn parsed_frames_are_valid_and_survive_a_round_trip() {
        let texts = [
            "123#DEADBEEF",
            "1FFFFFFF#R8",
            "123##6",
            "20000004#0004000000000000",
            "3FFFFFFF#",
            "45123#81:00:12345678#11223344556677",
            "FF7FF#80:FF:FFFFFFFF#00",
        ];
        for text in texts {
            let parsed = parse(text).unwrap();
            assert!(Frame::new(&parsed.spec()).is_ok(), "{text}");
            assert_eq!(format(&parsed.spec()), text);
            assert_eq!(parse(&format(&parsed.spec())).unwrap(), parsed);
        }
    }
}

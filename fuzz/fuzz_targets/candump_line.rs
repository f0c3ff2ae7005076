//! Arbitrary text as a line of candump's log: parsing never panics (nor does
//! its error text), what parses holds a valid frame, and formatting it gives
//! a line that parses to the same frame and channel, with the timestamp
//! rounded to microseconds, and formats alike (CAN XL frames included).

#![no_main]

use ferrocan::candump_log;
use ferrocan::frame::Frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let line = match candump_log::parse(text) {
        Ok(line) => line,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    if let Err(e) = Frame::new(&line.frame.spec()) {
        panic!("{text:?} parsed to an invalid frame: {e}");
    }
    let formatted = candump_log::format(&line);
    let again = candump_log::parse(&formatted).unwrap_or_else(|e| panic!("{text:?} formatted badly: {e}"));
    assert_eq!((&again.frame, &again.channel), (&line.frame, &line.channel), "{formatted:?}");
    let rounding = 0.5e-6 + f64::EPSILON * line.timestamp;
    assert!((again.timestamp - line.timestamp).abs() <= rounding, "{text:?} -> {formatted:?}");
    assert_eq!(candump_log::format(&again), formatted);
});

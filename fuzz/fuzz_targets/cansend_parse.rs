//! Arbitrary text as cansend's frame syntax: parsing never panics (nor does
//! its error text), what parses is a valid frame, and formatting it gives
//! text that parses to the same frame and formats alike. CAN XL frames
//! format as can-utils prints them: 5 digits, then XLF in the flags.

#![no_main]

use ferrocan::cansend;
use ferrocan::frame::Frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let parsed = match cansend::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => {
            assert!(e.to_string().starts_with("malformed CAN frame "));
            return;
        }
    };
    let spec = parsed.spec();
    if let Err(e) = Frame::new(&spec) {
        panic!("{text:?} parsed to an invalid frame: {e}");
    }
    let formatted = cansend::format(&spec);
    if spec.xl {
        let (id, header) = formatted.split_once('#').expect("an XL frame has '#'");
        assert_eq!(id.len(), 5, "{formatted:?}");
        assert!(header.starts_with('8'), "XLF is printed: {formatted:?}");
    }
    let again = cansend::parse(&formatted).unwrap_or_else(|e| panic!("{text:?} formatted badly: {e}"));
    assert_eq!(again, parsed, "{text:?} -> {formatted:?}");
    assert_eq!(cansend::format(&again.spec()), formatted);
});

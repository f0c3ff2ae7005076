//! Periodic sending by the kernel's broadcast manager, on vcan (run through
//! tools/vcan-run, cargo's runner here).

use std::thread;
use std::time::{Duration, Instant};

use ferrocan::bcm::BcmTask;
use ferrocan::{Endpoint, Frame, FrameSpec, Options};

const PERIOD: Duration = Duration::from_millis(10);

fn frame(id: i64, byte: u8) -> Frame {
    Frame::new(&FrameSpec { id, data: &[byte], ..Default::default() }).unwrap()
}

fn receiver(channel: &str, id: u32) -> Endpoint {
    let bus = Endpoint::open(channel, &Options::default()).unwrap();
    bus.set_filters(&[(id, 0x7FF)]).unwrap();
    bus
}

/// Every frame that arrives during `window`, as (id, first data byte, time).
fn collect(bus: &Endpoint, window: Duration) -> Vec<(u32, u8, Duration)> {
    let until = Instant::now() + window;
    let mut got = Vec::new();
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if let Some(r) = bus.recv(Some(left), &mut || true).unwrap() {
            got.push((r.frame.id(), r.frame.data()[0], r.timestamp));
        }
    }
    got
}

#[test]
fn a_counted_task_sends_exactly_that_many_frames() {
    let rx = receiver("vcan0", 0x101);
    let task = BcmTask::open("vcan0").unwrap();
    task.setup(&[frame(0x101, 1)], PERIOD, Some(10), true).unwrap();
    let got = collect(&rx, Duration::from_millis(300));
    assert_eq!(got.len(), 10, "{got:?}");
}

#[test]
fn frames_go_in_turn_and_an_update_keeps_the_phase() {
    let rx = receiver("vcan1", 0x102);
    let task = BcmTask::open("vcan1").unwrap();
    task.setup(&[frame(0x102, 1), frame(0x102, 2)], PERIOD, None, true).unwrap();
    thread::sleep(Duration::from_millis(55));
    task.setup(&[frame(0x102, 3), frame(0x102, 4)], PERIOD, None, false).unwrap();
    thread::sleep(Duration::from_millis(50));
    task.delete(&frame(0x102, 0)).unwrap();
    let got = collect(&rx, Duration::from_millis(100));
    let bytes: Vec<u8> = got.iter().map(|g| g.1).collect();
    let switch = bytes.iter().position(|&b| b > 2).expect("updated frames arrive");
    assert!(bytes[..switch].chunks(2).all(|c| c[0] == 1), "{bytes:?}");
    assert!(bytes[switch..].iter().all(|&b| b == 3 || b == 4), "{bytes:?}");
    assert!(bytes.windows(2).all(|w| w[0] != w[1]), "the frames alternate across the update: {bytes:?}");
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].2 - w[0].2).collect();
    assert!(gaps.iter().all(|g| *g > PERIOD / 2 && *g < PERIOD * 3), "{gaps:?}");
}

#[test]
fn two_tasks_may_share_an_id_and_delete_stops_one() {
    let rx = receiver("vcan0", 0x103);
    let (a, b) = (BcmTask::open("vcan0").unwrap(), BcmTask::open("vcan0").unwrap());
    a.setup(&[frame(0x103, 0xA)], PERIOD, None, true).unwrap();
    b.setup(&[frame(0x103, 0xB)], PERIOD, None, true).unwrap();
    thread::sleep(Duration::from_millis(60));
    a.delete(&frame(0x103, 0)).unwrap();
    a.delete(&frame(0x103, 0)).unwrap();
    let got = collect(&rx, Duration::from_millis(60));
    assert!(got.iter().any(|g| g.1 == 0xA) && got.iter().any(|g| g.1 == 0xB));
    thread::sleep(Duration::from_millis(30));
    let later = collect(&rx, Duration::from_millis(60));
    assert!(!later.is_empty() && later.iter().all(|g| g.1 == 0xB), "{later:?}");
}

//! How should `recv(0.0)` on an empty bus avoid its syscall? This bench
//! measures the candidates side by side, in one run, on vcan0:
//!
//! * `direct`: no helper; every empty poll is one `recvmmsg` (the baseline);
//! * `io_uring`: the core's multishot receive (`Options::io_uring`);
//! * `thread`: a receive thread filling a lock-free queue ([`thread`]), the
//!   alternative that lost; it lives only here, as the measured evidence.
//!
//! Each is measured on an empty poll and on receiving a burst of frames.
//! The numbers and the verdict: benches/RESULTS.md, "Receive modes".

mod thread;

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use ferrocan::{Endpoint, Frame, FrameSpec, Options};

use thread::Receiver;

const BURST: usize = 200;
const WAIT: Option<Duration> = Some(Duration::from_secs(1));

fn bus(io_uring: bool) -> Endpoint {
    let bus = Endpoint::open("vcan0", &Options { io_uring, ..Options::default() })
        .expect("vcan0: run through tools/vcan-run");
    assert_eq!(bus.io_uring(), io_uring, "io_uring must be available for this bench");
    bus
}

/// A receive thread on a bus of its own; the bus only keeps the socket open.
fn threaded() -> (Endpoint, Receiver) {
    let bus = bus(false);
    let socket: RawFd = bus.fileno().expect("an open bus");
    let receiver = Receiver::start(socket).expect("a receive thread");
    (bus, receiver)
}

fn empty_polls(c: &mut Criterion) {
    let (direct, uring, (_socket, thread)) = (bus(false), bus(true), threaded());
    let mut group = c.benchmark_group("empty poll");
    group.throughput(Throughput::Elements(1));
    group.bench_function("direct", |b| b.iter(|| assert!(direct.try_recv().expect("recv").is_none())));
    group.bench_function("io_uring", |b| b.iter(|| assert!(uring.try_recv().expect("recv").is_none())));
    group.bench_function("thread", |b| b.iter(|| assert!(thread.pop().expect("pop").is_none())));
    group.finish();
}

fn bursts(c: &mut Criterion) {
    let sender = bus(false);
    let frames =
        vec![Frame::new(&FrameSpec { id: 0x42, data: &[1; 8], ..Default::default() }).expect("frame"); BURST];
    let mut send = || assert_eq!(sender.send_batch(&frames, WAIT, &mut || true).expect("send"), BURST);
    let mut group = c.benchmark_group("receive a burst");
    group.throughput(Throughput::Elements(BURST as u64));
    // One receiver at a time, so no other one works on the same traffic.
    for (name, io_uring) in [("direct", false), ("io_uring", true)] {
        let receiver = bus(io_uring);
        bench_burst(&mut group, name, &mut send, || {
            receiver.recv(WAIT, &mut || true).expect("recv").is_some()
        });
    }
    let (_socket, thread) = threaded();
    bench_burst(&mut group, "thread", &mut send, || {
        let until = Instant::now() + Duration::from_secs(1);
        loop {
            if thread.pop().expect("pop").is_some() {
                return true;
            }
            if Instant::now() > until {
                return false;
            }
        }
    });
    group.finish();
}

fn bench_burst(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    send: &mut dyn FnMut(),
    mut receive_one: impl FnMut() -> bool,
) {
    group.bench_function(name, |b| {
        b.iter(|| {
            send();
            for _ in 0..BURST {
                assert!(receive_one(), "{name}: a frame of the burst did not arrive");
            }
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = empty_polls, bursts
}
criterion_main!(benches);

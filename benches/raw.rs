//! The Rust floor: frames per second through the core on vcan0, which the
//! Python benchmark compares itself against. `cargo bench` runs this through
//! tools/vcan-run (cargo's runner here), inside User-Mode Linux where the
//! host kernel has no CAN.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrocan::{Bus, Frame, FrameSpec, Options};

const WAIT: Option<Duration> = Some(Duration::from_secs(1));

fn open(channel: &str) -> Bus {
    Bus::open(channel, &Options::default()).expect("vcan0: run through tools/vcan-run")
}

/// A bus that receives through io_uring, as the Python layer's default does.
fn open_uring(channel: &str) -> Bus {
    let bus = Bus::open(channel, &Options { io_uring: true, ..Options::default() }).expect("vcan0");
    assert!(bus.io_uring(), "io_uring must be available for this bench");
    bus
}

fn single_frames(c: &mut Criterion) {
    let (tx, rx) = (open("vcan0"), open("vcan0"));
    let frame = Frame::new(&FrameSpec { id: 0x123, data: &[1, 2, 3, 4, 5, 6, 7, 8], ..Default::default() })
        .expect("a valid frame");
    let mut group = c.benchmark_group("single");
    group.throughput(Throughput::Elements(1));
    group.bench_function("recv(0.0) on an empty bus", |b| {
        b.iter(|| assert!(rx.try_recv().expect("recv").is_none()));
    });
    group.bench_function("send", |b| {
        b.iter(|| tx.send(&frame, WAIT, &mut || true).expect("send"));
        while rx.try_recv().expect("drain").is_some() {}
    });
    group.bench_function("send+recv", |b| {
        b.iter(|| {
            tx.send(&frame, WAIT, &mut || true).expect("send");
            rx.recv(WAIT, &mut || true).expect("recv").expect("a frame")
        });
    });
    drop(rx);
    let rx = open_uring("vcan0");
    group.bench_function("recv(0.0) on an empty bus, io_uring", |b| {
        b.iter(|| assert!(rx.try_recv().expect("recv").is_none()));
    });
    group.bench_function("send+recv, io_uring", |b| {
        b.iter(|| {
            tx.send(&frame, WAIT, &mut || true).expect("send");
            rx.recv(WAIT, &mut || true).expect("recv").expect("a frame")
        });
    });
    group.finish();
}

/// Frames per call: `send_batch` of [`BATCH`] frames, then receiving them
/// all with `recv` + `drain`.
fn batches(c: &mut Criterion) {
    const BATCH: usize = 200;
    let (tx, rx) = (open("vcan0"), open("vcan0"));
    let frames = vec![
        Frame::new(&FrameSpec { id: 0x321, data: &[8; 8], ..Default::default() })
            .expect("a valid frame");
        BATCH
    ];
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("send_batch", |b| {
        b.iter(|| assert_eq!(tx.send_batch(&frames, WAIT, &mut || true).expect("send"), BATCH));
        while rx.try_recv().expect("drain").is_some() {}
    });
    group.bench_function("send_batch+recv_batch", |b| {
        b.iter(|| {
            tx.send_batch(&frames, WAIT, &mut || true).expect("send");
            let mut got = usize::from(rx.recv(WAIT, &mut || true).expect("recv").is_some());
            while got < BATCH {
                got += rx.drain(BATCH - got, &mut |_| {}).expect("drain");
            }
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = single_frames, batches
}
criterion_main!(benches);

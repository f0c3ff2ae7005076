//! The Rust floor: frames per second through the core on vcan0, which the
//! Python benchmark (python/ferrocan/bench.py) compares itself against.
//! `cargo bench` runs this through tools/vcan-run (cargo's runner here),
//! inside User-Mode Linux where the host kernel has no CAN.
//!
//! Every benchmark that receives comes twice: reading directly with
//! `recvmmsg` (`Options::default()`), and through io_uring (`, io_uring`),
//! as the Python native backend does by default.
//!
//! The CAN XL benchmarks (group "xl") run where the kernel has CAN XL
//! (CAN_RAW_XL_FRAMES: mainline 6.2+, and Debian 12's 6.1 kernels here): on
//! an interface of their own at CAN XL's MTU, which they create and delete;
//! elsewhere they say why they were skipped. A CAN XL
//! bus receives directly, never through io_uring, as the native backend does.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrocan::frame::CANXL_MTU;
use ferrocan::link::{self, Settings};
use ferrocan::socket::XlOptions;
use ferrocan::{Endpoint, Frame, FrameSpec, Options};

const WAIT: Option<Duration> = Some(Duration::from_secs(1));
/// Frames per send_batch, as in bench.py's (b2) and (e2).
const BATCH: usize = 200;
/// Frames queued, then drained, per iteration of "receive a full queue"
/// (bench.py's (c) and (d) drain as many).
const QUEUED: usize = 2000;
/// recv_batch's default max_messages, which bench.py uses.
const RECV_MAX: usize = 256;
/// Receive buffer for a queue of [`QUEUED`] frames (the kernel doubles it);
/// the default 212992 bytes hold only ~250.
const ROOMY: usize = 4 << 20;
/// The CAN XL benchmarks' interface, a vcan at CAN XL's MTU
/// (benches/xl.py uses the same name).
const XL_CHANNEL: &str = "vcanxl";
/// CAN XL payload sizes, in bytes.
const XL_SIZES: [usize; 3] = [64, 512, 2048];
/// CAN XL frames queued, then drained, per iteration of "xl/recv_batch":
/// a 2 KiB frame takes about 4.6 KiB of the receive buffer.
const XL_QUEUED: usize = 1000;
/// Receive buffer for a queue of [`XL_QUEUED`] frames of 2 KiB.
const XL_ROOMY: usize = 8 << 20;

fn open_with(channel: &str, options: &Options) -> Endpoint {
    let bus = Endpoint::open(channel, options).expect("vcan0: run through tools/vcan-run");
    assert_eq!(bus.io_uring(), options.io_uring, "io_uring must be available for this bench");
    bus
}

fn open(channel: &str) -> Endpoint {
    open_with(channel, &Options::default())
}

/// A bus that receives through io_uring, as the Python layer's default does.
fn open_uring(channel: &str) -> Endpoint {
    open_with(channel, &Options { io_uring: true, ..Options::default() })
}

/// The two ways a bus receives, named as the benchmarks' suffixes.
const RECEIVERS: [(&str, bool); 2] = [("", false), (", io_uring", true)];

fn batch_of(id: i64, count: usize) -> Vec<Frame> {
    vec![Frame::new(&FrameSpec { id, data: &[8; 8], ..Default::default() }).expect("a valid frame"); count]
}

/// What bench.py's `recv_batch(RECV_MAX, WAIT)` does natively: `recv`, then
/// `drain` of the rest; frames returned.
fn recv_batch(rx: &Endpoint) -> usize {
    rx.recv(WAIT, &mut || true).expect("recv").expect("a frame");
    1 + rx.drain(RECV_MAX - 1, &mut |_| {}).expect("drain")
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
/// all as `recv_batch` does.
fn batches(c: &mut Criterion) {
    let tx = open("vcan0");
    let frames = batch_of(0x321, BATCH);
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(BATCH as u64));
    {
        let _listener = open("vcan0");
        group.bench_function("send_batch", |b| {
            b.iter(|| assert_eq!(tx.send_batch(&frames, WAIT, &mut || true).expect("send"), BATCH));
        });
    }
    // One receiver at a time, so no other one works on the same traffic.
    for (suffix, io_uring) in RECEIVERS {
        let rx = open_with("vcan0", &Options { io_uring, ..Options::default() });
        group.bench_function(format!("send_batch+recv_batch{suffix}"), |b| {
            b.iter(|| {
                tx.send_batch(&frames, WAIT, &mut || true).expect("send");
                let mut got = 0;
                while got < BATCH {
                    got += recv_batch(&rx);
                }
            });
        });
    }
    group.finish();
}

/// Receiving only: another socket queues [`QUEUED`] frames (not timed), then
/// the bus drains them, with `recv` or as `recv_batch` does (timed).
fn full_queue(c: &mut Criterion) {
    let tx = open("vcan0");
    let frames = batch_of(0x456, BATCH);
    let fill = || {
        for _ in 0..QUEUED / BATCH {
            assert_eq!(tx.send_batch(&frames, WAIT, &mut || true).expect("send"), BATCH);
        }
    };
    let recv = |rx: &Endpoint| usize::from(rx.recv(WAIT, &mut || true).expect("recv").is_some());
    let mut group = c.benchmark_group("receive a full queue");
    group.throughput(Throughput::Elements(QUEUED as u64));
    for (suffix, io_uring) in RECEIVERS {
        let rx =
            open_with("vcan0", &Options { io_uring, receive_buffer_size: Some(ROOMY), ..Options::default() });
        for (name, receive) in [("recv", &recv as &dyn Fn(&Endpoint) -> usize), ("recv_batch", &recv_batch)] {
            group.bench_function(format!("{name}{suffix}"), |b| {
                b.iter_custom(|iterations| (0..iterations).map(|_| drain_timed(&fill, || receive(&rx))).sum())
            });
        }
    }
    group.finish();
}

/// The time to receive [`QUEUED`] frames that `fill` queued first.
fn drain_timed(fill: &dyn Fn(), receive: impl Fn() -> usize) -> Duration {
    drain_count_timed(QUEUED, fill, receive)
}

/// The time to receive `queued` frames that `fill` queued first.
fn drain_count_timed(queued: usize, fill: &dyn Fn(), receive: impl Fn() -> usize) -> Duration {
    fill();
    let start = Instant::now();
    let mut got = 0;
    while got < queued {
        let n = receive();
        assert!(n > 0, "only {got} of {queued} queued frames came");
        got += n;
    }
    let elapsed = start.elapsed();
    assert_eq!(got, queued, "more frames came than were queued");
    elapsed
}

/// [`XL_CHANNEL`], up at CAN XL's MTU; deleted when dropped.
struct XlLink;

impl XlLink {
    /// The interface, or why this kernel cannot have it.
    fn create() -> Result<Self, String> {
        let fail = |e: ferrocan::Error| format!("{XL_CHANNEL} at MTU {CANXL_MTU}: {e}");
        link::add_vcan(XL_CHANNEL).map_err(fail)?;
        let made = Self;
        link::set(XL_CHANNEL, &Settings { mtu: Some(CANXL_MTU as u32), ..Settings::default() })
            .map_err(fail)?;
        link::up(XL_CHANNEL).map_err(fail)?;
        Endpoint::open(XL_CHANNEL, &xl_options()).map_err(|e| e.to_string())?;
        Ok(made)
    }
}

impl Drop for XlLink {
    fn drop(&mut self) {
        let _ = link::delete(XL_CHANNEL);
    }
}

/// A CAN XL bus, receiving directly with `recvmmsg`, with room for
/// [`XL_QUEUED`] frames of 2 KiB.
fn xl_options() -> Options {
    Options { xl: Some(XlOptions::default()), receive_buffer_size: Some(XL_ROOMY), ..Options::default() }
}

fn xl_batch(size: usize, count: usize) -> Vec<Frame> {
    let data = vec![0xA5; size];
    let spec = FrameSpec { id: 0x123, data: &data, xl: true, ..Default::default() };
    vec![Frame::new(&spec).expect("a valid CAN XL frame"); count]
}

/// CAN XL frames of each size in [`XL_SIZES`]: `send_batch` of [`BATCH`]
/// while another bus listens, and draining [`XL_QUEUED`] queued frames as
/// `recv_batch` does.
fn xl(c: &mut Criterion) {
    let _link = match XlLink::create() {
        Ok(link) => link,
        Err(why) => return eprintln!("xl: skipped, this kernel has no CAN XL interface: {why}"),
    };
    let open_xl = || open_with(XL_CHANNEL, &xl_options());
    let tx = open_xl();
    let mut group = c.benchmark_group("xl");
    // Each sample of recv_batch queues its frames first, untimed: fewer
    // samples keep the group within a minute under emulation.
    group.measurement_time(Duration::from_secs(2)).sample_size(20);
    {
        let _listener = open_xl();
        for size in XL_SIZES {
            let frames = xl_batch(size, BATCH);
            group.throughput(Throughput::Elements(BATCH as u64));
            group.bench_function(format!("send_batch, {size} B"), |b| {
                b.iter(|| assert_eq!(tx.send_batch(&frames, WAIT, &mut || true).expect("send"), BATCH));
            });
        }
    }
    // Opened only now, so that it holds no frame of the sends above.
    let rx = open_xl();
    for size in XL_SIZES {
        let frames = xl_batch(size, BATCH);
        let fill = || {
            for _ in 0..XL_QUEUED / BATCH {
                assert_eq!(tx.send_batch(&frames, WAIT, &mut || true).expect("send"), BATCH);
            }
        };
        group.throughput(Throughput::Elements(XL_QUEUED as u64));
        group.bench_function(format!("recv_batch, {size} B"), |b| {
            b.iter_custom(|iterations| {
                (0..iterations).map(|_| drain_count_timed(XL_QUEUED, &fill, || recv_batch(&rx))).sum()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = single_frames, batches, full_queue, xl
}
criterion_main!(benches);

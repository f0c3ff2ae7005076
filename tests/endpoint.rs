//! The core against the real kernel: run through `tools/vcan-run`, which
//! `.cargo/config.toml` makes the test runner, so vcan0 and vcan1 exist.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferrocan::{link, Endpoint, Error, Frame, FrameSpec, Options};

const TIMEOUT: Option<Duration> = Some(Duration::from_secs(2));

fn open(channel: &str, options: Options) -> Endpoint {
    Endpoint::open(channel, &options).unwrap_or_else(|e| panic!("opening {channel}: {e}"))
}

fn frame(spec: FrameSpec<'_>) -> Frame {
    Frame::new(&spec).unwrap()
}

fn keep_going() -> bool {
    true
}

#[test]
fn a_frame_crosses_between_two_sockets_with_its_kernel_timestamp() {
    let (tx, rx) = (open("vcan0", Options::default()), open("vcan0", Options::default()));
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let sent = frame(FrameSpec { id: 0x123, data: &[1, 2, 3], ..Default::default() });
    tx.send(&sent, TIMEOUT, &mut keep_going).unwrap();
    let got = rx.recv(TIMEOUT, &mut keep_going).unwrap().expect("a frame");
    assert_eq!((got.frame.id(), got.frame.data()), (0x123, &[1, 2, 3][..]));
    assert!(got.local, "a frame from this host carries MSG_DONTROUTE");
    assert!(!got.own);
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert!(before <= got.timestamp && got.timestamp <= after, "{got:?}");
}

#[test]
fn own_messages_come_back_only_when_asked_for() {
    let options = Options { receive_own_messages: true, ..Options::default() };
    let bus = open("vcan1", options);
    bus.send(&frame(FrameSpec { id: 0x7FF, ..Default::default() }), TIMEOUT, &mut keep_going).unwrap();
    let got = bus.recv(TIMEOUT, &mut keep_going).unwrap().expect("own frame");
    assert!(got.own && got.local);
    let quiet = open("vcan1", Options::default());
    quiet.send(&frame(FrameSpec::default()), TIMEOUT, &mut keep_going).unwrap();
    assert!(quiet.recv(Some(Duration::from_millis(50)), &mut keep_going).unwrap().is_none());
}

#[test]
fn fd_frames_need_an_fd_socket() {
    let fd = Options { fd: true, ..Options::default() };
    let (tx, rx, classic) = (open("vcan0", fd.clone()), open("vcan0", fd), open("vcan0", Options::default()));
    let data = [0xAB; 21];
    let fd_frame = frame(FrameSpec { id: 0x10, fd: true, brs: true, data: &data, ..Default::default() });
    assert!(matches!(classic.send(&fd_frame, TIMEOUT, &mut keep_going), Err(Error::FdOnClassicBus { .. })));
    tx.send(&fd_frame, TIMEOUT, &mut keep_going).unwrap();
    let got = rx.recv(TIMEOUT, &mut keep_going).unwrap().unwrap().frame;
    assert!(got.is_fd() && got.brs() && !got.esi());
    assert_eq!(got.data().len(), 24);
    assert_eq!(&got.data()[..21], &data);
    assert_eq!(&got.data()[21..], &[0, 0, 0], "padded with zeroes");
    assert!(
        classic.recv(Some(Duration::ZERO), &mut keep_going).unwrap().is_none(),
        "classic sockets never see FD frames"
    );
}

#[test]
fn filters_select_in_the_kernel_whether_given_at_opening_or_later() {
    let tx = open("vcan1", Options::default());
    let at_opening = open("vcan1", Options { filters: Some(vec![(0x100, 0x7F0)]), ..Options::default() });
    let later = open("vcan1", Options::default());
    later.set_filters(&[(0x100, 0x7F0)]).unwrap();
    for id in [0x0FF, 0x105, 0x200, 0x10F] {
        tx.send(&frame(FrameSpec { id, ..Default::default() }), TIMEOUT, &mut keep_going).unwrap();
    }
    for rx in [at_opening, later] {
        let mut ids = Vec::new();
        while let Some(r) = rx.recv(Some(Duration::from_millis(100)), &mut keep_going).unwrap() {
            ids.push(r.frame.id());
        }
        assert_eq!(ids, [0x105, 0x10F]);
    }
}

#[test]
fn a_timeout_returns_none_after_about_that_long() {
    let bus = open("vcan0", Options { error_frames: false, ..Options::default() });
    bus.set_filters(&[]).unwrap();
    let start = Instant::now();
    assert!(bus.recv(Some(Duration::from_millis(200)), &mut keep_going).unwrap().is_none());
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(200) && waited < Duration::from_millis(1500), "{waited:?}");
}

#[test]
fn shutdown_wakes_a_blocked_receiver_and_closes_the_bus() {
    let bus = Arc::new(open("vcan1", Options::default()));
    bus.set_filters(&[]).unwrap();
    let waiter = {
        let bus = Arc::clone(&bus);
        thread::spawn(move || {
            let start = Instant::now();
            (bus.recv(None, &mut keep_going), start.elapsed())
        })
    };
    thread::sleep(Duration::from_millis(100));
    bus.shutdown();
    let (result, waited) = waiter.join().unwrap();
    assert!(matches!(result, Err(Error::Closed { .. })), "{result:?}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
    assert!(matches!(bus.fileno(), Err(Error::Closed { .. })));
    bus.shutdown();
}

#[test]
fn the_check_can_stop_a_blocking_receive() {
    let bus = open("vcan0", Options::default());
    bus.set_filters(&[]).unwrap();
    let mut calls = 0;
    let mut stop_on_third = || {
        calls += 1;
        calls < 3
    };
    assert!(matches!(bus.recv(None, &mut stop_on_third), Err(Error::Interrupted)));
    assert_eq!(calls, 3);
}

#[test]
fn opening_a_missing_or_non_can_interface_says_which() {
    let missing = Endpoint::open("vcan99", &Options::default()).unwrap_err();
    assert!(matches!(missing, Error::NoSuchInterface { .. }));
    assert!(missing.to_string().contains("sudo ip link add dev vcan99 type vcan"), "{missing}");
    let lo = Endpoint::open("lo", &Options::default()).unwrap_err();
    assert!(matches!(lo, Error::NotCanInterface { .. }), "{lo:?}");
}

#[test]
fn batches_keep_order_and_every_frame_its_own_metadata() {
    let (tx, rx) = (open("vcan1", Options::default()), open("vcan1", Options::default()));
    let frames: Vec<Frame> =
        (0..200u8).map(|i| frame(FrameSpec { id: i64::from(i), data: &[i], ..Default::default() })).collect();
    assert_eq!(tx.send_batch(&frames, TIMEOUT, &mut keep_going).unwrap(), 200);
    let first = rx.recv(TIMEOUT, &mut keep_going).unwrap().expect("a frame");
    let mut got = vec![first];
    rx.drain(usize::MAX, &mut |r| got.push(r)).unwrap();
    let ids: Vec<u32> = got.iter().map(|r| r.frame.id()).collect();
    assert_eq!(ids, (0..200).collect::<Vec<u32>>());
    assert!(got.iter().all(|r| r.frame.data() == [r.frame.id() as u8] && r.local));
    assert!(got.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    assert_eq!(tx.statistics().sent, 200);
    assert_eq!(rx.statistics().received, 200);
    assert_eq!(rx.statistics().dropped, 0);
}

#[test]
fn a_full_receive_buffer_counts_what_the_kernel_drops() {
    let (tx, rx) = (open("vcan0", Options::default()), open("vcan0", Options::default()));
    rx.set_filters(&[(0x321, 0x7FF)]).unwrap();
    let flood = vec![frame(FrameSpec { id: 0x321, ..Default::default() }); 5000];
    assert_eq!(tx.send_batch(&flood, TIMEOUT, &mut keep_going).unwrap(), 5000);
    let mut received = 0;
    while rx.recv(Some(Duration::from_millis(100)), &mut keep_going).unwrap().is_some() {
        received += 1;
    }
    let stats = rx.statistics();
    assert!(stats.dropped > 0, "5000 frames overflow the default receive buffer: {received} {stats:?}");
    assert_eq!(received + stats.dropped, 5000, "{stats:?}");
}

fn uring() -> Options {
    Options { io_uring: true, ..Options::default() }
}

#[test]
fn io_uring_keeps_order_and_answers_empty_polls_from_shared_memory() {
    let (tx, rx) = (open("vcan1", Options::default()), open("vcan1", uring()));
    assert!(rx.io_uring(), "io_uring is available in the test kernel");
    assert!(rx.try_recv().unwrap().is_none());
    // Fewer than the socket buffer holds (about 270 frames in UML), so the
    // order test does not depend on how fast completions are consumed.
    let frames: Vec<Frame> =
        (0..200).map(|i| frame(FrameSpec { id: i, extended: true, ..Default::default() })).collect();
    tx.send_batch(&frames, TIMEOUT, &mut keep_going).unwrap();
    let mut ids = Vec::new();
    while let Some(r) = rx.recv(Some(Duration::from_millis(200)), &mut keep_going).unwrap() {
        ids.push(r.frame.id());
    }
    assert_eq!(ids, (0..200).collect::<Vec<u32>>());
    assert_eq!(rx.statistics().received, 200);
}

#[test]
fn the_ring_descriptor_is_readable_while_frames_wait() {
    let (tx, rx) = (open("vcan0", Options::default()), open("vcan0", uring()));
    rx.set_filters(&[(0x55, 0x7FF)]).unwrap();
    let readable = |bus: &Endpoint| {
        let mut fds = [libc::pollfd { fd: bus.fileno().unwrap(), events: libc::POLLIN, revents: 0 }];
        // SAFETY: one live pollfd.
        unsafe { libc::poll(fds.as_mut_ptr(), 1, 500) == 1 }
    };
    tx.send(&frame(FrameSpec { id: 0x55, ..Default::default() }), TIMEOUT, &mut keep_going).unwrap();
    assert!(readable(&rx), "a waiting completion makes fileno() readable");
    assert!(rx.try_recv().unwrap().is_some());
    assert!(rx.try_recv().unwrap().is_none());
    let mut fds = [libc::pollfd { fd: rx.fileno().unwrap(), events: libc::POLLIN, revents: 0 }];
    // SAFETY: one live pollfd.
    assert_eq!(unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) }, 0, "drained: not readable");
}

#[test]
fn an_io_uring_bus_accounts_for_every_frame_of_a_flood() {
    let (tx, rx) = (open("vcan0", Options::default()), open("vcan0", uring()));
    rx.set_filters(&[(0x3AA, 0x7FF)]).unwrap();
    let flood = vec![frame(FrameSpec { id: 0x3AA, ..Default::default() }); 20_000];
    assert_eq!(tx.send_batch(&flood, TIMEOUT, &mut keep_going).unwrap(), 20_000);
    let mut received = 0u64;
    while rx.recv(Some(Duration::from_millis(300)), &mut keep_going).unwrap().is_some() {
        received += 1;
    }
    let stats = rx.statistics();
    assert_eq!(received + stats.dropped, 20_000, "{stats:?}");
}

#[test]
fn shutdown_ends_the_io_uring_receive_and_wakes_waiters() {
    let bus = Arc::new(open("vcan1", uring()));
    bus.set_filters(&[]).unwrap();
    let waiter = {
        let bus = Arc::clone(&bus);
        thread::spawn(move || bus.recv(None, &mut keep_going))
    };
    thread::sleep(Duration::from_millis(100));
    bus.shutdown();
    assert!(matches!(waiter.join().unwrap(), Err(Error::Closed { .. })));
    assert!(!bus.io_uring());
}

#[test]
fn the_descriptor_stays_readable_while_frames_wait_for_recv() {
    // select() on fileno() then recv(0.0), python-can's Notifier pattern: no
    // frame may wait in user space where the descriptor cannot show it.
    for options in [Options::default(), uring()] {
        let (tx, rx) = (open("vcan1", Options::default()), open("vcan1", options));
        let frames = vec![frame(FrameSpec { id: 0x5A, ..Default::default() }); 5];
        tx.send_batch(&frames, TIMEOUT, &mut keep_going).unwrap();
        for taken in 0..5 {
            let mut fds = [libc::pollfd { fd: rx.fileno().unwrap(), events: libc::POLLIN, revents: 0 }];
            // SAFETY: one live pollfd.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), 1, 1000) };
            assert_eq!(ready, 1, "{taken} of 5 taken, io_uring {}: the rest must show", rx.io_uring());
            assert!(rx.try_recv().unwrap().is_some());
        }
    }
}

/// A vcan made for one test and deleted after it, even if the test fails.
struct TestVcan(&'static str);

impl TestVcan {
    fn new(name: &'static str) -> Self {
        let _ = link::delete(name);
        link::add_vcan(name).unwrap();
        Self(name)
    }
}

impl Drop for TestVcan {
    fn drop(&mut self) {
        let _ = link::delete(self.0);
    }
}

fn is_down(result: Result<Option<ferrocan::Received>, Error>) -> bool {
    matches!(result, Err(Error::Receive { errno: libc::ENETDOWN, .. }))
}

#[test]
fn a_down_interface_fails_every_receive_until_it_is_up_again() {
    for options in [Options::default(), uring()] {
        let vcan = TestVcan::new("vcandown0");
        let rx = open(vcan.0, options);
        for _ in 0..3 {
            assert!(is_down(rx.recv(Some(Duration::from_millis(100)), &mut keep_going)));
        }
        link::up(vcan.0).unwrap();
        let tx = open(vcan.0, Options::default());
        tx.send(&frame(FrameSpec { id: 7, ..Default::default() }), TIMEOUT, &mut keep_going).unwrap();
        let got = rx.recv(TIMEOUT, &mut keep_going).unwrap().expect("a frame once it is up");
        assert_eq!(got.frame.id(), 7);
    }
}

#[test]
fn a_report_of_a_down_interface_that_is_up_again_is_dropped() {
    let vcan = TestVcan::new("vcandown1");
    let rx = open(vcan.0, Options::default()); // the kernel reports ENETDOWN at bind
    link::up(vcan.0).unwrap();
    let tx = open(vcan.0, Options::default());
    tx.send(&frame(FrameSpec { id: 8, ..Default::default() }), TIMEOUT, &mut keep_going).unwrap();
    let got = rx.recv(TIMEOUT, &mut keep_going).unwrap().expect("the frame, not the old report");
    assert_eq!(got.frame.id(), 8);
}

//! Recording: frames from one or more interfaces, formatted and written to a
//! file by a thread of its own, in batches, so that a flood is taken as fast
//! as the kernel delivers it.
//!
//! The thread drains each socket with `recvmmsg` (up to [`BATCH`] frames per
//! call), formats into one buffer and writes the buffer when it reaches
//! [`FLUSH_AT`] bytes or [`FLUSH_INTERVAL`] passed, and whenever no socket
//! has anything more to read, so under a flood the file gets large writes,
//! and a quiet bus's frames reach it at once. Only whole lines are ever
//! written; after a failed write the file is cut back to its last whole line.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::endpoint::Endpoint;
use crate::error::{errno_of, Error};
use crate::log_format::{Format, LogFormat};
use crate::socket::{interface_name, Options, XlOptions};
use crate::waker::Waker;

/// Frames taken from one socket before the next socket gets its turn.
pub const BATCH: usize = 256;
/// Buffered bytes that trigger a write even while frames keep coming.
pub const FLUSH_AT: usize = 64 * 1024;
/// The longest buffered frames wait for a write while frames keep coming.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// An interface to record, as candump takes it: `any` (every CAN
/// interface), kernel filters, and the error classes to keep.
#[derive(Clone, Debug, Default)]
pub struct Source {
    /// An interface name, or [`ANY`].
    pub channel: String,
    /// `(can_id, can_mask)` pairs; none: every frame.
    pub filters: Vec<(u32, u32)>,
    /// Error frames of these classes are kept; 0: no error frames.
    pub error_mask: u32,
}

/// candump's name for every CAN interface.
pub const ANY: &str = "any";

/// How to record.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The file format.
    pub format: Format,
    /// Stop after this many frames.
    pub count: Option<u64>,
    /// Stop after this long without a frame.
    pub idle: Option<Duration>,
    /// Each socket's receive buffer; `None` keeps the system's default.
    pub receive_buffer_size: Option<usize>,
    /// Print candump's DROPCOUNT lines on stderr as drops happen.
    pub report_drops: bool,
}

/// What a recording has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Frames written to the file.
    pub written: u64,
    /// Frames the kernel dropped because a receive buffer was full.
    pub dropped: u64,
}

/// A recording in progress, on its own thread.
#[derive(Debug)]
pub struct Recording {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    receive_buffer_sizes: Vec<usize>,
}

/// What the caller and the recording thread share.
#[derive(Debug)]
struct Shared {
    stop: AtomicBool,
    waker: Waker,
    written: AtomicU64,
    dropped: AtomicU64,
    /// Set when the thread ends: `Ok` or why it ended early (writing
    /// failed, or an interface went away).
    outcome: Mutex<Option<Result<(), Error>>>,
    ended: Condvar,
}

impl Recording {
    /// Opens a socket per source, then records to `file` until [`stop`](Self::stop),
    /// the count, the idle time or a failed write.
    pub fn start(sources: &[Source], settings: &Settings, file: File) -> Result<Self, Error> {
        let options = Options {
            fd: true,
            // As candump does: CAN XL frames too, where kernel and format can.
            xl: settings.format.has_xl().then(XlOptions::default),
            error_frames: false,
            receive_buffer_size: settings.receive_buffer_size,
            ..Options::default()
        };
        let inputs =
            sources.iter().map(|source| Input::open(source, &options)).collect::<Result<Vec<_>, _>>()?;
        let receive_buffer_sizes =
            inputs.iter().map(|input| input.endpoint.receive_buffer_size()).collect::<Result<_, _>>()?;
        let setup_error = |e: io::Error| {
            let channel = sources.first().map_or(ANY, |source| source.channel.as_str());
            Error::Open { channel: channel.into(), errno: errno_of(&e) }
        };
        let waker = Waker::new().map_err(setup_error)?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            waker,
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            outcome: Mutex::new(None),
            ended: Condvar::new(),
        });
        let names: Vec<&str> = sources.iter().map(|source| source.channel.as_str()).collect();
        let fds =
            std::iter::once(Ok(shared.waker.fd())).chain(inputs.iter().map(|input| input.endpoint.fileno()));
        let pollfds = fds
            .map(|fd| fd.map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }))
            .collect::<Result<_, _>>()?;
        let mut worker = Worker {
            format: LogFormat::new(settings.format, &names),
            pollfds,
            inputs,
            output: Output::new(file),
            settings: settings.clone(),
            shared: shared.clone(),
            names: Vec::new(),
        };
        let thread = std::thread::Builder::new()
            .name("ferrocan-recorder".into())
            .spawn(move || worker.run())
            .map_err(setup_error)?;
        Ok(Self { shared, thread: Mutex::new(Some(thread)), receive_buffer_sizes })
    }

    /// Each socket's receive buffer, as the kernel reports it (twice what
    /// was granted: the kernel counts its bookkeeping too).
    pub fn receive_buffer_sizes(&self) -> &[usize] {
        &self.receive_buffer_sizes
    }

    /// Frames written and dropped so far.
    pub fn counts(&self) -> Counts {
        Counts {
            written: self.shared.written.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
        }
    }

    /// Asks the thread to write what it has and end; does not wait.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.waker.wake();
    }

    /// Waits up to `timeout` (`None`: for ever) for the recording to end;
    /// `None` if it has not. An error is returned once, to the first caller
    /// who sees the end.
    pub fn wait(&self, timeout: Option<Duration>) -> Option<Result<Counts, Error>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut outcome = self.shared.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        while outcome.is_none() {
            let left = match deadline {
                None => Duration::MAX,
                Some(deadline) => deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?,
            };
            outcome = self.shared.ended.wait_timeout(outcome, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        let result = outcome.replace(Ok(())).expect("checked above");
        drop(outcome);
        if let Some(thread) = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = thread.join();
        }
        Some(result.map(|()| self.counts()))
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.stop();
        self.wait(None);
    }
}

/// One source's bus, and what is known of it.
struct Input {
    endpoint: Endpoint,
    error_mask: u32,
    /// The interface's name, for a bus on one interface.
    channel: Option<String>,
    dropped: u64,
}

impl Input {
    fn open(source: &Source, options: &Options) -> Result<Self, Error> {
        let any = source.channel == ANY;
        let channel = if any { "" } else { source.channel.as_str() };
        let options = Options {
            error_frames: source.error_mask != 0,
            filters: (!source.filters.is_empty()).then(|| source.filters.clone()),
            ..options.clone()
        };
        let endpoint = match Endpoint::open(channel, &options) {
            Err(Error::NoXlSupport { .. }) => Endpoint::open(channel, &Options { xl: None, ..options })?,
            opened => opened?,
        };
        Ok(Self {
            endpoint,
            error_mask: source.error_mask,
            channel: (!any).then(|| source.channel.clone()),
            dropped: 0,
        })
    }
}

/// The recording thread's side.
struct Worker {
    format: LogFormat,
    inputs: Vec<Input>,
    output: Output,
    settings: Settings,
    shared: Arc<Shared>,
    /// Interface names by index, for buses on every interface.
    names: Vec<(i32, String)>,
    /// What an idle wait polls: the stop waker, then each socket.
    pollfds: Vec<libc::pollfd>,
}

impl Worker {
    fn run(&mut self) {
        let result = self.record();
        let mut outcome = self.shared.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        *outcome = Some(result);
        self.shared.ended.notify_all();
    }

    fn record(&mut self) -> Result<(), Error> {
        self.format.header(&mut self.output.buffer, SystemTime::now());
        let mut last_frame = Instant::now();
        let mut taken: u64 = 0;
        while !self.shared.stop.load(Ordering::Acquire) {
            let want = self.settings.count.map_or(BATCH as u64, |count| (count - taken).min(BATCH as u64));
            let batch = self.take(want as usize)?;
            taken += batch;
            if self.settings.count == Some(taken) {
                break;
            }
            if self.output.buffer.len() >= FLUSH_AT || self.output.since_write() >= FLUSH_INTERVAL {
                self.flush()?;
            }
            if batch > 0 {
                last_frame = Instant::now();
                continue;
            }
            self.flush()?;
            let idle_left = self.settings.idle.map(|idle| idle.saturating_sub(last_frame.elapsed()));
            if idle_left == Some(Duration::ZERO) || !self.wait(idle_left) {
                break;
            }
        }
        self.format.footer(&mut self.output.buffer);
        self.flush()?;
        match self.format.final_header() {
            Some(header) => self
                .output
                .rewrite_start(&header)
                .map_err(|e| Error::Write { errno: errno_of(&e), unwritten: 0 }),
            None => Ok(()),
        }
    }

    /// Up to `want` frames from each socket in turn; how many were kept.
    fn take(&mut self, want: usize) -> Result<u64, Error> {
        let mut taken = 0;
        for index in 0..self.inputs.len() {
            if taken as usize >= want {
                break;
            }
            taken += self.drain(index, want - taken as usize)?;
        }
        Ok(taken)
    }

    /// As candump does, a receive error (the interface went down or away)
    /// ends the recording, after what was received is written.
    fn drain(&mut self, index: usize, want: usize) -> Result<u64, Error> {
        let Self { format, inputs, output, names, .. } = self;
        let input = &inputs[index];
        let mut kept = 0;
        let drained = input.endpoint.drain(want, &mut |received| {
            if received.frame.is_error() && received.frame.id() & input.error_mask == 0 {
                return;
            }
            let channel = match &input.channel {
                Some(channel) => channel.as_str(),
                None => name_of(names, received.ifindex),
            };
            format.frame(&mut output.buffer, &received, channel);
            output.frames += 1;
            kept += 1;
        });
        self.count_drops(index);
        if let Err(error) = drained {
            self.flush()?;
            return Err(error);
        }
        Ok(kept)
    }

    /// Adds the kernel's new drops on input `index`, reporting them as candump does.
    fn count_drops(&mut self, index: usize) {
        let input = &mut self.inputs[index];
        let total = input.endpoint.statistics().dropped;
        if total <= input.dropped {
            return;
        }
        let new = total - input.dropped;
        input.dropped = total;
        self.shared.dropped.fetch_add(new, Ordering::Relaxed);
        if self.settings.report_drops {
            let name = input.channel.as_deref().unwrap_or(ANY);
            let plural = if new > 1 { "s" } else { "" };
            let _ = writeln!(
                io::stderr(),
                "DROPCOUNT: dropped {new} CAN frame{plural} on '{name}' socket (total drops {total})"
            );
        }
    }

    /// Waits for a frame on any socket, or `timeout`; `false` when asked to stop.
    fn wait(&mut self, timeout: Option<Duration>) -> bool {
        let fds = &mut self.pollfds;
        let millis =
            timeout.map_or(-1, |t| t.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int);
        // SAFETY: fds is a live array of fds.len() pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
        n < 0 || fds[0].revents == 0 || !self.shared.stop.load(Ordering::Acquire)
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.format.seal(&mut self.output.buffer);
        let frames = self.output.frames;
        self.output.flush().map_err(|e| Error::Write { errno: errno_of(&e), unwritten: frames })?;
        self.shared.written.fetch_add(frames, Ordering::Relaxed);
        Ok(())
    }
}

/// The name of interface `ifindex`, looked up once.
fn name_of(names: &mut Vec<(i32, String)>, ifindex: i32) -> &str {
    let at = match names.iter().position(|(index, _)| *index == ifindex) {
        Some(at) => at,
        None => {
            let name = interface_name(ifindex as u32).unwrap_or_else(|| format!("if{ifindex}"));
            names.push((ifindex, name));
            names.len() - 1
        }
    };
    &names[at].1
}

/// The file and the lines waiting to be written to it.
struct Output {
    file: File,
    buffer: Vec<u8>,
    /// Frames in `buffer`.
    frames: u64,
    last_write: Instant,
}

impl Output {
    fn new(file: File) -> Self {
        Self { file, buffer: Vec::with_capacity(2 * FLUSH_AT), frames: 0, last_write: Instant::now() }
    }

    fn since_write(&self) -> Duration {
        self.last_write.elapsed()
    }

    /// Writes the buffer whole, or cuts the file back to where it was.
    fn flush(&mut self) -> io::Result<()> {
        let mut done = 0;
        while done < self.buffer.len() {
            match self.file.write(&self.buffer[done..]) {
                Ok(0) => return Err(self.undo(done, io::ErrorKind::WriteZero.into())),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.undo(done, e)),
            }
        }
        self.buffer.clear();
        self.frames = 0;
        self.last_write = Instant::now();
        Ok(())
    }

    /// Writes `bytes` over the start of the file (BLF's final header).
    fn rewrite_start(&self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all_at(bytes, 0)
    }

    /// After a write failed with `error` when `done` bytes of the buffer
    /// were written: removes those bytes from a regular file, so that the
    /// file ends with a whole line.
    fn undo(&self, done: usize, error: io::Error) -> io::Error {
        let regular = self.file.metadata().is_ok_and(|meta| meta.is_file());
        if done > 0 && regular {
            let mut file = &self.file;
            if let Some(end) = file.stream_position().ok().and_then(|end| end.checked_sub(done as u64)) {
                let _ = file.set_len(end).and_then(|()| file.seek(SeekFrom::Start(end)));
            }
        }
        error
    }
}

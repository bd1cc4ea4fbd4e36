//! Wake-ups between processes sharing one store, without polling.
//!
//! A process that commits new messages (or results) writes a few bytes to a
//! small file next to the database; every process watching that file with
//! inotify is woken within microseconds. Inside one process a counter plus a
//! `Notify` does the same without the kernel.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use celeriac_core::Signal;

/// Which event a wake file announces.
#[derive(Clone, Copy)]
pub(crate) enum Channel {
    Queue,
    Results,
}

/// The wake channels of one store.
pub(crate) struct WakeHub {
    pub(crate) queue: Arc<Signal>,
    pub(crate) results: Arc<Signal>,
    queue_file: Option<File>,
    results_file: Option<File>,
    counter: AtomicU64,
    listener: Option<Listener>,
}

fn wake_path(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn open_wake_file(path: &Path) -> Option<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .ok()
}

impl WakeHub {
    pub(crate) fn open(db: &Path) -> WakeHub {
        let queue_path = wake_path(db, "-wake-queue");
        let results_path = wake_path(db, "-wake-results");
        let queue_file = open_wake_file(&queue_path);
        let results_file = open_wake_file(&results_path);
        let queue = Arc::new(Signal::default());
        let results = Arc::new(Signal::default());
        let listener = Listener::start(&queue_path, &results_path, queue.clone(), results.clone());
        if listener.is_none() {
            tracing::warn!("no inotify: other processes' commits are noticed by polling");
        }
        WakeHub {
            queue,
            results,
            queue_file,
            results_file,
            counter: AtomicU64::new(0),
            listener,
        }
    }

    /// True when other processes' commits wake us (inotify works here).
    pub(crate) fn is_push(&self) -> bool {
        self.listener.is_some()
    }

    /// Announces a commit on `channel` to this process and to the others.
    pub(crate) fn announce(&self, channel: Channel) {
        let (signal, file) = match channel {
            Channel::Queue => (&self.queue, &self.queue_file),
            Channel::Results => (&self.results, &self.results_file),
        };
        signal.bump();
        if let Some(file) = file {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            // Any write raises IN_MODIFY in the watchers; content is irrelevant.
            let _ = file.write_at(&n.to_le_bytes(), 0);
        }
    }
}

impl Drop for WakeHub {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.take() {
            listener.stop();
        }
    }
}

/// A thread blocked on an inotify descriptor, bumping the signals.
struct Listener {
    fd: i32,
    watches: [i32; 2],
    stop: Arc<AtomicBool>,
}

impl Listener {
    #[cfg(target_os = "linux")]
    fn start(queue_path: &Path, results_path: &Path, queue: Arc<Signal>, results: Arc<Signal>) -> Option<Listener> {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;

        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        let mut watches = [0i32; 2];
        for (slot, path) in watches.iter_mut().zip([queue_path, results_path]) {
            let c_path = CString::new(path.as_os_str().as_bytes()).ok()?;
            // SAFETY: fd is a valid inotify descriptor and c_path a valid C string.
            let wd = unsafe { libc::inotify_add_watch(fd, c_path.as_ptr(), libc::IN_MODIFY) };
            if wd < 0 {
                // SAFETY: fd was opened above and is not used after this.
                unsafe { libc::close(fd) };
                return None;
            }
            *slot = wd;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let [queue_wd, results_wd] = watches;
        let spawned = std::thread::Builder::new().name("celeriac-wake".into()).spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                // SAFETY: buf is valid for its length; fd stays open until
                // this thread exits (stop() closes it only after the
                // IN_IGNORED wake-up lets us see the stop flag).
                let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                if thread_stop.load(Ordering::Acquire) {
                    break;
                }
                if n < 0 {
                    if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    break;
                }
                let (mut q, mut r) = (false, false);
                let mut offset = 0usize;
                let header = std::mem::size_of::<libc::inotify_event>();
                while offset + header <= n as usize {
                    // SAFETY: the kernel wrote a whole event header at offset.
                    let event: libc::inotify_event =
                        unsafe { std::ptr::read_unaligned(buf.as_ptr().add(offset).cast()) };
                    q |= event.wd == queue_wd;
                    r |= event.wd == results_wd;
                    offset += header + event.len as usize;
                }
                if q {
                    queue.bump();
                }
                if r {
                    results.bump();
                }
            }
            // SAFETY: this thread owns the descriptor from here on.
            unsafe { libc::close(fd) };
        });
        if spawned.is_err() {
            // SAFETY: the thread did not start, so nobody else uses fd.
            unsafe { libc::close(fd) };
            return None;
        }
        Some(Listener { fd, watches, stop })
    }

    #[cfg(not(target_os = "linux"))]
    fn start(_: &Path, _: &Path, _: Arc<Signal>, _: Arc<Signal>) -> Option<Listener> {
        None
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Release);
        #[cfg(target_os = "linux")]
        for wd in self.watches {
            // SAFETY: removing a watch wakes the blocked read with IN_IGNORED;
            // the thread then sees the stop flag and closes the descriptor.
            unsafe { libc::inotify_rm_watch(self.fd, wd) };
        }
    }
}

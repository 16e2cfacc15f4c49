//! Device capture: a camera through Video4Linux2 (feature `v4l2`) and an
//! audio input through ALSA (feature `alsa`). Each device is read on a
//! thread of its own into a live [`FrameReceiver`] (a slow consumer loses
//! the oldest frames, never stalls the device).

#[cfg(feature = "alsa")]
pub mod alsa;
#[cfg(feature = "v4l2")]
pub mod v4l2;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::{MediaError, Result};
use crate::frame::Frame;
use crate::track::{channel, FrameReceiver, QueueLimits};

/// A running capture: stop it, or drop it, to release the device.
#[derive(Debug)]
pub struct Capture {
    stop: Arc<AtomicBool>,
    error: Arc<Mutex<Option<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    /// Reads frames from `next` on a thread named `name` into a queue of
    /// `limits` until stopped, until the receiver is dropped, or until
    /// `next` fails (the error is kept, see [`Capture::error`]).
    pub fn spawn(
        name: String,
        limits: QueueLimits,
        mut next: impl FnMut() -> Result<Frame> + Send + 'static,
    ) -> Result<(FrameReceiver, Capture)> {
        let (tx, rx) = channel(limits);
        let stop = Arc::new(AtomicBool::new(false));
        let error = Arc::new(Mutex::new(None));
        let (s, e) = (stop.clone(), error.clone());
        let thread = std::thread::Builder::new().name(name.clone()).spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match next() {
                    Ok(f) => {
                        if tx.push(f).is_err() {
                            return; // no one is listening
                        }
                    }
                    Err(err) => {
                        *e.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{name}: {err}"));
                        return;
                    }
                }
            }
        })?;
        Ok((rx, Capture { stop, error, thread: Some(thread) }))
    }

    /// The error that ended the capture, if one did.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops reading and waits for the thread (at most one frame's time).
    pub fn stop(mut self) -> Result<()> {
        self.halt()
    }

    fn halt(&mut self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().map_err(|_| MediaError::Io(std::io::Error::other("the capture thread panicked")))?;
        }
        Ok(())
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

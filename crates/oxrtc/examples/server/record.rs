//! `--record DIR`: each connection's camera and microphone as the browser
//! encoded them (VP8, VP9 or AV1 and Opus: nothing is decoded) into a WebM
//! file in DIR, finalized when the connection ends.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use media::recorder::{MediaRecorder, RecorderOptions, RecorderStats};
use media::track::{channel, FrameSender, QueueLimits};
use media::{Codec, EncodedFrame, Frame, TimeBase};
use oxrtc::peer::{MediaFrame, TransceiverId};
use oxrtc::sdp::{Direction, MediaKind};
use oxrtc::RTCPeerConnection;

/// One received stream on its way to the file.
struct Track {
    sender: FrameSender,
    /// Payload type to codec and clock rate, as negotiated.
    codecs: HashMap<u8, (Codec, u32)>,
    /// The last RTP timestamp and its unwrapped value.
    last: Option<(u32, i64)>,
}

/// A connection's recording.
pub struct Recording {
    path: PathBuf,
    recorder: MediaRecorder,
    tracks: HashMap<TransceiverId, Track>,
}

impl Recording {
    /// Starts recording what `pc` receives into `path` (once connected, so
    /// that the transceivers and codecs are negotiated).
    pub async fn start(pc: &RTCPeerConnection, path: &Path) -> Result<Recording, String> {
        let mut recorder = MediaRecorder::create(path, RecorderOptions::default()).map_err(|e| e.to_string())?;
        let mut tracks = HashMap::new();
        for t in pc.transceivers().await {
            let receives = matches!(t.current_direction, Some(Direction::SendRecv | Direction::RecvOnly));
            let (kind, limits) = match t.kind {
                MediaKind::Video if receives => (media::MediaKind::Video, QueueLimits::LIVE_ENCODED_VIDEO),
                MediaKind::Audio if receives => {
                    (media::MediaKind::Audio, QueueLimits { frames: 100, ..QueueLimits::LIVE })
                }
                _ => continue,
            };
            let codecs = pc
                .codecs(t.id)
                .await
                .into_iter()
                .filter_map(|c| Some((c.payload_type, (Codec::from_sdp_name(&c.name)?, c.clock_rate))))
                .collect();
            let (sender, receiver) = channel(limits);
            recorder.add_track(kind, receiver).map_err(|e| e.to_string())?;
            tracks.insert(t.id, Track { sender, codecs, last: None });
        }
        recorder.start().map_err(|e| e.to_string())?;
        Ok(Recording { path: path.into(), recorder, tracks })
    }

    /// Takes one received frame (frames of a codec this crate does not
    /// name are left out).
    pub fn frame(&mut self, t: TransceiverId, f: &MediaFrame) {
        let Some(track) = self.tracks.get_mut(&t) else { return };
        let Some(&(codec, clock_rate)) = track.codecs.get(&f.payload_type) else { return };
        // RTP timestamps wrap at 2^32: unwrap them into a running count.
        let pts = match track.last {
            None => i64::from(f.rtp_timestamp),
            Some((last, ext)) => ext + i64::from(f.rtp_timestamp.wrapping_sub(last) as i32),
        };
        track.last = Some((f.rtp_timestamp, pts));
        let frame = EncodedFrame {
            codec,
            data: f.data.clone(),
            pts,
            time_base: TimeBase::hz(clock_rate),
            duration: None,
            keyframe: f.keyframe,
        };
        // A full queue drops by its policy; a recorder that stopped refuses.
        let _ = track.sender.push(Frame::Encoded(frame));
    }

    /// Ends the tracks and finalizes the file.
    pub async fn finish(self) -> (PathBuf, Result<RecorderStats, String>) {
        drop(self.tracks);
        (self.path, self.recorder.finish().await.map_err(|e| e.to_string()))
    }
}

//! How many photos this machine can process, measured before the load.

use std::time::Instant;

use crate::schema::PhotoRef;
use crate::tasks::{analyse, shrink, DEFAULT_THUMBNAIL_SIDE};

/// The cost of one photo on this machine.
#[derive(Debug, Clone, Copy)]
pub struct Calibration {
    /// Milliseconds of one core for detection plus thumbnail, averaged over
    /// the photos.
    pub ms_per_photo: f64,
    /// Cores available.
    pub cores: usize,
}

impl Calibration {
    /// Photos per second every core together can process.
    pub fn machine_capacity(&self) -> f64 {
        self.cores as f64 * 1000.0 / self.ms_per_photo
    }

    /// Photos per second one core can process.
    pub fn core_capacity(&self) -> f64 {
        1000.0 / self.ms_per_photo
    }
}

/// Times detection and thumbnail of each photo (after one warm-up round)
/// on this thread.
///
/// # Errors
///
/// When a photo cannot be processed.
pub fn calibrate(photos: &[(String, Vec<u8>)]) -> Result<Calibration, String> {
    const ROUNDS: usize = 3;
    let mut total_ms = 0.0;
    for round in 0..=ROUNDS {
        for (name, data) in photos {
            let started = Instant::now();
            let photo = PhotoRef { blob: name.clone() };
            analyse(photo, data, started).map_err(|e| format!("{name}: {e}"))?;
            shrink(data, DEFAULT_THUMBNAIL_SIDE).map_err(|e| format!("{name}: {e}"))?;
            if round > 0 {
                total_ms += started.elapsed().as_secs_f64() * 1000.0;
            }
        }
    }
    Ok(Calibration {
        ms_per_photo: total_ms / (ROUNDS * photos.len().max(1)) as f64,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    })
}

//! How the harness-less benches time a call: in batches long enough to time, each
//! batch's time per call, sorted.

use std::time::{Duration, Instant};

/// `count` batches of `call`, each at least `batch` long; the time per call in each, in
/// ns, fastest first.
pub fn ns_per_call(mut call: impl FnMut(), batch: Duration, count: usize) -> Vec<f64> {
    let mut calls = 1u32;
    loop {
        let started = Instant::now();
        for _ in 0..calls {
            call();
        }
        if started.elapsed() > batch {
            break;
        }
        calls *= 2;
    }
    let mut samples: Vec<f64> = (0..count)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..calls {
                call();
            }
            started.elapsed().as_nanos() as f64 / f64::from(calls)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples
}

//! Retry delays: exponential, capped, with jitter so that deliveries that failed together
//! (a forge outage) do not all come back in the same instant.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub max_attempts: u32,
}

impl Backoff {
    /// The delay before the next attempt after `attempt` attempts failed, or `None` when
    /// the attempts are used up. The delay is drawn from [d/2, d] where
    /// d = min(max, base * 2^(attempt-1)).
    pub fn after(&self, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let exponent = attempt.saturating_sub(1).min(32);
        let full = self
            .base
            .saturating_mul(1u32 << exponent.min(31))
            .min(self.max);
        let half = full / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        Some(half + Duration::from_millis(fastrand::u64(0..=jitter_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_stay_within_jitter_bounds_and_cap() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_millis(1_000),
            max_attempts: 10,
        };
        for _ in 0..200 {
            let first = backoff.after(1).unwrap();
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = backoff.after(3).unwrap();
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = backoff.after(9).unwrap();
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_millis(1_000));
        }
    }

    #[test]
    fn jitter_spreads_delays() {
        let backoff = Backoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(100),
            max_attempts: 5,
        };
        let delays: std::collections::BTreeSet<Duration> =
            (0..50).filter_map(|_| backoff.after(2)).collect();
        assert!(delays.len() > 10, "{delays:?}");
    }

    #[test]
    fn no_delay_once_attempts_are_used_up() {
        let backoff = Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(1),
            max_attempts: 3,
        };
        assert!(backoff.after(2).is_some());
        assert_eq!(backoff.after(3), None);
        assert_eq!(backoff.after(u32::MAX), None);
    }
}

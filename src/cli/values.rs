//! Value parsers shared by the commands' flags: each returns a message clap shows
//! beside the flag, so a bad value is a usage error before anything runs.

use std::time::Duration;

/// A duration as humans write it (`10s`, `500ms`, `5m`).
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e} (write e.g. 10s, 500ms, 5m)"))
}

/// A duration that must be positive: `--timeout 0s` would fail every request
/// before it is sent, `--deadline 0s` every case before it starts.
pub(crate) fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if d.is_zero() {
        return Err(format!(
            "`{s}` is zero; give a positive duration (e.g. 10s)"
        ));
    }
    Ok(d)
}

/// The most cases run at once: each is a thread, and a target is not a load test.
const MAX_JOBS: usize = 256;

/// `--jobs`: 1 to [`MAX_JOBS`].
pub(crate) fn jobs(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of jobs"))?;
    if !(1..=MAX_JOBS).contains(&n) {
        return Err(format!("{n} jobs: use 1 to {MAX_JOBS}"));
    }
    Ok(n)
}

/// `--partition K/N`: shard K of N, 1-based.
pub(crate) fn partition(s: &str) -> Result<(u32, u32), String> {
    let (k, n) = s.split_once('/').ok_or("write k/n, e.g. 1/3")?;
    let k: u32 = k
        .trim()
        .parse()
        .map_err(|_| format!("`{k}` is not a shard number"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a shard count"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard {k}/{n} does not exist: use 1..=n of n ≥ 1"));
    }
    Ok((k, n))
}

/// A fraction of requests, 0 to 1.
pub(crate) fn rate(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("{r} is outside 0..=1 (a fraction of requests)"))
    }
}

/// A window or timeout of the mock: at least 1 ms.
pub(crate) fn window(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| format!("`{s}`: {e}"))?;
    if d < Duration::from_millis(1) {
        return Err("the rate window must be at least 1ms".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_jobs_and_durations() {
        assert_eq!(partition("2/3"), Ok((2, 3)));
        assert!(partition("0/3").is_err() && partition("4/3").is_err() && partition("3").is_err());
        assert_eq!(jobs("256"), Ok(256));
        assert!(jobs("0").is_err() && jobs("257").is_err());
        assert!(positive_duration("0s").is_err());
        assert_eq!(duration("0s"), Ok(Duration::ZERO));
        assert!(rate("1.5").is_err() && rate("0.5").is_ok());
        assert!(window("0s").is_err());
    }
}

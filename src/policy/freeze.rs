//! Freeze windows: weekly periods, in their own time zone, when an environment takes no
//! promotions unless someone allowed to override gives a reason.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;

const MINUTES_PER_DAY: u32 = 24 * 60;

/// On each of `days`, from `from` until `to` (exclusive) local time. When `to` is not after
/// `from` the window runs past midnight into the next day; `24:00` means the end of the day.
#[derive(Debug, Clone)]
pub struct FreezeWindow {
    pub days: Vec<Weekday>,
    /// Minutes after local midnight, 0..1440.
    pub from: u32,
    /// Minutes after local midnight, 1..=1440.
    pub to: u32,
    pub timezone_name: String,
    pub timezone: TimeZone,
}

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

pub fn day_names() -> Vec<&'static str> {
    DAY_NAMES.iter().map(|(name, _)| *name).collect()
}

/// `mon`..`sun`, or the full English name, in any case.
pub fn parse_day(text: &str) -> Option<Weekday> {
    let lower = text.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .find(|(short, day)| lower == *short || lower == format!("{day:?}").to_ascii_lowercase())
        .map(|(_, day)| *day)
}

fn day_name(day: Weekday) -> &'static str {
    DAY_NAMES
        .iter()
        .find(|(_, d)| *d == day)
        .map_or("?", |(name, _)| name)
}

/// `HH:MM` as minutes after midnight; `24:00` is allowed (end of day).
pub fn parse_time(text: &str) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes) = (hours.parse::<u32>().ok()?, minutes.parse::<u32>().ok()?);
    let total = hours * 60 + minutes;
    (minutes < 60 && total <= MINUTES_PER_DAY).then_some(total)
}

fn format_time(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl FreezeWindow {
    /// Whether `now` falls inside the window, judged on the wall clock of its time zone.
    pub fn is_active(&self, now: Timestamp) -> bool {
        let local = now.to_zoned(self.timezone.clone());
        let minute =
            u32::from(local.hour().unsigned_abs()) * 60 + u32::from(local.minute().unsigned_abs());
        let today = local.weekday();
        let yesterday = today.previous();
        let wraps = self.to <= self.from;
        let started_today =
            self.days.contains(&today) && minute >= self.from && (wraps || minute < self.to);
        let started_yesterday = wraps && self.days.contains(&yesterday) && minute < self.to;
        started_today || started_yesterday
    }
}

impl fmt::Display for FreezeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<&str> = self.days.iter().map(|d| day_name(*d)).collect();
        write!(
            f,
            "{} {}-{} {}",
            days.join(","),
            format_time(self.from),
            format_time(self.to),
            self.timezone_name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(days: &[&str], from: &str, to: &str, zone: &str) -> FreezeWindow {
        FreezeWindow {
            days: days.iter().map(|d| parse_day(d).unwrap()).collect(),
            from: parse_time(from).unwrap(),
            to: parse_time(to).unwrap(),
            timezone_name: zone.into(),
            timezone: TimeZone::get(zone).unwrap(),
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn evaluated_on_the_wall_clock_of_its_zone() {
        let weekend = window(&["fri", "sat", "sun"], "16:00", "23:59", "Asia/Shanghai");
        // Friday 2026-11-06 08:30 UTC is 16:30 in Shanghai.
        assert!(weekend.is_active(at("2026-11-06T08:30:00Z")));
        // 07:59 UTC is 15:59 in Shanghai: not yet.
        assert!(!weekend.is_active(at("2026-11-06T07:59:00Z")));
        // Thursday 16:30 Shanghai.
        assert!(!weekend.is_active(at("2026-11-05T08:30:00Z")));
        // Sunday 23:59 Shanghai: `to` is exclusive.
        assert!(!weekend.is_active(at("2026-11-08T15:59:00Z")));
        assert_eq!(weekend.to_string(), "fri,sat,sun 16:00-23:59 Asia/Shanghai");
    }

    #[test]
    fn overnight_windows_continue_into_the_next_day() {
        let night = window(&["fri"], "22:00", "06:00", "Europe/Berlin");
        // Saturday 2026-11-07 05:00 Berlin (UTC+1) = 04:00 UTC.
        assert!(night.is_active(at("2026-11-07T04:00:00Z")));
        assert!(!night.is_active(at("2026-11-07T05:00:00Z")));
        // Friday 23:00 Berlin.
        assert!(night.is_active(at("2026-11-06T22:00:00Z")));
        // Thursday night is not frozen.
        assert!(!night.is_active(at("2026-11-06T04:00:00Z")));
    }

    #[test]
    fn whole_days_and_parsing() {
        let all_day = window(&["saturday"], "00:00", "24:00", "UTC");
        assert!(all_day.is_active(at("2026-11-07T23:59:59Z")));
        assert!(!all_day.is_active(at("2026-11-08T00:00:00Z")));
        assert_eq!(parse_time("24:01"), None);
        assert_eq!(parse_time("9:00"), None);
        assert_eq!(parse_time("09:60"), None);
        assert_eq!(parse_day("Sun"), Some(Weekday::Sunday));
        assert_eq!(parse_day("sonntag"), None);
    }
}

//! Marks: what an answer, an attempt or a live leaderboard line is worth.
//!
//! A question is worth one mark. Moodle gives parts of it (a multiple-answer question with two
//! of its three right options ticked, a short answer worth 50%, two pairs of three matched),
//! so a score is not a count of right answers: it is held in ten-thousandths of a mark, exact
//! for every weight Moodle offers to four places (33.3333%, 14.2857%), added up without
//! rounding, and shown to two places as Moodle shows grades (`2.5`, `1.33`, `3`). Whole marks
//! are written as they always were, so a bank without partial credit reads exactly as before.

use std::fmt;
use std::ops::{Add, AddAssign};

/// An amount of marks, in [`Marks::UNIT`]ths of a mark. Never negative: Moodle takes a
/// multiple-answer question's penalties off that question's own marks, never below zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Marks(u32);

impl Marks {
    /// Ten-thousandths of a mark per mark.
    pub const UNIT: u32 = 10_000;
    pub const ZERO: Marks = Marks(0);
    /// One question answered right.
    pub const ONE: Marks = Marks(Marks::UNIT);

    /// `n` whole marks.
    pub const fn whole(n: u32) -> Marks {
        Marks(n.saturating_mul(Marks::UNIT))
    }

    /// As stored (ten-thousandths).
    pub const fn units(self) -> u32 {
        self.0
    }

    pub const fn from_units(units: u32) -> Marks {
        Marks(units)
    }

    /// One question's marks for a `fraction` of it, as Moodle grades a response: clamped to
    /// 0..=1; within a millionth of 1 it is full marks and within a millionth of 0 none
    /// (Moodle's `question_state::graded_state_for_fraction`), so three options worth
    /// 33.33333% each make a right answer.
    pub fn of_fraction(fraction: f64) -> Marks {
        if fraction.is_nan() || fraction < 0.000_001 {
            Marks::ZERO
        } else if fraction > 0.999_999 {
            Marks::ONE
        } else {
            let units = (fraction * f64::from(Marks::UNIT)).round() as u32;
            Marks(units.clamp(1, Marks::UNIT - 1))
        }
    }

    /// Full marks for one question.
    pub fn is_full(self) -> bool {
        self >= Marks::ONE
    }

    /// Some marks, but not full ones: Moodle's "partially correct".
    pub fn is_partial(self) -> bool {
        self > Marks::ZERO && self < Marks::ONE
    }

    /// `self` out of `max` questions as a whole percent, rounded half up (0 when `max` is 0).
    pub fn percent_of(self, max: u32) -> u32 {
        let whole = u64::from(max) * u64::from(Marks::UNIT);
        (u64::from(self.0) * 100 + whole / 2)
            .checked_div(whole)
            .map_or(0, |p| u32::try_from(p).unwrap_or(u32::MAX))
    }

    pub fn saturating_sub(self, other: Marks) -> Marks {
        Marks(self.0.saturating_sub(other.0))
    }

    /// Parses what [`fmt::Display`] writes (`3`, `2.5`, `1.33`), for tools reading results.
    pub fn parse(text: &str) -> Option<Marks> {
        let (whole, frac) = text.split_once('.').unwrap_or((text, "0"));
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(frac) || frac.len() > 4 {
            return None;
        }
        let whole: u32 = whole.parse().ok()?;
        let mut units = 0u32;
        for (i, b) in frac
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(4)
            .enumerate()
        {
            units += u32::from(b - b'0') * 10u32.pow(3 - i as u32);
        }
        whole
            .checked_mul(Marks::UNIT)?
            .checked_add(units)
            .map(Marks)
    }
}

impl Marks {
    /// Part of a mark as a verdict names it: to two places, or to four where two would read
    /// as none or all of it (`0.9999`, `0.004`), so "Partly right" never says `1 of 1`.
    pub fn as_part(self) -> String {
        let hundredths = (self.0 + 50) / 100;
        if self.is_partial() && (hundredths == 0 || hundredths == 100) {
            let text = format!("0.{:04}", self.0);
            text.trim_end_matches('0').to_string()
        } else {
            self.to_string()
        }
    }
}

impl Marks {
    /// Exactly, to the ten-thousandth, trailing zeros left off (`1`, `0.3333`, `2.5`): what
    /// the results' `marks` column writes, so an analysis of the file loses nothing.
    pub fn exact(self) -> String {
        let (whole, part) = (self.0 / Marks::UNIT, self.0 % Marks::UNIT);
        if part == 0 {
            whole.to_string()
        } else {
            format!("{whole}.{part:04}")
                .trim_end_matches('0')
                .to_string()
        }
    }
}

impl Add for Marks {
    type Output = Marks;
    fn add(self, other: Marks) -> Marks {
        Marks(self.0.saturating_add(other.0))
    }
}

impl AddAssign for Marks {
    fn add_assign(&mut self, other: Marks) {
        *self = *self + other;
    }
}

impl fmt::Display for Marks {
    /// Whole marks as an integer (`3`); otherwise rounded to hundredths, trailing zeros left
    /// off (`2.5`, `1.33`, `0.07`). Written without allocating.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hundredths = (self.0 + 50) / 100;
        let (whole, part) = (hundredths / 100, hundredths % 100);
        match part {
            0 => write!(f, "{whole}"),
            p if p % 10 == 0 => write!(f, "{whole}.{}", p / 10),
            p => write!(f, "{whole}.{p:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_marks_read_as_they_always_did_and_parts_to_two_places() {
        let shown = |m: Marks| m.to_string();
        assert_eq!(shown(Marks::whole(3)), "3");
        assert_eq!(shown(Marks::ZERO), "0");
        assert_eq!(shown(Marks::from_units(25_000)), "2.5");
        assert_eq!(shown(Marks::from_units(13_333)), "1.33");
        assert_eq!(shown(Marks::from_units(700)), "0.07");
        assert_eq!(shown(Marks::from_units(9_999)), "1");
        assert_eq!(Marks::from_units(9_999).as_part(), "0.9999");
        assert_eq!(Marks::from_units(40).as_part(), "0.004");
        assert_eq!(Marks::from_units(5_000).as_part(), "0.5");
        for (units, text) in [
            (10_000, "1"),
            (3_333, "0.3333"),
            (25_000, "2.5"),
            (40, "0.004"),
        ] {
            assert_eq!(Marks::from_units(units).exact(), text);
            assert_eq!(Marks::parse(text), Some(Marks::from_units(units)));
        }
        for text in ["3", "2.5", "1.33", "0.07", "0"] {
            assert_eq!(Marks::parse(text).map(shown).as_deref(), Some(text));
        }
        for bad in ["", ".5", "1.", "-1", "1.23456", "x", "1e3"] {
            assert_eq!(Marks::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_fraction_is_clamped_and_snapped_as_moodle_grades_it() {
        assert_eq!(Marks::of_fraction(-0.5), Marks::ZERO);
        assert_eq!(Marks::of_fraction(1.5), Marks::ONE);
        assert_eq!(Marks::of_fraction(3.0 * 0.333_333_3), Marks::ONE);
        assert_eq!(Marks::of_fraction(0.5), Marks::from_units(5_000));
        assert_eq!(Marks::of_fraction(1e-9), Marks::ZERO);
        assert_eq!(Marks::of_fraction(f64::NAN), Marks::ZERO);
        assert!(Marks::of_fraction(0.5).is_partial());
        assert!(!Marks::ONE.is_partial() && Marks::ONE.is_full());
    }

    #[test]
    fn percent_rounds_half_up_over_whole_questions() {
        assert_eq!(Marks::whole(2).percent_of(3), 67);
        assert_eq!(Marks::from_units(25_000).percent_of(3), 83);
        assert_eq!(Marks::whole(1).percent_of(0), 0);
        assert_eq!(Marks::from_units(5_000).percent_of(1), 50);
        assert_eq!(Marks::whole(3).percent_of(3), 100);
    }
}

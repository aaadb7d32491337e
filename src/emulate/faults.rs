//! `--fail 429:0.2,503:0.05,401*1`: which hunting calls the emulator answers with an error. `CODE:RATE` fails
//! that share of calls at random (seeded, so a run repeats); `CODE*N` fails the first N calls.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    Rate { status: u16, rate: f64 },
    First { status: u16, count: u32 },
}

pub fn parse_faults(text: &str) -> Result<Vec<Fault>, String> {
    let mut faults = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = || format!("--fail: '{item}' is neither CODE:RATE (429:0.2) nor CODE*COUNT (503*3)");
        let status_of = |code: &str| -> Result<u16, String> {
            let status = code.parse::<u16>().map_err(|_| bad())?;
            if (400..=599).contains(&status) {
                Ok(status)
            } else {
                Err(format!("--fail: {status} is not an error status"))
            }
        };
        if let Some((code, rate)) = item.split_once(':') {
            let rate = rate.parse::<f64>().map_err(|_| bad())?;
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("--fail: the rate in '{item}' must be between 0 and 1"));
            }
            faults.push(Fault::Rate { status: status_of(code)?, rate });
        } else if let Some((code, count)) = item.split_once('*') {
            faults.push(Fault::First { status: status_of(code)?, count: count.parse().map_err(|_| bad())? });
        } else {
            return Err(bad());
        }
    }
    let total: f64 = faults.iter().map(|f| if let Fault::Rate { rate, .. } = f { *rate } else { 0.0 }).sum();
    if total > 1.0 {
        return Err(format!("--fail: the rates add up to {total}, more than 1"));
    }
    Ok(faults)
}

/// Draws the fault of each call.
#[derive(Debug)]
pub struct FaultPlan {
    faults: Vec<Fault>,
    calls: u32,
    rng: ChaCha8Rng,
}

impl FaultPlan {
    pub fn new(faults: Vec<Fault>, seed: u64) -> Self {
        FaultPlan { faults, calls: 0, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// The error status of the next call, if it fails.
    pub fn draw(&mut self) -> Option<u16> {
        self.calls += 1;
        let mut before = 0;
        for fault in &self.faults {
            if let Fault::First { status, count } = fault {
                if self.calls <= before + count {
                    return Some(*status);
                }
                before += count;
            }
        }
        let draw: f64 = self.rng.random_range(0.0..1.0);
        let mut cumulative = 0.0;
        for fault in &self.faults {
            if let Fault::Rate { status, rate } = fault {
                cumulative += rate;
                if draw < cumulative {
                    return Some(*status);
                }
            }
        }
        None
    }

    /// A draw for `--truncate-body`.
    pub fn chance(&mut self, rate: f64) -> bool {
        rate > 0.0 && self.rng.random_range(0.0..1.0) < rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_come_first_then_rates() {
        let faults = parse_faults("401*1, 503*2, 429:0.0").expect("valid");
        let mut plan = FaultPlan::new(faults, 1);
        let drawn: Vec<Option<u16>> = (0..5).map(|_| plan.draw()).collect();
        assert_eq!(drawn, [Some(401), Some(503), Some(503), None, None]);
        assert!(parse_faults("429:1.5").is_err());
        assert!(parse_faults("200:0.5").is_err());
        assert!(parse_faults("429:0.7,503:0.5").is_err());
        let mut always = FaultPlan::new(parse_faults("429:1").expect("valid"), 7);
        assert!((0..20).all(|_| always.draw() == Some(429)));
    }
}

//! A fraction of one device instance (orch's `device { share = 0.25 }`), kept as a whole
//! number of millionths so that packing shares onto an instance is exact integer
//! arithmetic: three shares of 1/3 never add up to 1.0000000002 and overflow an instance,
//! and every server computes the same sum (invariant 1).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Millionths in a whole instance.
pub const WHOLE_SHARE: i64 = 1_000_000;

/// A share of a device instance in millionths (`250_000` is a quarter). Written as a
/// decimal number in JSON (`"Share": 0.25`) and as the integer in binary formats. Values
/// outside `(0, 1]` decode (so validation can name the field) and are refused there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DeviceShare(pub i64);

impl DeviceShare {
    /// A whole instance.
    pub const WHOLE: DeviceShare = DeviceShare(WHOLE_SHARE);

    /// The share nearest to `f` (saturating far outside the valid range).
    pub fn from_fraction(f: f64) -> DeviceShare {
        let scaled = (f * WHOLE_SHARE as f64).round();
        // `as` saturates, and NaN (JSON cannot carry it) becomes 0, which is refused.
        DeviceShare(scaled as i64)
    }

    /// The share as a fraction of an instance.
    pub fn fraction(self) -> f64 {
        self.0 as f64 / WHOLE_SHARE as f64
    }

    /// Whether the share is one a task may ask for: above 0, at most a whole instance.
    pub fn is_valid(self) -> bool {
        self.0 > 0 && self.0 <= WHOLE_SHARE
    }

    /// The share as the task sees it in `ORCH_DEVICE_SHARE` (`0.25`, `1`).
    pub fn to_text(self) -> String {
        let whole = self.0 / WHOLE_SHARE;
        let frac = (self.0 % WHOLE_SHARE).abs();
        if frac == 0 {
            return whole.to_string();
        }
        let digits = format!("{frac:06}");
        let sign = if self.0 < 0 && whole == 0 { "-" } else { "" };
        format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl Serialize for DeviceShare {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_f64(self.fraction())
        } else {
            s.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for DeviceShare {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            f64::deserialize(d).map(DeviceShare::from_fraction)
        } else {
            i64::deserialize(d).map(DeviceShare)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_round_to_millionths_and_print_back() {
        assert_eq!(DeviceShare::from_fraction(0.25), DeviceShare(250_000));
        assert_eq!(DeviceShare::from_fraction(1.0 / 3.0), DeviceShare(333_333));
        assert_eq!(DeviceShare(250_000).to_text(), "0.25");
        assert_eq!(DeviceShare(1_000_000).to_text(), "1");
        assert_eq!(DeviceShare(1_500_000).to_text(), "1.5");
        assert_eq!(DeviceShare(-500_000).to_text(), "-0.5");
        assert!(!DeviceShare::from_fraction(0.0000001).is_valid());
        assert!(!DeviceShare::from_fraction(-0.5).is_valid());
        assert!(!DeviceShare::from_fraction(1.01).is_valid());
        assert!(DeviceShare::from_fraction(1.0).is_valid());
        assert!(!DeviceShare::from_fraction(1e300).is_valid());
    }

    #[test]
    fn json_carries_the_fraction_and_postcard_the_integer() {
        let v = serde_json::to_value(DeviceShare(500_000)).unwrap();
        assert_eq!(v, serde_json::json!(0.5));
        let back: DeviceShare = serde_json::from_value(serde_json::json!(0.125)).unwrap();
        assert_eq!(back, DeviceShare(125_000));
        let bytes = postcard::to_allocvec(&DeviceShare(333_333)).unwrap();
        let back: DeviceShare = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, DeviceShare(333_333));
    }
}

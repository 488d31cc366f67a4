//! Typed device attributes with units (`2 GiB`, `1.5 GHz`, `250 W`), parsed and
//! compared the way Nomad's `plugins/shared/structs` does, so device constraints such
//! as `${device.attr.memory} >= 2 GiB` accept and reject the same devices.

use std::cmp::Ordering;

/// Quantities that can be compared with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Byte,
    ByteRate,
    Hertz,
    Watt,
}

/// A known unit: name, base and multiplier over the base (divisor when `inverse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    name: &'static str,
    base: Base,
    multiplier: i64,
    inverse: bool,
}

const fn u(name: &'static str, base: Base, multiplier: i64) -> Unit {
    Unit {
        name,
        base,
        multiplier,
        inverse: false,
    }
}

/// Nomad's units, longest names first so suffix matching picks `KiB/s` over `s`-less
/// shorter names and `kW` over `W`. Nomad's hertz multipliers (MHz = 10^3, GHz =
/// 10^9) are kept as Nomad has them so comparisons agree with Nomad.
const UNITS: &[Unit] = &[
    u("KiB/s", Base::ByteRate, 1 << 10),
    u("MiB/s", Base::ByteRate, 1 << 20),
    u("GiB/s", Base::ByteRate, 1 << 30),
    u("TiB/s", Base::ByteRate, 1 << 40),
    u("PiB/s", Base::ByteRate, 1 << 50),
    u("EiB/s", Base::ByteRate, 1 << 60),
    u("kB/s", Base::ByteRate, 1_000),
    u("KB/s", Base::ByteRate, 1_000),
    u("MB/s", Base::ByteRate, 1_000_000),
    u("GB/s", Base::ByteRate, 1_000_000_000),
    u("TB/s", Base::ByteRate, 1_000_000_000_000),
    u("PB/s", Base::ByteRate, 1_000_000_000_000_000),
    u("EB/s", Base::ByteRate, 1_000_000_000_000_000_000),
    u("KiB", Base::Byte, 1 << 10),
    u("MiB", Base::Byte, 1 << 20),
    u("GiB", Base::Byte, 1 << 30),
    u("TiB", Base::Byte, 1 << 40),
    u("PiB", Base::Byte, 1 << 50),
    u("EiB", Base::Byte, 1 << 60),
    u("MHz", Base::Hertz, 1_000),
    u("GHz", Base::Hertz, 1_000_000_000),
    u("kB", Base::Byte, 1_000),
    u("KB", Base::Byte, 1_000),
    u("MB", Base::Byte, 1_000_000),
    u("GB", Base::Byte, 1_000_000_000),
    u("TB", Base::Byte, 1_000_000_000_000),
    u("PB", Base::Byte, 1_000_000_000_000_000),
    u("EB", Base::Byte, 1_000_000_000_000_000_000),
    Unit {
        name: "mW",
        base: Base::Watt,
        multiplier: 1_000,
        inverse: true,
    },
    u("kW", Base::Watt, 1_000),
    u("MW", Base::Watt, 1_000_000),
    u("GW", Base::Watt, 1_000_000_000),
    u("W", Base::Watt, 1),
];

/// A parsed attribute value, borrowing its string form (no allocation per node).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Attribute<'a> {
    /// An integer with an optional unit.
    Int(i64, Option<&'static Unit>),
    /// A float with an optional unit.
    Float(f64, Option<&'static Unit>),
    /// A boolean (Go's `strconv.ParseBool` spellings).
    Bool(bool),
    /// Anything else.
    Str(&'a str),
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseFloat` closely enough: Rust's parser, minus out-of-range values
/// that Go rejects (`1e400` is an error in Go, infinity in Rust).
pub fn parse_go_float(s: &str) -> Option<f64> {
    let f = s.parse::<f64>().ok()?;
    if f.is_infinite() {
        let t = s.trim_start_matches(['+', '-']).to_ascii_lowercase();
        if !t.starts_with("inf") {
            return None;
        }
    }
    Some(f)
}

impl<'a> Attribute<'a> {
    /// Nomad's `ParseAttribute`: a number with an optional known unit suffix, else a
    /// boolean, else a string.
    pub fn parse(input: &'a str) -> Attribute<'a> {
        if input.is_empty() {
            return Attribute::Str(input);
        }
        let mut unit = None;
        let mut numeric = input;
        if input.as_bytes().last().is_some_and(u8::is_ascii_alphabetic)
            && let Some(found) = UNITS.iter().find(|u| input.ends_with(u.name))
        {
            unit = Some(found);
            numeric = input[..input.len() - found.name.len()].trim();
        }
        if let Ok(i) = numeric.parse::<i64>() {
            return Attribute::Int(i, unit);
        }
        if let Some(f) = parse_go_float(numeric) {
            return Attribute::Float(f, unit);
        }
        if let Some(b) = parse_go_bool(input) {
            return Attribute::Bool(b);
        }
        Attribute::Str(input)
    }

    /// The string value, if this is a string attribute.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Attribute::Str(s) => Some(s),
            _ => None,
        }
    }

    fn unit(&self) -> Option<&'static Unit> {
        match self {
            Attribute::Int(_, u) | Attribute::Float(_, u) => *u,
            _ => None,
        }
    }

    /// Nomad's `Attribute.Compare`: `None` when the two cannot be compared (different
    /// kinds, or units of different bases, or a unit on one side only). Booleans
    /// compare as equal or "greater" (unequal), as in Nomad.
    pub fn compare(&self, other: &Attribute<'_>) -> Option<Ordering> {
        match (self.unit(), other.unit()) {
            (Some(a), Some(b)) if a.base != b.base => return None,
            (Some(_), None) | (None, Some(_)) => return None,
            _ => {}
        }
        match (self, other) {
            (Attribute::Str(a), Attribute::Str(b)) => Some(a.cmp(b)),
            (Attribute::Bool(a), Attribute::Bool(b)) => Some(if a == b {
                Ordering::Equal
            } else {
                Ordering::Greater
            }),
            (Attribute::Int(a, ua), Attribute::Int(b, ub)) => {
                Some(scale_int(*a, *ua).cmp(&scale_int(*b, *ub)))
            }
            (
                Attribute::Int(..) | Attribute::Float(..),
                Attribute::Int(..) | Attribute::Float(..),
            ) => scale_float(self).partial_cmp(&scale_float(other)),
            _ => None,
        }
    }
}

/// Nomad's `getInt`: wrapping multiply (Go integer overflow wraps), truncating divide.
fn scale_int(i: i64, unit: Option<&Unit>) -> i64 {
    match unit {
        None => i,
        Some(u) if u.inverse => i / u.multiplier,
        Some(u) => i.wrapping_mul(u.multiplier),
    }
}

/// Nomad converts to a 256-bit float; f64 agrees except for values that differ by
/// less than one part in 2^53.
fn scale_float(a: &Attribute<'_>) -> f64 {
    let (v, unit) = match a {
        Attribute::Int(i, u) => (*i as f64, *u),
        Attribute::Float(f, u) => (*f, *u),
        _ => return f64::NAN,
    };
    match unit {
        None => v,
        Some(u) if u.inverse => v / u.multiplier as f64,
        Some(u) => v * u.multiplier as f64,
    }
}

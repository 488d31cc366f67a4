//! The client's declared devices (orch's `client { device "vendor/type/model" { ids,
//! attributes } }`): devices an operator says the machine has, offered to the scheduler
//! beside the fingerprinted ones, so machines without the hardware (CI, a laptop) can
//! run and test jobs that ask for GPUs or other devices. Nomad learns devices only from
//! device plugins.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

use super::ConfigError;

/// `client.device "vendor/type/model"` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeclaredDevice {
    /// The instances' IDs (what tasks see in `NVIDIA_VISIBLE_DEVICES` or
    /// `ORCH_DEVICE_<VENDOR>_<TYPE>`).
    pub ids: Vec<String>,
    /// Attributes for device constraints and affinities (`memory = "16 GiB"`), as text
    /// with units the way Nomad's device plugins report them; numbers and bools are
    /// taken as their text.
    pub attributes: BTreeMap<String, AttributeText>,
}

/// An attribute value written as a string, number or bool, kept as its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeText(pub String);

impl<'de> Deserialize<'de> for AttributeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = AttributeText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, number or bool")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AttributeText, E> {
                Ok(AttributeText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AttributeText, E> {
                Ok(AttributeText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AttributeText, E> {
                Ok(AttributeText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<AttributeText, E> {
                Ok(AttributeText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AttributeText, E> {
                Ok(AttributeText(v.to_string()))
            }
        }
        d.deserialize_any(Text)
    }
}

/// A vendor, type or attribute name: letters, digits, `-`, `_`, `.`.
fn plain_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The `vendor/type/model` label split in three, or why it is not one.
pub fn split_name(name: &str) -> Result<(&str, &str, &str), String> {
    let mut parts = name.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(v), Some(t), Some(m))
            if plain_word(v) && plain_word(t) && !m.trim().is_empty() && !m.contains('/') =>
        {
            Ok((v, t, m))
        }
        _ => Err(format!(
            "{name:?} is not a device name of the form \"vendor/type/model\" (such as \"nvidia/gpu/Tesla T4\"; vendor and type in letters, digits, '-', '_' or '.')"
        )),
    }
}

/// Checks every declared device; an error names the block and the field. Instance IDs
/// must be unique across all declared devices (they identify what a task gets).
pub fn check(devices: &BTreeMap<String, DeclaredDevice>) -> Result<(), ConfigError> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (name, d) in devices {
        let at = |field: &str, why: String| {
            ConfigError::Flag(format!("client.device {name:?}.{field}: {why}"))
        };
        split_name(name).map_err(|e| ConfigError::Flag(format!("client.device: {e}")))?;
        if d.ids.is_empty() {
            return Err(at(
                "ids",
                "list at least one instance ID (ids = [\"gpu0\"])".into(),
            ));
        }
        for (i, id) in d.ids.iter().enumerate() {
            if id.is_empty() || id.chars().any(|c| c == ',' || c.is_whitespace()) {
                return Err(at(
                    &format!("ids[{i}]"),
                    format!(
                        "{id:?} must be non-empty, without commas or spaces (tasks get the IDs comma-separated)"
                    ),
                ));
            }
            if !seen.insert(id) {
                return Err(at(
                    &format!("ids[{i}]"),
                    format!("{id:?} is declared twice; every instance ID must be unique"),
                ));
            }
        }
        for key in d.attributes.keys() {
            if !plain_word(key) {
                return Err(at(
                    "attributes",
                    format!("{key:?} is not an attribute name (letters, digits, '-', '_', '.')"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(hcl: &str) -> Result<BTreeMap<String, DeclaredDevice>, ConfigError> {
        #[derive(Deserialize)]
        struct Client {
            device: BTreeMap<String, DeclaredDevice>,
        }
        let c: Client = hcl::from_str(hcl).map_err(|e| ConfigError::Flag(e.to_string()))?;
        check(&c.device)?;
        Ok(c.device)
    }

    #[test]
    fn declared_devices_parse_with_typed_attributes() {
        let d = parse(
            r#"
            device "nvidia/gpu/Tesla T4" {
              ids = ["GPU-a", "GPU-b"]
              attributes {
                memory = "16 GiB"
                cuda_cores = 2560
                mig = false
              }
            }
            "#,
        )
        .unwrap();
        let t4 = &d["nvidia/gpu/Tesla T4"];
        assert_eq!(t4.ids, vec!["GPU-a", "GPU-b"]);
        assert_eq!(t4.attributes["memory"].0, "16 GiB");
        assert_eq!(t4.attributes["cuda_cores"].0, "2560");
        assert_eq!(t4.attributes["mig"].0, "false");
    }

    #[test]
    fn bad_declarations_name_the_field() {
        let err = |hcl: &str| parse(hcl).unwrap_err().to_string();
        assert!(err(r#"device "nvidia/gpu" { ids = ["a"] }"#).contains("vendor/type/model"));
        assert!(err(r#"device "a/b/c" { }"#).contains("client.device \"a/b/c\".ids"));
        assert!(err(r#"device "a/b/c" { ids = ["x,y"] }"#).contains(".ids[0]"));
        let twice = err(r#"
            device "a/b/c" { ids = ["x"] }
            device "a/b/d" { ids = ["x"] }
        "#);
        assert!(twice.contains("declared twice"), "{twice}");
        assert!(
            err(r#"device "a/b/c" { ids = ["x"] attributes { "a b" = 1 } }"#)
                .contains("attributes")
        );
        assert!(err(r#"device "a/b/c" { ids = ["x"] count = 2 }"#).contains("count"));
    }
}

//! Nomad's CSI volume specification files (`nomad volume register|create <file>`), in
//! HCL, turned into the API's `CSIVolume` JSON with the same decoder jobspecs use, so
//! errors carry a line and column and unknown attributes are refused by name.
//!
//! Capacities are human sizes (`"10GiB"`, `"500M"`) as Nomad's CLI reads them: SI
//! suffixes are powers of 1000, `i` suffixes powers of 1024.

use serde_json::{Map, Value};

use super::convert::Kind;
use super::decode::{Attr, Blk, Decoder, Mode, Schema};
use super::error::{Diagnostic, JobspecError, SourceMap};
use super::schema_job::{a, b};

static CAPABILITY: Schema = Schema {
    name: "capability",
    attrs: &[
        a!("access_mode", "AccessMode", Str),
        a!("attachment_mode", "AttachmentMode", Str),
    ],
    blocks: &[],
};

static MOUNT_OPTIONS: Schema = Schema {
    name: "mount_options",
    attrs: &[
        a!("fs_type", "FSType", Str),
        a!("mount_flags", "MountFlags", StrList),
    ],
    blocks: &[],
};

static TOPOLOGY: Schema = Schema {
    name: "topology",
    attrs: &[a!("segments", "Segments", StrMap)],
    blocks: &[],
};

static TOPOLOGIES: Schema = Schema {
    name: "required/preferred",
    attrs: &[],
    blocks: &[b!("topology", "Topologies", Mode::Repeated, TOPOLOGY)],
};

static TOPOLOGY_REQUEST: Schema = Schema {
    name: "topology_request",
    attrs: &[],
    blocks: &[
        b!("required", "Required", Mode::Single, TOPOLOGIES),
        b!("preferred", "Preferred", Mode::Single, TOPOLOGIES),
    ],
};

static VOLUME: Schema = Schema {
    name: "volume",
    attrs: &[
        a!("id", "ID", Str),
        a!("name", "Name", Str),
        a!("namespace", "Namespace", Str),
        a!("type", "Type", Str),
        a!("plugin_id", "PluginID", Str),
        a!("external_id", "ExternalID", Str),
        a!("snapshot_id", "SnapshotID", Str),
        a!("clone_id", "CloneID", Str),
        a!("capacity_min", "CapacityMin", Str),
        a!("capacity_max", "CapacityMax", Str),
        a!("secrets", "Secrets", StrMap),
        a!("parameters", "Parameters", StrMap),
        a!("context", "Context", StrMap),
    ],
    blocks: &[
        b!(
            "capability",
            "RequestedCapabilities",
            Mode::Repeated,
            CAPABILITY
        ),
        b!("mount_options", "MountOptions", Mode::Single, MOUNT_OPTIONS),
        b!(
            "topology_request",
            "RequestedTopologies",
            Mode::Single,
            TOPOLOGY_REQUEST
        ),
    ],
};

/// Parses a volume specification into the API's `CSIVolume` JSON (what `PUT
/// /v1/volume/csi/:id` takes inside `Volumes`). `type` must be `csi`: orch has no
/// dynamic host volumes.
pub fn parse_volume_spec(src: &str, filename: &str) -> Result<Value, JobspecError> {
    let sm = SourceMap::new(src, filename);
    let fail = |line, column, message: String| JobspecError {
        diagnostics: vec![Diagnostic {
            filename: filename.to_string(),
            line,
            column,
            message,
        }],
    };
    if let Some(offset) = super::guard::too_deep(src) {
        let (line, column) = sm.position(offset);
        return Err(fail(line, column, "expressions nest too deeply".into()));
    }
    let body = hcl::edit::parser::parse_body(src).map_err(|e| {
        let (line, column) = sm.position(e.location().offset());
        fail(
            line,
            column,
            format!("syntax error: {}", e.message().replace('\n', "; ")),
        )
    })?;
    let mut d = Decoder::new(&sm);
    let mut vol = d.decode_body(&body, &VOLUME);
    if !d.diags.is_empty() {
        return Err(JobspecError {
            diagnostics: d.diags,
        });
    }
    finish(&mut vol).map_err(|m| fail(1, 1, m))?;
    Ok(Value::Object(vol))
}

/// The checks and reshaping the schema cannot express.
fn finish(vol: &mut Map<String, Value>) -> Result<(), String> {
    match vol.remove("Type").as_ref().and_then(Value::as_str) {
        Some("csi") => {}
        Some("host") => {
            return Err(
                "type = \"host\": dynamic host volumes are not supported by orch; declare the volume in the client's host_volume block instead".into(),
            );
        }
        Some(other) => return Err(format!("type = {other:?}: expected \"csi\"")),
        None => return Err("type: required; set type = \"csi\"".into()),
    }
    for (hcl, key, out) in [
        ("capacity_min", "CapacityMin", "RequestedCapacityMin"),
        ("capacity_max", "CapacityMax", "RequestedCapacityMax"),
    ] {
        if let Some(v) = vol.remove(key) {
            let text = v.as_str().unwrap_or_default();
            let bytes = parse_bytes(text).ok_or_else(|| {
                format!("{hcl} = {text:?}: expected a size such as \"10GiB\" or \"500MB\"")
            })?;
            vol.insert(out.into(), Value::from(bytes));
        }
    }
    if let Some(Value::Object(req)) = vol.get_mut("RequestedTopologies") {
        for side in ["Required", "Preferred"] {
            let list = req
                .get_mut(side)
                .and_then(|v| v.as_object_mut())
                .and_then(|o| o.remove("Topologies"))
                .unwrap_or(Value::Array(vec![]));
            req.insert(side.into(), list);
        }
    }
    Ok(())
}

/// A human size in bytes: `"10GiB"`, `"20G"`, `"1.5TB"`, `"1024"`.
pub fn parse_bytes(text: &str) -> Option<i64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "p" | "pb" => 1e15,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0_f64.powi(2),
        "gi" | "gib" => 1024.0_f64.powi(3),
        "ti" | "tib" => 1024.0_f64.powi(4),
        "pi" | "pib" => 1024.0_f64.powi(5),
        _ => return None,
    };
    let bytes = n * mult;
    (0.0..9.0e18).contains(&bytes).then_some(bytes as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
id        = "mysql"
name      = "database"
type      = "csi"
plugin_id = "hostpath"
capacity_min = "10GiB"
capacity_max = "20G"

capability {
  access_mode     = "single-node-writer"
  attachment_mode = "file-system"
}
capability {
  access_mode     = "single-node-reader-only"
  attachment_mode = "file-system"
}
mount_options {
  fs_type     = "ext4"
  mount_flags = ["noatime"]
}
topology_request {
  required {
    topology {
      segments { rack = "R1" }
    }
  }
}
secrets { example_secret = "xyz" }
parameters { skuname = "Premium_LRS" }
"#;

    #[test]
    fn a_nomad_spec_becomes_the_api_shape() {
        let v = parse_volume_spec(SPEC, "vol.hcl").unwrap();
        assert_eq!(v["ID"], "mysql");
        assert_eq!(v["PluginID"], "hostpath");
        assert_eq!(v["RequestedCapacityMin"], 10 * 1024 * 1024 * 1024_i64);
        assert_eq!(v["RequestedCapacityMax"], 20_000_000_000_i64);
        assert_eq!(v["RequestedCapabilities"].as_array().unwrap().len(), 2);
        assert_eq!(v["MountOptions"]["MountFlags"][0], "noatime");
        assert_eq!(
            v["RequestedTopologies"]["Required"][0]["Segments"]["rack"],
            "R1"
        );
        assert_eq!(v["Secrets"]["example_secret"], "xyz");
        let model: crate::model::csi::CsiVolume = serde_json::from_value(v).unwrap();
        assert_eq!(
            model.requested_capabilities[1].access_mode,
            "single-node-reader-only"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let e = parse_volume_spec("id = \"x\"\ntype = \"csi\"\nplugin = \"p\"\n", "v.hcl")
            .unwrap_err()
            .to_string();
        assert!(e.contains("plugin") && e.contains("v.hcl:3"), "{e}");
        let e = parse_volume_spec("id = \"x\"\ntype = \"host\"\n", "v.hcl")
            .unwrap_err()
            .to_string();
        assert!(e.contains("dynamic host volumes"), "{e}");
        let e = parse_volume_spec("type = \"csi\"\ncapacity_min = \"ten\"\n", "v.hcl")
            .unwrap_err()
            .to_string();
        assert!(e.contains("capacity_min"), "{e}");
        assert!(parse_volume_spec("id = ", "v.hcl").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("1KiB"), Some(1024));
        assert_eq!(parse_bytes("1.5k"), Some(1500));
        assert_eq!(parse_bytes("7"), Some(7));
        assert_eq!(parse_bytes("1XB"), None);
        assert_eq!(parse_bytes("99999999PiB"), None);
    }
}

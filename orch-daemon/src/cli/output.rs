//! Output every verb shares besides tables ([`super::table`]): the API object of
//! `-json` (indented by four spaces, as Nomad's encoder does) and `-t <template>` (Go
//! `text/template` over that object's JSON form, as Nomad's `-t` runs over the same
//! object).

use std::process::ExitCode;

use super::flags::Parsed;

/// Whether `-json` or `-t` asks for the API object instead of the human output.
pub fn asked(p: &Parsed) -> bool {
    p.has("json") || p.has("t")
}

/// Prints `v` as `-json` or `-t` ask (both at once is Nomad's usage error).
pub fn print(p: &Parsed, v: &serde_json::Value) -> Result<ExitCode, String> {
    print_out(&format(p.has("json"), p.last("t"), v)?)
}

/// `v` as `-json` (`json`) or a `-t` template gives it; Nomad's `Format`.
pub fn format(json: bool, template: Option<&str>, v: &serde_json::Value) -> Result<String, String> {
    match (json, template) {
        (true, Some(_)) => Err("Both json and template formatting are not allowed".into()),
        (_, Some("")) => {
            Err("template needs to be specified in golang's text/template format.".into())
        }
        (_, Some(t)) => crate::client::template::render_json(t, v)
            .map_err(|e| format!("Error formatting the data: {e}")),
        (_, None) => json_text(v),
    }
}

/// `v` indented by four spaces, Nomad's `-json` layout.
pub fn json_text(v: &serde_json::Value) -> Result<String, String> {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser)
        .map_err(|e| format!("cannot encode JSON: {e}"))?;
    String::from_utf8(buf).map_err(|e| format!("cannot encode JSON: {e}"))
}

/// Prints a JSON value, indented.
pub fn print_json(v: &serde_json::Value) -> Result<ExitCode, String> {
    print_out(&json_text(v)?)
}

/// Writes `s` and a newline to standard output.
fn print_out(s: &str) -> Result<ExitCode, String> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{s}") {
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to standard output: {e}"))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Prints `question` and reads the answer from stdin: `true` for y or yes (Nomad's
/// confirmation prompts; verbs skip them under `-yes`).
pub fn confirm(question: &str) -> Result<bool, String> {
    use std::io::BufRead;
    println!("{question} [y/N]");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_indented_by_four_spaces() {
        let v = json!({"ID": "a", "List": [1]});
        assert_eq!(
            format(true, None, &v).unwrap(),
            "{\n    \"ID\": \"a\",\n    \"List\": [\n        1\n    ]\n}"
        );
    }

    #[test]
    fn templates_run_over_the_json_form() {
        let v = json!([{"ID": "web", "Count": 3, "Meta": {"a": "1"}, "Ratio": 0.5},
                       {"ID": "db", "Count": 1, "Meta": {}, "Ratio": 2.0}]);
        let t = "{{range .}}{{.ID}}={{.Count}} {{end}}";
        assert_eq!(format(false, Some(t), &v).unwrap(), "web=3 db=1 ");
        let t =
            "{{range $i, $j := .}}{{if eq $j.ID \"web\"}}{{$j.Meta.a}} {{$j.Ratio}}{{end}}{{end}}";
        assert_eq!(format(false, Some(t), &v).unwrap(), "1 0.5");
        assert_eq!(format(false, Some("{{len .}}"), &v).unwrap(), "2");
        let t = "{{with index . 0}}{{.ID}} {{index .Meta \"a\"}}{{end}}{{println}}";
        assert_eq!(format(false, Some(t), &v).unwrap(), "web 1\n");
    }

    #[test]
    fn json_and_template_together_or_an_empty_template_are_errors() {
        let v = json!({});
        assert_eq!(
            format(true, Some("{{.}}"), &v).unwrap_err(),
            "Both json and template formatting are not allowed"
        );
        assert!(
            format(false, Some(""), &v)
                .unwrap_err()
                .contains("text/template")
        );
        let e = format(false, Some("{{.Missing.Field}}"), &json!({"A": 1})).unwrap_err();
        assert!(e.starts_with("Error formatting the data: template:"), "{e}");
        let e = format(false, Some("{{ if }}"), &v).unwrap_err();
        assert!(e.contains("template"), "{e}");
    }
}

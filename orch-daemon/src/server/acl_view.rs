//! How ACL tokens look outside the state: Nomad's JSON, as the API answers it and the
//! event stream carries it. The state keeps only a secret's hash; this view never shows
//! it, and shows the secret itself only where the caller passes it in.

use orch_core::model::acl::AclToken;
use serde_json::{Value, json};

/// A Unix-nanosecond time as Nomad's RFC 3339 string, `null` for 0 (never).
fn rfc3339(nanos: i64) -> Value {
    if nanos == 0 {
        Value::Null
    } else {
        json!(crate::clock::rfc3339_nanos(nanos))
    }
}

/// A token in Nomad's JSON; `secret` only where the caller may see it (the answer that
/// created it, `token/self`), an empty `SecretID` everywhere else.
pub fn token_json(t: &AclToken, secret: Option<&str>) -> Value {
    json!({
        "AccessorID": t.accessor_id,
        "SecretID": secret.unwrap_or(""),
        "Name": t.name,
        "Type": t.token_type,
        "Policies": t.policies,
        "Roles": t.roles,
        "Global": t.global,
        "CreateTime": rfc3339(t.create_time),
        "ExpirationTime": rfc3339(t.expiration_time),
        "ExpirationTTL": t.expiration_ttl,
        "CreateIndex": t.create_index,
        "ModifyIndex": t.modify_index,
    })
}

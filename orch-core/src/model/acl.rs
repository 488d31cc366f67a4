//! ACL objects as the state stores them: policies, tokens and roles (Nomad's
//! `ACLPolicy`, `ACLToken`, `ACLRole`).
//!
//! One deliberate difference from Nomad: a token keeps only the SHA-256 of its secret
//! (`SecretHash`), never the secret itself, so a snapshot, a Raft log or a stolen data
//! directory gives nobody a usable token. The HTTP layer hashes what callers present and
//! hands a secret out exactly once, when the token is created.

use serde::{Deserialize, Serialize};

/// Token types (`Type`).
pub mod token_type {
    /// Rights come from the token's policies and roles.
    pub const CLIENT: &str = "client";
    /// Every right; what `acl bootstrap` creates.
    pub const MANAGEMENT: &str = "management";
}

/// The name of the policy applied to requests without a token (Nomad's anonymous token).
pub const ANONYMOUS_POLICY: &str = "anonymous";

/// A named set of rules in Nomad's policy language.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclPolicy {
    /// Unique name (`^[a-zA-Z0-9-]{1,128}$`).
    #[serde(rename = "Name")]
    pub name: String,
    /// Free text for operators.
    #[serde(rename = "Description")]
    pub description: String,
    /// The rules, HCL or JSON, as submitted (validated when applied).
    #[serde(rename = "Rules")]
    pub rules: String,
    /// Raft index that created it.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index that last changed it.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

/// The workload a policy is attached to: every job of a namespace (`JobID` empty), one
/// job, one of its groups or one task of a group (Nomad's `JobACL`). Kept beside the
/// policy (`StateStore::acl_policy_job`), not in it, so the policy's stored layout (and
/// the snapshot format) stays as it was.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JobAcl {
    /// The jobs' namespace.
    #[serde(rename = "Namespace", default)]
    pub namespace: String,
    /// The job (a dispatched or periodic child matches its parent's ID); empty: all.
    #[serde(rename = "JobID", default)]
    pub job_id: String,
    /// The task group; empty: every group.
    #[serde(rename = "Group", default)]
    pub group: String,
    /// The task; empty: every task of the group.
    #[serde(rename = "Task", default)]
    pub task: String,
}

impl JobAcl {
    /// Why this attachment is malformed, in Nomad's words, or `None`.
    pub fn problem(&self) -> Option<&'static str> {
        if self.namespace.is_empty() {
            Some("namespace must be set to attach a policy to a workload")
        } else if !self.group.is_empty() && self.job_id.is_empty() {
            Some("job ID must be set to set group")
        } else if !self.task.is_empty() && self.group.is_empty() {
            Some("group must be set to set task")
        } else {
            None
        }
    }

    /// Whether a task `task` of group `group` of job `job_id` in `namespace` is the
    /// workload this names (Nomad's match: job, then group, then task).
    pub fn matches(&self, namespace: &str, job_id: &str, group: &str, task: &str) -> bool {
        self.namespace == namespace
            && (self.job_id.is_empty()
                || (self.job_id == job_id
                    && (self.group.is_empty()
                        || (self.group == group && (self.task.is_empty() || self.task == task)))))
    }
}

/// A token's link to a role: by ID (the name is filled in from the role).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclTokenRoleLink {
    /// Role ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Role name.
    #[serde(rename = "Name")]
    pub name: String,
}

/// A bearer credential: who presents its secret gets its policies' rights.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclToken {
    /// Public ID, safe to log and to list.
    #[serde(rename = "AccessorID")]
    pub accessor_id: String,
    /// Hex SHA-256 of the secret; the secret itself is never stored.
    #[serde(rename = "SecretHash")]
    pub secret_hash: String,
    /// Free text for operators.
    #[serde(rename = "Name")]
    pub name: String,
    /// [`token_type`]: `client` or `management`.
    #[serde(rename = "Type")]
    pub token_type: String,
    /// Policy names (client tokens).
    #[serde(rename = "Policies")]
    pub policies: Vec<String>,
    /// Roles whose policies the token also has.
    #[serde(rename = "Roles")]
    pub roles: Vec<AclTokenRoleLink>,
    /// Replicated to every region (one region per cluster in orch: recorded only).
    #[serde(rename = "Global")]
    pub global: bool,
    /// Unix nanoseconds of creation.
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
    /// Unix nanoseconds after which the token is refused; 0: never expires.
    #[serde(rename = "ExpirationTime")]
    pub expiration_time: i64,
    /// The TTL the token was created with, in nanoseconds (0: none).
    #[serde(rename = "ExpirationTTL")]
    pub expiration_ttl: i64,
    /// Raft index that created it.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index that last changed it.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

impl AclToken {
    /// Whether the token is a management token.
    pub fn is_management(&self) -> bool {
        self.token_type == token_type::MANAGEMENT
    }

    /// Whether the token has expired at `now` (Unix nanoseconds).
    pub fn expired(&self, now: i64) -> bool {
        self.expiration_time != 0 && self.expiration_time <= now
    }
}

/// A role's link to a policy, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclRolePolicyLink {
    /// Policy name.
    #[serde(rename = "Name")]
    pub name: String,
}

/// A named group of policies that tokens link to, so a change reaches every holder.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclRole {
    /// Unique ID (a UUID the API assigns).
    #[serde(rename = "ID")]
    pub id: String,
    /// Unique name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Free text for operators.
    #[serde(rename = "Description")]
    pub description: String,
    /// The policies the role grants.
    #[serde(rename = "Policies")]
    pub policies: Vec<AclRolePolicyLink>,
    /// Raft index that created it.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index that last changed it.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

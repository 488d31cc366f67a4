//! The jobspecs the browser tests run: a ticking batch job, jobs that cannot be
//! placed (an impossible constraint, too much memory, a missing node meta), a slow
//! service and a canary job.

/// A batch job whose task prints `tick N` every half second.
pub(super) const TICKER: &str = r#"job "ticker" {
  datacenters = ["dc1"]
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", "i=0; while [ $i -lt 1200 ]; do i=$((i+1)); echo tick $i; sleep 0.5; done"]
      }
      resources {
        cpu = 300
        memory = 128
      }
    }
  }
}"#;

/// A job no node can take: its constraint asks for Windows.
pub(super) const IMPOSSIBLE: &str = r#"job "impossible" {
  datacenters = ["dc1"]
  type = "batch"
  constraint {
    attribute = "${attr.kernel.name}"
    value     = "windows"
  }
  group "g" {
    count = 2
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}"#;

/// A job asking for more memory than any node has.
pub(super) const TOO_BIG: &str = r#"job "too-big" {
  datacenters = ["dc1"]
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      resources {
        memory = 100000000
      }
    }
  }
}"#;

/// A job that waits for node metadata the test sets later.
pub(super) const WAITS_FOR_META: &str = r#"job "waits" {
  datacenters = ["dc1"]
  type = "batch"
  constraint {
    attribute = "${meta.ui_ready}"
    value     = "yes"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", "sleep 600"]
      }
      resources {
        cpu = 50
        memory = 16
      }
    }
  }
}"#;

/// A service whose deployment stays running (its allocation must stay healthy a minute).
pub(super) const SLOW_SERVICE: &str = r#"job "svc" {
  datacenters = ["dc1"]
  update {
    max_parallel     = 1
    min_healthy_time = "1m"
    healthy_deadline = "5m"
    progress_deadline = "10m"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", "sleep 600"]
      }
      resources {
        cpu = 100
        memory = 32
      }
    }
  }
}"#;

/// A canary deployment of `version` (its `VERSION` env), healthy after a second.
pub(super) fn canary_job(version: u32) -> String {
    format!(
        r#"job "canary" {{
  update {{
    canary           = 1
    max_parallel     = 1
    min_healthy_time = "1s"
    healthy_deadline = "2m"
  }}
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      env {{
        VERSION = "{version}"
      }}
      config {{
        command = "/bin/sh"
        args = ["-c", "sleep 600"]
      }}
      resources {{
        cpu = 50
        memory = 16
      }}
    }}
  }}
}}"#
    )
}

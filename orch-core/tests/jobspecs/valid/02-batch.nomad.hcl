job "report" {
  datacenters = ["dc1"]
  type        = "batch"

  group "gen" {
    restart {
      attempts = 3
      delay    = "30s"
      interval = "10m"
      mode     = "fail"
    }

    reschedule {
      attempts       = 5
      interval       = "1h"
      delay          = "30s"
      delay_function = "exponential"
      max_delay      = "10m"
      unlimited      = false
    }

    task "run" {
      driver = "exec"

      config {
        command = "/usr/local/bin/report"
        args    = ["--out", "${NOMAD_ALLOC_DIR}/out.csv"]
      }
    }
  }
}

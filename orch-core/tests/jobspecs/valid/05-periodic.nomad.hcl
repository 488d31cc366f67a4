job "backup" {
  type = "batch"

  periodic {
    cron             = "0 3 * * *"
    prohibit_overlap = true
    time_zone        = "Europe/Paris"
  }

  group "backup" {
    task "dump" {
      driver = "docker"

      config {
        image   = "postgres:16"
        command = "pg_dumpall"
      }
    }
  }
}

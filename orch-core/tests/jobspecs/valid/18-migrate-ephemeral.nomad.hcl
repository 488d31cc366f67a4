job "cache" {
  migrate {
    max_parallel     = 1
    health_check     = "checks"
    min_healthy_time = "15s"
    healthy_deadline = "3m"
  }

  group "cache" {
    ephemeral_disk {
      sticky  = true
      migrate = true
      size    = 1024
    }

    task "redis" {
      driver = "docker"
      config {
        image = "redis:7"
      }

      logs {
        max_files     = 3
        max_file_size = 15
      }
    }
  }
}

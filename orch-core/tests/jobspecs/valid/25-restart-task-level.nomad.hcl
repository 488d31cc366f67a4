job "svc" {
  all_at_once = true
  namespace   = "apps"

  reschedule {
    delay     = "5s"
    unlimited = true
  }

  group "g" {
    restart {
      attempts         = 2
      interval         = "30m"
      delay            = "15s"
      mode             = "delay"
      render_templates = true
    }

    task "t" {
      driver = "docker"

      restart {
        attempts = 1
        delay    = "20m30s"
      }

      config {
        image = "x"
      }

      resources {
        cores  = 2
        memory = 512
      }
    }
  }
}

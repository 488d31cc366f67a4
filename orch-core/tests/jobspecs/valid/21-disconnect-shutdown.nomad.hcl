job "edge" {
  group "g" {
    shutdown_delay        = "5s"

    disconnect {
      lost_after = "30m"
      replace    = false
      reconcile  = "keep_original"
    }

    task "t" {
      driver         = "docker"
      shutdown_delay = "3s"
      kind           = "service"

      config {
        image = "x"
      }
    }
  }
}

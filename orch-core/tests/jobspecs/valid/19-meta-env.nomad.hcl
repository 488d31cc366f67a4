job "meta" {
  meta {
    owner   = "team-a"
    version = 3
  }

  group "g" {
    meta = {
      "rack.preferred" = "r1"
      enabled          = true
    }

    task "t" {
      driver = "docker"
      config {
        image = "x"
      }

      env = {
        "JAVA_OPTS" = "-Xmx1g"
        PORT        = 8080
      }

      meta {
        component = "worker"
      }
    }
  }
}

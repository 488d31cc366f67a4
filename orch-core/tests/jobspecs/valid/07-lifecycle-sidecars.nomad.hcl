job "app" {
  group "app" {
    task "init-db" {
      driver = "docker"

      lifecycle {
        hook    = "prestart"
        sidecar = false
      }

      config {
        image = "migrate:latest"
      }
    }

    task "log-shipper" {
      driver = "docker"

      lifecycle {
        hook    = "poststart"
        sidecar = true
      }

      config {
        image = "fluent-bit:2"
      }
    }

    task "main" {
      driver = "docker"
      leader = true

      config {
        image = "app:1"
      }
    }
  }
}

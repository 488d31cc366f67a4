job "checks" {
  group "g" {
    network {
      mode = "bridge"
      port "http" {}
      port "grpc" {}
    }

    service {
      name     = "api"
      port     = "http"
      provider = "nomad"

      check {
        name     = "http-ready"
        type     = "http"
        path     = "/ready"
        method   = "POST"
        body     = "{}"
        interval = "15s"
        timeout  = "3s"

        header {
          Authorization = ["Bearer x"]
          X-Trace       = ["1", "2"]
        }

        check_restart {
          limit           = 3
          grace           = "90s"
          ignore_warnings = false
        }
      }

      check {
        type            = "grpc"
        port            = "grpc"
        interval        = "5s"
        timeout         = "1s"
        grpc_use_tls    = true
        tls_skip_verify = true
      }

      check {
        type     = "script"
        command  = "/bin/check"
        args     = ["-v"]
        task     = "api"
        interval = "1m"
        timeout  = "10s"
      }
    }

    task "api" {
      driver = "docker"
      config {
        image = "api:1"
      }
    }
  }
}

# A small web service: two Python HTTP servers on dynamic ports, spread over nodes.
# Validate it with:  cargo run -p orch-daemon -- job validate examples/web.nomad.hcl

variable "replicas" {
  type        = number
  default     = 2
  description = "How many web servers to run"
}

job "web" {
  datacenters = ["*"]
  type        = "service"

  update {
    max_parallel     = 1
    min_healthy_time = "5s"
    healthy_deadline = "1m"
  }

  group "frontend" {
    count = var.replicas

    network {
      port "http" {}
    }

    restart {
      attempts = 3
      delay    = "5s"
    }

    task "server" {
      driver = "raw_exec"

      config {
        command = "python3"
        args    = ["-m", "http.server", "${NOMAD_PORT_http}", "--bind", "127.0.0.1"]
      }

      env {
        GREETING = "hello from ${NOMAD_ALLOC_INDEX}"
      }

      resources {
        cpu    = 100
        memory = 64
      }

      service {
        name     = "web"
        port     = "http"
        provider = "nomad"

        check {
          type     = "http"
          path     = "/"
          interval = "10s"
          timeout  = "2s"
        }
      }
    }
  }
}

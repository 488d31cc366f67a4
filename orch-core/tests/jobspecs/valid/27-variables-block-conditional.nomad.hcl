variables {
  enable_debug = false
  log_level    = "info"
}

variable "ports" {
  type = map(number)
  default = {
    http = 8080
  }
}

variable "region" {
  type    = string
  default = "eu"

  validation {
    condition     = contains(["eu", "us"], var.region)
    error_message = "Region must be eu or us."
  }
}

job "cond" {
  region = var.region

  group "g" {
    network {
      port "http" {
        to = var.ports["http"]
      }
    }

    task "t" {
      driver = "docker"
      config {
        image = "x"
        args  = var.enable_debug ? ["--debug"] : ["--log-level", var.log_level]
      }
    }
  }
}

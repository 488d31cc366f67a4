variable "image_tag" {
  type        = string
  default     = "1.0.0"
  description = "Image tag to deploy"
}

variable "replicas" {
  type    = number
  default = 2
}

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

variable "env" {
  type = string
}

locals {
  image = "registry.example.com/app:${var.image_tag}"
  name  = "app-${var.env}"
}

locals {
  labels = {
    env  = var.env
    team = "platform"
  }
}

job "app" {
  name        = local.name
  datacenters = var.datacenters
  meta        = local.labels

  group "app" {
    count = var.replicas * 2

    task "app" {
      driver = "docker"

      config {
        image = local.image
      }

      env {
        ENVIRONMENT = upper(var.env)
        REPLICAS    = var.replicas
        DEBUG       = false
      }
    }
  }
}

variable "image" {
  default = "nginx"
}

job "web" {
  group "g" {
    task "t" {
      driver = "docker"
      config {
        image = var.imag
      }
    }
  }
}

variable "version" {
  type = string
}

job "web" {
  meta {
    version = var.version
  }
}

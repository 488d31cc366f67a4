job "web" {
  group "g" {
    task "t" {
      driver = "docker"
      resources {
        cpus   = 500
        memory = 256
      }
    }
  }
}

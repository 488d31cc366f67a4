job "web" {
  group "g" {
    task "t" {
      driver = "docker"
      scaling "disk" {
        max = 10
      }
    }
  }
}

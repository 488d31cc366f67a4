job "web" {
  priority = "high"

  group "g" {
    count = 1
    colour = "blue"

    task "t" {
      driver       = "docker"
      kill_timeout = "forever"
    }
  }
}

job "web" {
  group "g" {
    restart {
      attempts = 2
      delay    = "15 seconds"
    }
  }
}

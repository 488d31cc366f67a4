job "web" {
  group "g" {
    health {
      path = "/"
    }
  }
}

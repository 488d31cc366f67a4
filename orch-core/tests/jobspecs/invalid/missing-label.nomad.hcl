job "web" {
  group {
    count = 1
  }
}

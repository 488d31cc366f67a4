job "web" {
  group "g" {
    count = "three"
  }
}

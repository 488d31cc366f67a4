job "web" {
  meta {
    team = "a"
    nested {
      x = 1
    }
  }
}

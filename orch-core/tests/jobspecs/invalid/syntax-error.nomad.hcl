job "x" {
  group "g" {
    count = 
  }
}

job "web" {
  group "g" {
    task "t" {
      driver = "docker"
      template {
        data        = file("app.tpl")
        destination = "local/app"
      }
    }
  }
}

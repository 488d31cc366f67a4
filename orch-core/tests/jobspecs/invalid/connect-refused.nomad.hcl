job "mesh" {
  group "g" {
    service {
      name = "api"
      connect {
        sidecar_service {}
      }
    }
  }
}

job "net" {
  group "g" {
    network {
      mode     = "bridge"
      hostname = "web-${NOMAD_ALLOC_INDEX}"
      mbits    = 10

      port "http" {
        static       = 80
        to           = 8080
        host_network = "public"
      }

      port "admin" {
        to = 9000
      }

      dns {
        servers  = ["1.1.1.1", "8.8.8.8"]
        searches = ["svc.local"]
        options  = ["ndots:2"]
      }
    }

    task "t" {
      driver = "docker"
      config {
        image = "x"
      }
    }
  }
}

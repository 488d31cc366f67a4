job "docker-config" {
  group "g" {
    task "t" {
      driver = "docker"

      config {
        image      = "app:1"
        force_pull = true
        shm_size   = 134217728
        labels = {
          team = "a"
        }
        mounts = [
          {
            type   = "bind"
            source = "/etc/ssl"
            target = "/etc/ssl"
          }
        ]

        logging {
          type = "syslog"
          config {
            tag = "app"
          }
        }

        port_map {
          http = 80
        }

        mount {
          type   = "volume"
          target = "/data"
        }

        mount {
          type   = "tmpfs"
          target = "/tmp"
        }
      }
    }
  }
}

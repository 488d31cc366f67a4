job "db" {
  group "db" {
    volume "data" {
      type      = "host"
      source    = "pg-data"
      read_only = false
    }

    volume "certs" {
      type            = "csi"
      source          = "certs-vol"
      access_mode     = "single-node-reader-only"
      attachment_mode = "file-system"
      per_alloc       = true
      read_only       = true

      mount_options {
        fs_type     = "ext4"
        mount_flags = ["noatime"]
      }
    }

    task "postgres" {
      driver = "docker"

      volume_mount {
        volume      = "data"
        destination = "/var/lib/postgresql/data"
      }

      volume_mount {
        volume      = "certs"
        destination = "/certs"
        read_only   = true
      }

      config {
        image = "postgres:16"
      }
    }
  }
}

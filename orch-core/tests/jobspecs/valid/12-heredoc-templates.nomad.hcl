job "tmpl" {
  group "g" {
    task "t" {
      driver = "docker"

      config {
        image = "app:1"
      }

      template {
        data          = <<EOF
[server]
port = {{ env "NOMAD_PORT_http" }}
EOF
        destination   = "local/app.toml"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        splay         = "10s"
      }

      template {
        data = <<-EOT
          DB_HOST={{ key "db/host" }}
          DB_PORT=5432
          EOT
        destination = "secrets/db.env"
        env         = true
        perms       = "0600"

        wait {
          min = "2s"
          max = "10s"
        }
      }
    }
  }
}

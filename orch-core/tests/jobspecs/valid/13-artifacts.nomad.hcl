job "artifacts" {
  group "g" {
    task "t" {
      driver = "exec"

      artifact {
        source      = "https://example.com/app.tar.gz"
        destination = "local/app"
        mode        = "any"

        options {
          checksum = "sha256:abcd"
        }

        headers {
          User-Agent = "orch"
        }
      }

      artifact {
        source = "git::https://github.com/example/repo"
        chown  = true
      }

      config {
        command = "local/app/bin/app"
      }
    }
  }
}

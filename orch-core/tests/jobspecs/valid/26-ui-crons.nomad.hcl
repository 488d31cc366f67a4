job "crons" {
  type = "batch"

  ui {
    description = "Runs reports"
    link {
      label = "Docs"
      url   = "https://example.com/docs"
    }
  }

  periodic {
    crons   = ["0 * * * *", "30 * * * *"]
    enabled = true
  }

  group "g" {
    task "t" {
      driver = "exec"
      config {
        command = "true"
      }

      template {
        data        = "hello"
        destination = "local/x"

        change_script {
          command = "/bin/reload"
        }
      }
    }
  }
}

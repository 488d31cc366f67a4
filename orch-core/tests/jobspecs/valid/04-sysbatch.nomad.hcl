job "cleanup" {
  type        = "sysbatch"
  datacenters = ["dc1"]

  group "clean" {
    task "gc" {
      driver = "exec"
      user   = "nobody"

      config {
        command = "/bin/sh"
        args    = ["-c", "docker system prune -f"]
      }

      kill_timeout = "45s"
      kill_signal  = "SIGINT"
    }
  }
}

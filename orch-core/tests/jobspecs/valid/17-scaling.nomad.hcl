job "autoscaled" {
  group "web" {
    count = 2

    scaling {
      enabled = true
      min     = 1
      max     = 10

      policy {
        evaluation_interval = "10s"
        cooldown            = "1m"

        check "cpu" {
          source = "prometheus"
          query  = "avg(cpu)"

          strategy "target-value" {
            target = 70
          }
        }
      }
    }

    task "web" {
      driver = "docker"
      config {
        image = "web:1"
      }

      scaling "cpu" {
        min = 100
        max = 2000
        policy {
          cooldown = "5m"
        }
      }

      scaling "mem" {
        max = 4096
      }
    }
  }
}

job "ml" {
  group "train" {
    task "train" {
      driver = "docker"

      config {
        image = "pytorch:latest"
      }

      resources {
        cpu        = 4000
        memory     = 16384
        memory_max = 32768

        device "nvidia/gpu" {
          count = 2

          constraint {
            attribute = "${device.attr.memory}"
            operator  = ">="
            value     = "8 GiB"
          }

          affinity {
            attribute = "${device.model}"
            value     = "Tesla V100"
            weight    = 50
          }
        }
      }
    }
  }
}

job "secure" {
  vault {
    policies = ["default"]
  }

  group "g" {
    consul {
      namespace = "prod"
    }

    task "with-own-vault" {
      driver = "docker"
      config {
        image = "x"
      }

      vault {
        policies      = ["db"]
        change_mode   = "signal"
        change_signal = "SIGUSR1"
      }

      identity {
        env  = true
        file = true
      }

      identity "aws" {
        aud = ["sts.amazonaws.com"]
        ttl = "1h"
      }
    }

    task "inherits-vault" {
      driver = "docker"
      config {
        image = "y"
      }
    }
  }
}

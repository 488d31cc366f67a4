job "spread" {
  datacenters = ["us-east-1", "us-west-1"]

  spread {
    attribute = "${node.datacenter}"
    weight    = 100

    target "us-east-1" {
      percent = 60
    }

    target "us-west-1" {
      percent = 40
    }
  }

  group "api" {
    count = 10

    spread {
      attribute = "${meta.rack}"
    }

    task "api" {
      driver = "docker"
      config {
        image = "api:2"
      }
    }
  }
}

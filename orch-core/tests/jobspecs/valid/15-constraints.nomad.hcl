job "constraints" {
  constraint {
    distinct_hosts = true
  }

  constraint {
    distinct_property = "${meta.rack}"
    value             = "2"
  }

  constraint {
    attribute = "${attr.kernel.version}"
    version   = ">= 5.4"
  }

  constraint {
    attribute = "${attr.os.name}"
    regexp    = "^(ubuntu|debian)$"
  }

  constraint {
    attribute    = "${meta.features}"
    set_contains = "ssd,gpu"
  }

  constraint {
    attribute = "${attr.unique.hostname}"
    operator  = "!="
    value     = "bad-host"
  }

  affinity {
    attribute = "${node.datacenter}"
    value     = "dc1"
    weight    = -50
  }

  group "g" {
    constraint {
      attribute = "${attr.cpu.arch}"
      value     = "amd64"
    }

    task "t" {
      driver = "docker"

      constraint {
        attribute = "${attr.driver.docker.version}"
        semver    = ">= 20.10.0"
      }

      config {
        image = "x"
      }
    }
  }
}

job "node-exporter" {
  datacenters = ["*"]
  type        = "system"
  node_pool   = "all"

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  group "exporter" {
    network {
      port "metrics" {
        static = 9100
      }
    }

    task "exporter" {
      driver = "raw_exec"

      config {
        command = "node_exporter"
        args    = ["--web.listen-address=:${NOMAD_PORT_metrics}"]
      }
    }
  }
}

job "interp" {
  group "g" {
    task "t" {
      driver = "docker"

      config {
        image    = "app:1"
        hostname = "${node.unique.name}"
        args = [
          "--alloc=${NOMAD_ALLOC_INDEX}",
          "--dc=${node.datacenter}",
          "--home=${env["HOME"]}",
          "--literal=$${not_interpolated}",
        ]
      }

      env {
        REGION = "${attr.platform.aws.placement.availability-zone}"
        RACK   = "${meta.rack}"
      }
    }
  }
}

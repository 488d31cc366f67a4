variable "services" {
  type    = list(string)
  default = ["api", "worker"]
}

locals {
  suffix  = format("%s-%03d", "build", 7)
  joined  = join(",", var.services)
  count   = length(var.services)
  merged  = merge({ a = "1" }, { b = "2" })
  biggest = max(3, 9, 4)
  parts   = split("/", "a/b/c")
}

job "funcs" {
  meta {
    suffix   = local.suffix
    joined   = local.joined
    count    = local.count
    keys     = join(",", keys(local.merged))
    biggest  = local.biggest
    last     = element(local.parts, 2)
    trimmed  = trimspace("  x  ")
    replaced = replace("a-b-c", "-", "_")
    json     = jsonencode({ x = 1 })
    has_api  = contains(var.services, "api")
    cond     = local.count > 1 ? "many" : "one"
    looked   = lookup(local.merged, "z", "default")
    ranged   = join(",", [for i in range(3) : tostring(i)])
  }

  group "g" {
    task "t" {
      driver = "docker"
      config {
        image = lower("APP:1")
      }
    }
  }
}

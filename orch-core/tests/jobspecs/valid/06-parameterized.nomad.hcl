job "transcode" {
  type = "batch"

  parameterized {
    payload       = "required"
    meta_required = ["input"]
    meta_optional = ["profile"]
  }

  group "work" {
    task "ffmpeg" {
      driver = "docker"

      dispatch_payload {
        file = "job.json"
      }

      config {
        image = "jrottenberg/ffmpeg"
        args  = ["-i", "${NOMAD_META_input}"]
      }
    }
  }
}

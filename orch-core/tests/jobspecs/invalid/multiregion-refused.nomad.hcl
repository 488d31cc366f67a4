job "global" {
  multiregion {
    region "west" {}
  }
}

region = "global"

job "web" {
}

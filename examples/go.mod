module github.com/gomode/mode/examples

go 1.25.0

require (
	github.com/gomode/mode v0.0.0
	github.com/gomode/mode/observe v0.0.0
	github.com/mattn/go-isatty v0.0.20
	github.com/rs/zerolog v1.35.1
)

require (
	github.com/coreos/go-systemd/v22 v22.7.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/robfig/cron/v3 v3.0.1 // indirect
	github.com/thejerf/suture/v4 v4.0.6 // indirect
	golang.org/x/sys v0.29.0 // indirect
)

replace (
	github.com/gomode/mode => ../
	github.com/gomode/mode/observe => ../observe
)

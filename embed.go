package main

import (
	"embed"
	"io/fs"
)

// dist is the dashboard's build. all: keeps files that start with . or _.
//
//go:embed all:ui/dist
var dist embed.FS

// dashboardFS returns the dashboard's files with ui/dist as their root.
func dashboardFS() fs.FS {
	sub, err := fs.Sub(dist, "ui/dist")
	if err != nil {
		panic(err) // only if the embed pattern above changes
	}
	return sub
}

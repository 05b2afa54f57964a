//go:build !unix

package bench

// selfCPU cannot tell on this system.
func selfCPU() float64 { return -1 }

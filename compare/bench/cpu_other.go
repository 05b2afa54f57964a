//go:build !unix

package compare

// selfCPU cannot tell on this system.
func selfCPU() float64 { return -1 }

package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine is where a bench ran: what the figures depend on, and how busy
// the machine was with other work while they were measured.
//
//	{"cpu": model name, "cores", "gomaxprocs", "go": version, "os", "arch",
//	 "kernel", "memoryBytes", "otherLoadCores": median of the runs' windows,
//	 "otherLoadSpread": {"min","max","runs"}}
type Machine struct {
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	Go          string `json:"go"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	Kernel      string `json:"kernel,omitempty"`
	MemoryBytes int64  `json:"memoryBytes,omitempty"`
	// OtherLoadCores is the CPU that processes other than the server and
	// the bench used during the measured windows, in cores (1 = one core
	// busy all the time): all CPU time from /proc/stat minus the server's
	// and the bench's own. null where /proc/stat cannot be read; it
	// includes the server when the server's CPU is not known.
	OtherLoadCores  *float64 `json:"otherLoadCores"`
	OtherLoadSpread *Range   `json:"otherLoadSpread,omitempty"`
}

// thisMachine describes the machine the bench runs on (the server's too,
// for a child or in-process server).
func thisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(),
		OS: runtime.GOOS, Arch: runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.Join(strings.Fields(v), " ")
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(v)
				if n, err := strconv.ParseInt(f[0], 10, 64); err == nil && len(f) == 2 && f[1] == "kB" {
					m.MemoryBytes = n << 10
				}
			}
		}
	}
	if m.CPU == "" {
		m.CPU = "unknown " + runtime.GOARCH
	}
	return m
}

// userHZ is the unit of the CPU times in /proc (USER_HZ), 100 on every
// Linux architecture whatever the kernel's own tick.
const userHZ = 100

// machineBusy returns the CPU seconds all processors spent on anything
// but idling since boot, from /proc/stat's first line.
func machineBusy() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	// cpu user nice system idle iowait irq softirq steal [guest guest_nice]
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("/proc/stat: no cpu line")
	}
	var busy float64
	for i, v := range f[1:9] {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		busy += n
	}
	return busy / userHZ, nil
}

// procFigures reads process pid's CPU seconds (user and system) from
// /proc/PID/stat and its resident set in bytes from /proc/PID/statm.
func procFigures(pid int) (cpu, rss float64, err error) {
	dir := "/proc/" + strconv.Itoa(pid)
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// pid (comm) state ppid …: the command may hold spaces and parentheses,
	// so the fields count from the last ")". utime and stime are the 14th
	// and 15th fields, the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("%s/stat: unreadable", dir)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("%s/stat: too few fields", dir)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("%s/stat: %w", dir, err)
	}
	b, err = os.ReadFile(dir + "/statm")
	if err != nil {
		return 0, 0, err
	}
	sf := strings.Fields(string(b))
	if len(sf) < 2 {
		return 0, 0, fmt.Errorf("%s/statm: too few fields", dir)
	}
	pages, err := strconv.ParseFloat(sf[1], 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%s/statm: %w", dir, err)
	}
	return (ut + st) / userHZ, pages * float64(os.Getpagesize()), nil
}

// timers.go - the timers workload with goroutines: N goroutines sleep for
// deadlines spread at random over 1..1000 ms (the same hash as
// bench/timers.c) and note how late each wakes.  Prints one JSON line.
//
// usage: timers [N [GOMAXPROCS]]   (defaults 100000 and all CPUs)
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"
)

const spanMs = 1000

func deadlineMs(i uint64) int64 {
	z := i + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return 1 + int64(z%spanMs)
}

func arg(i int, def int) int {
	if len(os.Args) <= i {
		return def
	}
	v, err := strconv.Atoi(os.Args[i])
	if err != nil || v <= 0 {
		fmt.Fprintf(os.Stderr, "timers: bad argument %q\n", os.Args[i])
		os.Exit(2)
	}
	return v
}

func main() {
	n := arg(1, 100000)
	procs := arg(2, runtime.NumCPU())
	runtime.GOMAXPROCS(procs)
	late := make([]float64, n)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ms := deadlineMs(uint64(i))
			due := time.Now().Add(time.Duration(ms) * time.Millisecond)
			time.Sleep(time.Duration(ms) * time.Millisecond)
			late[i] = float64(time.Since(due).Nanoseconds()) / 1e3
		}(i)
	}
	wg.Wait()
	wall := time.Since(t0).Seconds()
	early := 0
	for _, l := range late {
		if l < 0 {
			early++
		}
	}
	sort.Float64s(late)
	check := "ok" // early wake-ups are reported; the check is that all woke
	fmt.Printf("{\"bench\":\"timers\",\"system\":\"go\",\"n\":%d,\"workers\":%d,"+
		"\"wall_s\":%.6f,\"late_p50_us\":%.1f,\"late_p99_us\":%.1f,\"late_max_us\":%.1f,"+
		"\"early\":%d,\"check\":\"%s\"}\n",
		n, procs, wall, late[n/2], late[n*99/100], late[n-1], early, check)
}

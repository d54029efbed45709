// pingpong.go - the Go peer of the pingpong workload: a token bounced N
// times between two goroutines through two unbuffered channels, with
// GOMAXPROCS set to the worker count.  It reports ns per round trip, timed
// in the main goroutine from the first send to the last receive, and
// checks every reply.  Standard library only.
//
// usage: pingpong [N [WORKERS]]   (defaults 1000000 and 1)
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

func main() {
	n := 1000000
	workers := 1
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		workers, _ = strconv.Atoi(os.Args[2])
	}
	if n <= 0 || workers <= 0 {
		fmt.Fprintln(os.Stderr, "usage: pingpong [N [WORKERS]]")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(workers)

	ping := make(chan uint64)
	pong := make(chan uint64)
	seen := make(chan uint64)
	go func() {
		var count uint64
		for token := range ping {
			count++
			pong <- token + 1
		}
		seen <- count
	}()

	bad := 0
	start := time.Now()
	for i := uint64(0); i < uint64(n); i++ {
		ping <- i
		if <-pong != i+1 {
			bad++
		}
	}
	wall := time.Since(start)
	close(ping)
	count := <-seen

	check := "ok"
	if bad != 0 || count != uint64(n) {
		check = "FAIL"
		fmt.Fprintf(os.Stderr, "pingpong: %d bad replies, %d of %d tokens bounced\n", bad, count, n)
	}
	fmt.Printf("{\"bench\":\"pingpong\",\"system\":\"go\",\"workers\":%d,\"n\":%d,"+
		"\"wall_s\":%.6f,\"ns_per_roundtrip\":%.3f,\"check\":\"%s\"}\n",
		workers, n, wall.Seconds(), float64(wall.Nanoseconds())/float64(n), check)
	if check != "ok" {
		os.Exit(1)
	}
}

// sleepers.go - the Go peer of the sleepers workload: N goroutines that each
// time.Sleep(100 ms), with GOMAXPROCS set to the worker count.  It reports
// the wall time from the first spawn to the last wake-up and the peak RSS
// above the RSS measured just before spawning.  Standard library only.
//
// usage: sleepers [N [WORKERS]]   (defaults 100000 and 2)
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// currentRSSKiB reads VmRSS from /proc/self/status.
func currentRSSKiB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "VmRSS:") {
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				v, err := strconv.ParseInt(fields[1], 10, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// storeMax raises *p to v if v is larger.
func storeMax(p *int64, v int64) {
	for {
		old := atomic.LoadInt64(p)
		if v <= old || atomic.CompareAndSwapInt64(p, old, v) {
			return
		}
	}
}

// peakRSSKiB is getrusage's ru_maxrss, which Linux gives in KiB.
func peakRSSKiB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return int64(ru.Maxrss)
}

func main() {
	n := 100000
	workers := 2
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		workers, _ = strconv.Atoi(os.Args[2])
	}
	if n <= 0 || workers <= 0 {
		fmt.Fprintln(os.Stderr, "usage: sleepers [N [WORKERS]]")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(workers)

	var started int64    // sleepers that have begun their sleep
	var liveAtWake int64 // started when the first sleeper woke: about the peak live count
	var done int64
	var lastNs int64      // wall clock of the last wake-up, set by the last sleeper
	var lastStartNs int64 // the latest start of a sleep, since start
	var maxSleepNs int64  // the longest single sleep
	var wg sync.WaitGroup
	wg.Add(n)
	base := currentRSSKiB()
	start := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			atomic.AddInt64(&started, 1)
			slept := time.Now()
			storeMax(&lastStartNs, int64(slept.Sub(start)))
			time.Sleep(100 * time.Millisecond)
			storeMax(&maxSleepNs, int64(time.Since(slept)))
			d := atomic.AddInt64(&done, 1)
			if d == 1 {
				atomic.StoreInt64(&liveAtWake, atomic.LoadInt64(&started))
			}
			if d == int64(n) {
				atomic.StoreInt64(&lastNs, int64(time.Since(start)))
			}
			wg.Done()
		}()
	}
	spawnNs := int64(time.Since(start))
	wg.Wait()
	wall := float64(atomic.LoadInt64(&lastNs)) / 1e9
	peak := peakRSSKiB()
	live := atomic.LoadInt64(&liveAtWake)
	delta := peak - base
	check := "ok"
	if atomic.LoadInt64(&done) != int64(n) || wall < 0.1 {
		check = "FAIL"
	}
	fmt.Printf("{\"bench\":\"sleepers\",\"system\":\"go\",\"n\":%d,\"workers\":%d,"+
		"\"wall_s\":%.6f,\"rss_base_kib\":%d,\"rss_peak_kib\":%d,\"rss_delta_kib\":%d,"+
		"\"kib_per_task\":%.3f,\"live_at_first_wake\":%d,\"kib_per_live\":%.3f,"+
		"\"spawn_s\":%.6f,\"last_start_s\":%.6f,\"max_sleep_ms\":%.3f,\"check\":\"%s\"}\n",
		n, workers, wall, base, peak, delta, float64(delta)/float64(n),
		live, float64(delta)/float64(live), float64(spawnNs)/1e9,
		float64(atomic.LoadInt64(&lastStartNs))/1e9, float64(atomic.LoadInt64(&maxSleepNs))/1e6, check)
	if check != "ok" {
		os.Exit(1)
	}
}

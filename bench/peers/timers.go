// timers.go - the timers workload with goroutines: N goroutines sleep for
// deadlines spread at random over 1..1000 ms (the same hash as
// bench/timers.c) and note how late each wakes.  Prints one JSON line.
//
// With "busy ITERS" the timers run beside CPU work, as in bench/timers.c:
// first GOMAXPROCS goroutines start, each looping burn(ITERS) (the loop of
// bench/burn.h, same steps) then runtime.Gosched(), and the timers start
// once all of them run; they stop when the timers are done.  Go cannot
// pin a goroutine to a P: the runtime spreads them, and preempts them too.
// Reported besides, as in bench/timers.c: work_ns, one burn timed here,
// busy_tasks, and busy_share, the share of the Ps' time they burned while
// the timers ran.
//
// usage: timers [N [GOMAXPROCS [busy ITERS]]]   (defaults 100000 and all CPUs)
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const spanMs = 1000

// burn is bench/burn.h's: iters steps of x = x*MUL + ADD from x = seed.
func burn(iters, seed uint64) uint64 {
	x := seed
	for i := uint64(0); i < iters; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// burnNs is one burn of iters in ns: the fastest of three.
func burnNs(iters uint64) float64 {
	best := time.Duration(1 << 62)
	var sink uint64
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		sink += burn(iters, uint64(i))
		if dt := time.Since(t0); dt < best {
			best = dt
		}
	}
	if sink == 1 { // keeps the burns; never true in practice
		fmt.Fprintln(os.Stderr, "timers: sink")
	}
	return float64(best.Nanoseconds())
}

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
	iters := 0
	if len(os.Args) > 3 {
		if len(os.Args) != 5 || os.Args[3] != "busy" {
			fmt.Fprintln(os.Stderr, "usage: timers [N [GOMAXPROCS [busy ITERS]]]")
			os.Exit(2)
		}
		iters = arg(4, 0)
	}
	runtime.GOMAXPROCS(procs)
	workNs := 0.0
	if iters > 0 {
		workNs = burnNs(uint64(iters))
	}
	late := make([]float64, n)

	// The busy goroutines, all running before the first timer starts.
	var stop, started int32
	var slices int64
	var busy sync.WaitGroup
	if iters > 0 {
		for b := 0; b < procs; b++ {
			busy.Add(1)
			go func(x uint64) {
				defer busy.Done()
				atomic.AddInt32(&started, 1)
				for atomic.LoadInt32(&stop) == 0 {
					x = burn(uint64(iters), x)
					atomic.AddInt64(&slices, 1)
					runtime.Gosched()
				}
			}(uint64(b))
		}
		for atomic.LoadInt32(&started) < int32(procs) {
			time.Sleep(time.Millisecond)
		}
	}

	var wg sync.WaitGroup
	t0 := time.Now()
	s0 := atomic.LoadInt64(&slices)
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
	timedSlices := atomic.LoadInt64(&slices) - s0
	atomic.StoreInt32(&stop, 1)
	busy.Wait()
	early := 0
	for _, l := range late {
		if l < 0 {
			early++
		}
	}
	sort.Float64s(late)
	check := "ok" // early wake-ups are reported; the check is that all woke
	load := "alone"
	if iters > 0 {
		load = "busy"
	}
	fmt.Printf("{\"bench\":\"timers\",\"system\":\"go\",\"n\":%d,\"workers\":%d,"+
		"\"load\":\"%s\",\"wall_s\":%.6f,\"late_p50_us\":%.1f,\"late_p99_us\":%.1f,"+
		"\"late_max_us\":%.1f,\"early\":%d",
		n, procs, load, wall, late[n/2], late[n*99/100], late[n-1], early)
	if iters > 0 {
		fmt.Printf(",\"iters\":%d,\"work_ns\":%.1f,\"busy_tasks\":%d,\"busy_share\":%.3f",
			iters, workNs, procs, float64(timedSlices)*workNs*1e-9/(float64(procs)*wall))
	}
	fmt.Printf(",\"check\":\"%s\"}\n", check)
}

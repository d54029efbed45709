// forkjoin.go - the Go peer of the fib, skynet and gather workloads: the
// same task trees as bench_fib and bench_skynet with a goroutine per task
// (the parent waits on a sync.WaitGroup), and gather's N children of the
// same calibrated work as bench/burn.h (a 64-bit LCG, ITERS steps).
// Standard library only; GOMAXPROCS is the worker count.
//
// usage: forkjoin fib N WORKERS | forkjoin skynet WORKERS |
//
//	forkjoin gather N WORKERS ITERS [REPS]
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

func fib(n uint) uint64 {
	if n < 2 {
		return uint64(n)
	}
	var a, b uint64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { a = fib(n - 1); wg.Done() }()
	go func() { b = fib(n - 2); wg.Done() }()
	wg.Wait()
	return a + b
}

func skynet(num, size uint64) uint64 {
	if size == 1 {
		return num
	}
	var part [10]uint64
	var wg sync.WaitGroup
	sub := size / 10
	wg.Add(10)
	for i := uint64(0); i < 10; i++ {
		go func(i uint64) { part[i] = skynet(num+i*sub, sub); wg.Done() }(i)
	}
	wg.Wait()
	var sum uint64
	for _, p := range part {
		sum += p
	}
	return sum
}

// burn is bench/burn.h's: ITERS steps of x = x*MUL + ADD.
func burn(iters, seed uint64) uint64 {
	x := seed
	for i := uint64(0); i < iters; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func burnSeed(i uint64) uint64 { return i*0x9e3779b97f4a7c15 + 1 }

func arg(i int) uint64 {
	if len(os.Args) <= i {
		usage()
	}
	v, err := strconv.ParseUint(os.Args[i], 10, 64)
	if err != nil {
		usage()
	}
	return v
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: forkjoin fib N WORKERS | forkjoin skynet WORKERS | "+
		"forkjoin gather N WORKERS ITERS [REPS]")
	os.Exit(2)
}

func fibLoop(n uint) uint64 {
	a, b := uint64(0), uint64(1)
	for i := uint(0); i < n; i++ {
		a, b = b, a+b
	}
	return a
}

func check(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "fib":
		n, w := uint(arg(2)), int(arg(3))
		runtime.GOMAXPROCS(w)
		fib(12) // the Ps are running before the clock starts
		t0 := time.Now()
		r := fib(n)
		wall := time.Since(t0).Seconds()
		ok := r == fibLoop(n)
		fmt.Printf("{\"bench\":\"fib\",\"system\":\"go\",\"n\":%d,\"workers\":%d,"+
			"\"wall_s\":%.6f,\"result\":%d,\"check\":\"%s\"}\n", n, w, wall, r, check(ok))
		if !ok {
			os.Exit(1)
		}
	case "skynet":
		w := int(arg(2))
		runtime.GOMAXPROCS(w)
		fib(12)
		t0 := time.Now()
		r := skynet(0, 1000000)
		wall := time.Since(t0).Seconds()
		ok := r == 499999500000
		fmt.Printf("{\"bench\":\"skynet\",\"system\":\"go\",\"workers\":%d,"+
			"\"wall_s\":%.6f,\"result\":%d,\"check\":\"%s\"}\n", w, wall, r, check(ok))
		if !ok {
			os.Exit(1)
		}
	case "gather":
		n, w, iters := arg(2), int(arg(3)), arg(4)
		reps := uint64(1)
		if len(os.Args) > 5 {
			reps = arg(5)
		}
		runtime.GOMAXPROCS(w)
		// burn is affine in its seed: what child i must return, computed once.
		b0 := burn(iters, 0)
		a := burn(iters, 1) - b0
		slot := make([]uint64, n)
		walls := make([]float64, 0, reps)
		bad := 0
		for k := uint64(0); k <= reps && bad == 0; k++ { // round 0 is not timed
			for i := range slot {
				slot[i] = 0
			}
			t0 := time.Now()
			var wg sync.WaitGroup
			wg.Add(int(n))
			for i := uint64(0); i < n; i++ {
				go func(i uint64) { slot[i] = burn(iters, burnSeed(i)); wg.Done() }(i)
			}
			wg.Wait()
			if k > 0 {
				walls = append(walls, time.Since(t0).Seconds())
			}
			for i := uint64(0); i < n; i++ {
				if slot[i] != a*burnSeed(i)+b0 {
					bad++
				}
			}
		}
		med := 0.0
		if bad == 0 {
			sort.Float64s(walls)
			med = walls[len(walls)/2]
			if len(walls)%2 == 0 {
				med = (walls[len(walls)/2-1] + walls[len(walls)/2]) / 2
			}
		}
		fmt.Printf("{\"bench\":\"gather\",\"system\":\"go\",\"mode\":\"gather\",\"n\":%d,"+
			"\"workers\":%d,\"iters\":%d,\"reps\":%d,\"wall_s\":%.6f,\"per_child_ns\":%.1f,"+
			"\"check\":\"%s\"}\n", n, w, iters, reps, med, med*1e9/float64(n), check(bad == 0))
		if bad != 0 {
			os.Exit(1)
		}
	default:
		usage()
	}
}

// mixed.go - the Go peer of the mixed workload (bench/mixed.c is weft's
// server, bench/echo_load.c --burn the client for both): a TCP server on
// 127.0.0.1 with one goroutine per connection, GOMAXPROCS set to the worker
// count.  A request is a text line "STEPS SEED\n"; the reply is the line
// "RESULT\n" with RESULT = burn(STEPS, SEED), the loop of bench/burn.h
// (same steps, same count), in decimal.  Written the plain way: a
// bufio.Reader per connection, strconv to parse, the burn in a loop that
// never yields (Go's runtime preempts it), one Write per reply.  It prints
// "listening on PORT" once it accepts connections (port 0 picks a free
// one), closes a connection when its client does, and exits 0 on SIGTERM.
// Standard library only.
//
// usage: mixed [--workers N] [--port P]   (defaults 2 and 0)
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// burn is bench/burn.h's: iters steps of x = x*MUL + ADD from x = seed.
func burn(iters, seed uint64) uint64 {
	x := seed
	for i := uint64(0); i < iters; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// serve answers one connection's requests until its client closes it.
func serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	out := make([]byte, 0, 32)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if !errors.Is(err, io.EOF) || line != "" {
				fmt.Fprintln(os.Stderr, "mixed: read:", err)
			}
			return
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			fmt.Fprintf(os.Stderr, "mixed: bad request %q\n", line)
			return
		}
		steps, err1 := strconv.ParseUint(f[0], 10, 64)
		seed, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			fmt.Fprintf(os.Stderr, "mixed: bad request %q\n", line)
			return
		}
		out = strconv.AppendUint(out[:0], burn(steps, seed), 10)
		out = append(out, '\n')
		if _, err := c.Write(out); err != nil {
			fmt.Fprintln(os.Stderr, "mixed: write:", err)
			return
		}
	}
}

func main() {
	workers := flag.Int("workers", 2, "GOMAXPROCS")
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0 picks one)")
	flag.Parse()
	if *workers <= 0 || *port < 0 || *port > 65535 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: mixed [--workers N] [--port P]")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*workers)

	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: *port})
	if err != nil {
		fmt.Fprintln(os.Stderr, "mixed:", err)
		os.Exit(1)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		ln.Close() // main's accept fails with net.ErrClosed and exits 0
	}()
	// os.Stdout is unbuffered: the line is out before the first accept.
	fmt.Printf("listening on %d\n", ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				os.Exit(0)
			}
			fmt.Fprintln(os.Stderr, "mixed: accept:", err)
			os.Exit(1)
		}
		go serve(c)
	}
}

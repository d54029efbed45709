// echo.go - the Go peer of the echo workload: a TCP echo server on
// 127.0.0.1 with one goroutine per connection, each reading into its own
// buffer and writing back what it read, with GOMAXPROCS set to the worker
// count.  It prints "listening on PORT" once it accepts connections (port 0
// picks a free one), closes a connection when its client does, and exits 0
// on SIGTERM.  Standard library only.
//
// usage: echo [--workers N] [--port P]   (defaults 2 and 0)
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// bufSize matches the 64 KiB libuv suggests for a read, so that both peers
// read in the same steps.
const bufSize = 64 * 1024

// serve echoes one connection until its client closes it.
func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				fmt.Fprintln(os.Stderr, "echo: write:", werr)
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintln(os.Stderr, "echo: read:", err)
			}
			return
		}
	}
}

func main() {
	workers := flag.Int("workers", 2, "GOMAXPROCS")
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0 picks one)")
	flag.Parse()
	if *workers <= 0 || *port < 0 || *port > 65535 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: echo [--workers N] [--port P]")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*workers)

	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: *port})
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
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
			fmt.Fprintln(os.Stderr, "echo: accept:", err)
			os.Exit(1)
		}
		go serve(c)
	}
}
